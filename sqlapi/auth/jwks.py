"""Public keys for bearer tokens (RFC 7517 key sets), from a file or an issuer's URL.

Only asymmetric signing keys are kept: a key set never verifies HS* tokens, so a public key
can never be misused as an HMAC secret. A URL is fetched at start and again when a token
names a kid we lack, at most once a minute; while the issuer is down the old keys serve on.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import json
import logging
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

log = logging.getLogger("sqlapi")

PublicKey = (
    rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey | ed448.Ed448PublicKey
)
MAX_JWKS_BYTES = 1 << 20
REFETCH_INTERVAL_S = 60.0
MAX_AGE_S = 600.0  # a key set this old is fetched again, so that a withdrawn key stops working
FETCH_TIMEOUT_S = 5.0

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ES256": ec.SECP256R1,
    "ES256K": ec.SECP256K1,
    "ES384": ec.SECP384R1,
    "ES512": ec.SECP521R1,
}
_PRIVATE = (
    rsa.RSAPrivateKey,
    ec.EllipticCurvePrivateKey,
    ed25519.Ed25519PrivateKey,
    ed448.Ed448PrivateKey,
)


class JwksError(ValueError):
    """A key set that cannot be read or used, worded for one line."""


def key_fits(key: PublicKey, algorithm: str) -> bool:
    """Whether `key` can verify `algorithm` (RS*/PS*: RSA; ES*: EC on the named curve;
    EdDSA: Ed25519/Ed448), checked here so the outcome does not depend on PyJWT's version."""
    if algorithm[:2] in ("RS", "PS"):
        return isinstance(key, rsa.RSAPublicKey)
    if algorithm in _CURVES:
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(
            key.curve, _CURVES[algorithm]
        )
    if algorithm == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey)
    return False


@dataclass(frozen=True)
class _Jwk:
    key: PublicKey
    kid: str | None
    alg: str | None  # the key's own "alg": when given, the only algorithm it verifies


class KeySet:
    """Signing keys by kid; immutable, replaced whole when a URL is fetched again."""

    def __init__(self, keys: tuple[_Jwk, ...] = ()) -> None:
        self._keys = keys
        self._kids = frozenset(k.kid for k in keys if k.kid is not None)

    def __len__(self) -> int:
        return len(self._keys)

    def knows(self, kid: str) -> bool:
        return kid in self._kids

    def select(self, kid: str | None, algorithm: str) -> PublicKey | None:
        """The key for a token: by kid, or the only key when the token names none."""
        candidates: tuple[_Jwk, ...]
        if kid is None:
            candidates = self._keys if len(self._keys) == 1 else ()
        else:
            candidates = tuple(k for k in self._keys if k.kid == kid)
        for jwk in candidates:
            if jwk.alg in (None, algorithm) and key_fits(jwk.key, algorithm):
                return jwk.key
        return None

    @classmethod
    def from_json(cls, data: bytes | str, *, source: str) -> KeySet:
        """Parse a JWKS document; keys that are not for signing, symmetric, or unusable are
        skipped, and a set left with none is an error naming `source`."""
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise JwksError(f"{source}: not a JSON key set ({error})") from error
        items = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(items, list):
            raise JwksError(f'{source}: not a JSON key set (no "keys" list)')
        keys = tuple(jwk for item in items if (jwk := _signing_key(item)) is not None)
        if not keys:
            raise JwksError(f"{source}: no usable RSA, EC or OKP signing key")
        return cls(keys)


def _signing_key(item: Any) -> _Jwk | None:
    if not isinstance(item, dict) or item.get("kty") not in ("RSA", "EC", "OKP"):
        return None
    if item.get("use", "sig") != "sig":
        return None
    try:
        key: Any = jwt.PyJWK(item).key
    except jwt.PyJWTError:
        return None
    if isinstance(key, _PRIVATE):  # a private JWK published by mistake: verify with its half
        key = key.public_key()
    kid, alg = item.get("kid"), item.get("alg")
    return _Jwk(
        key=key,
        kid=kid if isinstance(kid, str) else None,
        alg=alg if isinstance(alg, str) else None,
    )


def check_jwks_url(url: str) -> str:
    """Keys travel over TLS: https://, or plain http:// to this machine only."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname == "localhost":
        return url
    try:
        if parts.scheme == "http" and ipaddress.ip_address(parts.hostname or "").is_loopback:
            return url
    except ValueError:
        pass
    raise ValueError("must be an https:// URL (http:// only to localhost)")


def read_jwks_file(path: Path) -> KeySet:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise JwksError(f"jwks_file: {path}: {error.strerror or error}") from error
    return KeySet.from_json(data, source=f"jwks_file: {path}")


def download_jwks(url: str, timeout_s: float = FETCH_TIMEOUT_S) -> KeySet:
    """Blocking fetch of a key set (run it in a thread); errors are JwksError."""
    # check_jwks_url admitted only https:// (or http:// to localhost), never file: and such.
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body: bytes = response.read(MAX_JWKS_BYTES + 1)
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise JwksError(f"jwks_url: cannot fetch {url}: {error}") from error
    if len(body) > MAX_JWKS_BYTES:
        raise JwksError(f"jwks_url: {url}: the key set exceeds {MAX_JWKS_BYTES} bytes")
    return KeySet.from_json(body, source=f"jwks_url: {url}")


class JwksFetcher:
    """The key set behind a URL. `start` fetches it (and fails loudly); `refresh_for` fetches
    again for an unknown kid, at most once per `min_interval_s` (a flood of made-up kids costs
    the issuer one request a minute), and on failure keeps the keys it had."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float],
        min_interval_s: float = REFETCH_INTERVAL_S,
        timeout_s: float = FETCH_TIMEOUT_S,
        max_age_s: float = MAX_AGE_S,
    ) -> None:
        self.url = url
        self.keys = KeySet()
        self._clock = clock
        self._min_interval_s = min_interval_s
        self._timeout_s = timeout_s
        self._max_age_s = max_age_s
        self._last_attempt: float | None = None
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        async with self._lock:
            await self._fetch()

    def lacks(self, kid: str | None) -> bool:
        """Whether a token naming `kid` (or none) calls for a fetch: an unknown kid, no
        keys at all (the fetch at start failed), or keys older than `max_age_s` (the
        issuer may have withdrawn one that tokens still name)."""
        if not self.keys or (kid is not None and not self.keys.knows(kid)):
            return True
        return self._fetched_at is None or self._clock() - self._fetched_at >= self._max_age_s

    async def refresh_for(self, kid: str | None) -> bool:
        """Fetch again because a token names `kid`; True when this call replaced the keys."""
        async with self._lock:  # concurrent requests with the same new kid share one fetch
            if not self.lacks(kid):
                return False
            now = self._clock()
            if self._last_attempt is not None and now - self._last_attempt < self._min_interval_s:
                return False
            try:
                await self._fetch()
            except JwksError as error:
                log.warning("%s; keeping the %d keys fetched before", error, len(self.keys))
                return False
            return True

    async def _fetch(self) -> None:
        self._last_attempt = self._clock()
        self.keys = await asyncio.to_thread(download_jwks, self.url, self._timeout_s)
        self._fetched_at = self._clock()
