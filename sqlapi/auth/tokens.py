"""Verifying bearer tokens (JWTs) for `[auth.jwt]`: who is calling, and in which role.

PyJWT checks signatures; this module decides which algorithms and keys may be used (HS* only
with a shared secret, asymmetric ones only with a key set, so one can never stand in for the
other), checks the time and issuer claims against an injectable clock, and caches what passed.
`authenticator` maps an InvalidToken to a 401 with its `WWW-Authenticate` header.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, Final, NoReturn

import jwt

from sqlapi.auth.jwks import JwksFetcher, KeySet, PublicKey, read_jwks_file
from sqlapi.auth.settings import HMAC_ALGORITHMS, JwtSettings, check_secret

Claims = Mapping[str, Any]

NO_EXP_CACHE_S = 300.0  # how long a verified token without `exp` is trusted before re-checking
CACHE_ENTRIES = 10_000


class InvalidToken(Exception):
    """A refused token. `reason` is short, ours, and safe to send back: never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason

    @property
    def www_authenticate(self) -> str:
        """The 401's `WWW-Authenticate` value (RFC 6750 §3)."""
        text = self.reason.replace("\\", "").replace('"', "'")
        return f'Bearer error="invalid_token", error_description="{text}"'


class TokenVerifier:
    """Checks bearer tokens against one JwtSettings; `await start()` once before serving
    (it fetches a jwks_url), then `await verify(token)` per request."""

    def __init__(
        self,
        settings: JwtSettings,
        *,
        clock: Callable[[], float] = time.time,
        cache_entries: int = CACHE_ENTRIES,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._jws = jwt.PyJWS()
        self._secret = settings.secret.encode() if settings.secret is not None else None
        self._file_keys = read_jwks_file(settings.jwks_file) if settings.jwks_file else None
        self._fetcher = JwksFetcher(settings.jwks_url, clock=clock) if settings.jwks_url else None
        # sha256(token) -> (trusted until, claims); oldest use first, at most cache_entries.
        self._cache: OrderedDict[bytes, tuple[float, Claims]] = OrderedDict()
        self._cache_entries = cache_entries

    async def start(self) -> None:
        """Fetch the jwks_url's keys; raises JwksError when they cannot be had."""
        if self._fetcher is not None:
            await self._fetcher.start()

    async def verify(self, token: str) -> Claims:
        """The token's claims (read-only: objects as mappings, arrays as tuples), or
        InvalidToken. A token that passed is trusted until its `exp` (plus leeway)."""
        if len(token) > self.settings.max_token_bytes:
            raise InvalidToken("the token is too large")
        if not _COMPACT.fullmatch(token):  # one spelling per token: no padding, no spaces
            raise InvalidToken("the token is malformed")
        raw = token.encode("ascii")
        digest = hashlib.sha256(raw).digest()
        now = self._clock()
        cached = self._cache.get(digest)
        if cached is not None:
            if now < cached[0]:
                self._cache.move_to_end(digest)
                return cached[1]
            del self._cache[digest]
        try:
            header = self._jws.get_unverified_header(raw)
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed") from None
        algorithm = header.get("alg")
        if algorithm not in self.settings.algorithms:  # before any key is touched
            shown = _shown(algorithm)
            raise InvalidToken(
                f"the algorithm {shown} is not accepted"
                if shown
                else "the token's algorithm is not accepted"
            )
        kid = header.get("kid")  # PyJWT has refused a kid that is not a string
        key = await self._key(kid if isinstance(kid, str) else None, algorithm)
        try:
            payload = self._jws.decode(raw, key, algorithms=[algorithm])
        except jwt.InvalidSignatureError:
            raise InvalidToken("the signature is not valid") from None
        except jwt.PyJWTError:
            raise InvalidToken("the token is malformed") from None
        try:
            claims = json.loads(payload, parse_constant=_no_constant)
            if not isinstance(claims, dict):
                raise ValueError
            frozen: Claims = _freeze(claims)
        except (ValueError, RecursionError):
            raise InvalidToken("the token is malformed") from None
        exp = self._check_claims(frozen, now)
        self._remember(digest, frozen, now + NO_EXP_CACHE_S if exp is None else exp)
        return frozen

    async def _key(self, kid: str | None, algorithm: str) -> bytes | PublicKey:
        if self._secret is not None:
            return self._secret
        keys = self._file_keys or KeySet()
        if self._fetcher is not None:
            if self._fetcher.lacks(kid) and await self._fetcher.refresh_for(kid):
                self._cache.clear()  # keys may have been withdrawn: re-verify everything
            keys = self._fetcher.keys
        key = keys.select(kid, algorithm)
        if key is not None:
            return key
        if not keys:
            raise InvalidToken("no signing keys are available yet")
        if kid is None:
            if len(keys) == 1:
                raise InvalidToken(f"the key does not fit {algorithm}")
            raise InvalidToken("the token names no kid and the key set has several keys")
        shown = f"kid '{_shown(kid)}'" if _shown(kid) else "the token's kid"
        if keys.knows(kid):
            raise InvalidToken(f"the key with {shown} does not fit {algorithm}")
        raise InvalidToken(f"no key with {shown}")

    def _check_claims(self, claims: Claims, now: float) -> float | None:
        """Time claims with leeway, then iss/aud when configured; returns the last moment
        the token is valid (exp + leeway), or None without exp."""
        leeway = self.settings.leeway_s
        exp, nbf, iat = (_time_claim(claims, name) for name in ("exp", "nbf", "iat"))
        if exp is not None and now >= exp + leeway:
            raise InvalidToken("the token has expired")
        if nbf is not None and now + leeway < nbf:
            raise InvalidToken("the token is not valid yet")
        if iat is not None and now + leeway < iat:
            raise InvalidToken("the token was issued in the future")
        issuer, audience = self.settings.issuer, self.settings.audience
        if issuer is not None:
            if "iss" not in claims:
                raise InvalidToken("the token has no iss claim")
            if claims["iss"] != issuer:
                raise InvalidToken("the token's issuer is not accepted")
        if audience is not None:
            if "aud" not in claims:
                raise InvalidToken("the token has no aud claim")
            aud = claims["aud"]
            if aud != audience and not (isinstance(aud, tuple) and audience in aud):
                raise InvalidToken("the token's audience is not accepted")
        return None if exp is None else exp + leeway

    def _remember(self, digest: bytes, claims: Claims, until: float) -> None:
        self._cache[digest] = (until, claims)
        self._cache.move_to_end(digest)
        while len(self._cache) > self._cache_entries:
            self._cache.popitem(last=False)


def _time_claim(claims: Claims, name: str) -> float | None:
    value = claims.get(name)
    if value is None and name not in claims:
        return None
    if not isinstance(value, bool) and isinstance(value, int | float) and abs(value) < 1e15:
        return float(value)
    raise InvalidToken(f"the token's {name} claim is not a number of seconds")


def _no_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


def _freeze(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _freeze(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_freeze(item) for item in value)
    return value


_SHOWABLE = re.compile(r"[A-Za-z0-9._:+/=-]{1,64}")
_COMPACT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")  # RFC 7515 §7.1


def _shown(value: object) -> str | None:
    """A header field (alg, kid) fit to appear in a reason (short and plain), else None."""
    return value if isinstance(value, str) and _SHOWABLE.fullmatch(value) else None


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def claim_value(claims: Claims, path: str) -> object:
    """The claim at `path`: a top-level name (which may itself contain dots, as namespaced
    claims like `https://example.com/role` do), else a dotted path into nested objects;
    MISSING when absent."""
    if path in claims:
        return claims[path]
    value: object = claims
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def claim_scalar(claims: Claims | None, path: str) -> str | int | float | None:
    """A claim as a named query binds it: a string or a number; anything else (absent, a
    boolean, a list, an object, no token) is NULL, which equals nothing."""
    value = MISSING if claims is None else claim_value(claims, path)
    if isinstance(value, str | float) or (isinstance(value, int) and not isinstance(value, bool)):
        return value
    return None


def role_of(claims: Claims, role_claim: str) -> str | None:
    """The caller's role: the claim at `role_claim` when it is a non-empty string, else None."""
    value = claim_value(claims, role_claim)
    return value if isinstance(value, str) and value else None


def mint_token(
    secret: str,
    claims: dict[str, Any],
    algorithm: str = "HS256",
    expires_in_s: int | None = 3600,
) -> str:
    """An HS* token for LOCAL DEVELOPMENT and tests only (the future `sqlapi token` command):
    real deployments get tokens from their identity provider. `iat` is now and `exp` is
    now + expires_in_s unless `claims` sets them."""
    if algorithm not in HMAC_ALGORITHMS:
        raise ValueError(f"mint_token signs with a secret: {', '.join(HMAC_ALGORITHMS)}")
    check_secret(secret, (algorithm,), "mint_token")
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now}
    if expires_in_s is not None:
        payload["exp"] = now + expires_in_s
    return jwt.encode({**payload, **claims}, secret, algorithm=algorithm)
