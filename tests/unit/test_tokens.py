"""sqlapi/tokens.py and sqlapi/jwks.py: a corpus of bad tokens (each refused with its reason,
never echoing the token), good tokens for every key kind, a JWKS URL served over real HTTP,
and the verified-token cache against an injectable clock."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm
from pydantic import BaseModel, ConfigDict, ValidationError

from sqlapi.auth.jwks import JwksError, KeySet
from sqlapi.auth.settings import JwtSettings
from sqlapi.auth.tokens import (
    MISSING,
    InvalidToken,
    TokenVerifier,
    claim_value,
    mint_token,
    role_of,
)

SECRET = "correct-horse-battery-staple-" * 3  # 87 bytes: long enough for HS512
NOW = 1_750_000_000.0
ISSUER, AUDIENCE = "https://id.example", "sqlapi"


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def b64(data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def segments(header: dict[str, Any], payload: dict[str, Any]) -> str:
    return b64(json.dumps(header)) + "." + b64(json.dumps(payload))


def hs(
    payload: dict[str, Any], secret: str = SECRET, algorithm: str = "HS256", **headers: Any
) -> str:
    return jwt.encode(payload, secret, algorithm=algorithm, headers=headers or None)


def good_claims(**extra: Any) -> dict[str, Any]:
    return {
        "sub": "u1",
        "role": "reader",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(NOW),
        "exp": int(NOW) + 600,
        **extra,
    }


def assert_refused_safely(error: InvalidToken, token: str) -> None:
    reason = error.reason
    assert not token or (token not in reason and token not in error.www_authenticate)
    for part in token.split("."):
        if len(part) >= 6:
            assert part not in reason, f"reason {reason!r} echoes part of the token"
    assert "\r" not in error.www_authenticate and "\n" not in error.www_authenticate
    assert error.www_authenticate.startswith('Bearer error="invalid_token", error_description="')


async def refused(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(token)
    assert_refused_safely(caught.value, token)
    return caught.value.reason


# --- keys --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def ed_key() -> ed25519.Ed25519PrivateKey:
    return ed25519.Ed25519PrivateKey.generate()


def jwk(public: Any, kid: str | None, alg: str | None = None) -> dict[str, Any]:
    if isinstance(public, rsa.RSAPublicKey):
        data = RSAAlgorithm.to_jwk(public, as_dict=True)
    elif isinstance(public, ec.EllipticCurvePublicKey):
        data = ECAlgorithm.to_jwk(public, as_dict=True)
    else:
        data = OKPAlgorithm.to_jwk(public, as_dict=True)
    if kid is not None:
        data["kid"] = kid
    if alg is not None:
        data["alg"] = alg
    return dict(data)


@pytest.fixture
def jwks_file(
    tmp_path: Path,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> Path:
    path = tmp_path / "keys.json"
    keys = [
        jwk(rsa_key.public_key(), "rsa1"),  # no "alg": RS* and PS* may use it
        jwk(ec_key.public_key(), "ec1", "ES256"),
        jwk(ed_key.public_key(), "ed1", "EdDSA"),
        {"kty": "oct", "kid": "hmac1", "k": b64(SECRET)},  # symmetric: never used
    ]
    path.write_text(json.dumps({"keys": keys}))
    return path


def asymmetric(jwks_file: Path, clock: Clock, **settings: Any) -> TokenVerifier:
    values: dict[str, Any] = {
        "jwks_file": jwks_file,
        "algorithms": ["RS256", "PS256", "ES256", "EdDSA"],
        "issuer": ISSUER,
        "audience": AUDIENCE,
        **settings,
    }
    return TokenVerifier(JwtSettings.model_validate(values), clock=clock)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def verifier(clock: Clock) -> TokenVerifier:
    settings = JwtSettings(secret=SECRET, algorithms=("HS256",), issuer=ISSUER, audience=AUDIENCE)
    return TokenVerifier(settings, clock=clock)


# --- the corpus of bad tokens --------------------------------------------------------------


def unsigned() -> str:
    return segments({"alg": "none", "typ": "JWT"}, good_claims()) + "."


def tampered() -> str:
    header, _, signature = hs(good_claims()).split(".")
    return f"{header}.{b64(json.dumps(good_claims(role='admin')))}.{signature}"


def stripped() -> str:
    return hs(good_claims()).rsplit(".", 1)[0] + "."


def non_json_header() -> str:
    _, payload, signature = hs(good_claims()).split(".")
    return f"{b64('{not json')}.{payload}.{signature}"


def not_an_object() -> str:
    return jwt.PyJWS().encode(b"[1, 2, 3]", SECRET, algorithm="HS256")


def header_injection() -> str:
    return segments({"alg": 'HS256"\r\nSet-Cookie: x=1'}, good_claims()) + ".c2ln"


CORPUS: list[tuple[str, Callable[[], str], str]] = [
    ("alg none", unsigned, "the algorithm none is not accepted"),
    (
        "alg not configured",
        lambda: hs(good_claims(), algorithm="HS512"),
        "the algorithm HS512 is not accepted",
    ),
    ("alg unprintable", header_injection, "the token's algorithm is not accepted"),
    (
        "no alg",
        lambda: segments({"typ": "JWT"}, good_claims()) + ".c2ln",
        "the token's algorithm is not accepted",
    ),
    ("expired", lambda: hs(good_claims(exp=int(NOW) - 31)), "the token has expired"),
    (
        "expired at the leeway's edge",
        lambda: hs(good_claims(exp=int(NOW) - 30)),
        "the token has expired",
    ),
    ("not yet valid", lambda: hs(good_claims(nbf=int(NOW) + 120)), "the token is not valid yet"),
    (
        "issued in the future",
        lambda: hs(good_claims(iat=int(NOW) + 120)),
        "the token was issued in the future",
    ),
    (
        "exp not a number",
        lambda: hs(good_claims(exp="tomorrow")),
        "the token's exp claim is not a number of seconds",
    ),
    (
        "exp is true",
        lambda: hs(good_claims(exp=True)),
        "the token's exp claim is not a number of seconds",
    ),
    (
        "exp too large",
        lambda: hs(good_claims(exp=10**400)),
        "the token's exp claim is not a number of seconds",
    ),
    (
        "nbf a string",
        lambda: hs(good_claims(nbf="now")),
        "the token's nbf claim is not a number of seconds",
    ),
    (
        "wrong issuer",
        lambda: hs(good_claims(iss="https://evil.example")),
        "the token's issuer is not accepted",
    ),
    (
        "wrong audience",
        lambda: hs(good_claims(aud="other")),
        "the token's audience is not accepted",
    ),
    (
        "audience list without ours",
        lambda: hs(good_claims(aud=["a", "b"])),
        "the token's audience is not accepted",
    ),
    (
        "missing issuer",
        lambda: hs({k: v for k, v in good_claims().items() if k != "iss"}),
        "the token has no iss claim",
    ),
    (
        "missing audience",
        lambda: hs({k: v for k, v in good_claims().items() if k != "aud"}),
        "the token has no aud claim",
    ),
    ("other secret", lambda: hs(good_claims(), secret=SECRET[::-1]), "the signature is not valid"),
    ("tampered payload", tampered, "the signature is not valid"),
    ("stripped signature", stripped, "the signature is not valid"),
    ("oversized", lambda: hs(good_claims(pad="x" * 9000)), "the token is too large"),
    ("garbage", lambda: "not a token at all", "the token is malformed"),
    ("empty", lambda: "", "the token is malformed"),
    ("two parts", lambda: hs(good_claims()).rsplit(".", 1)[0], "the token is malformed"),
    ("four parts", lambda: hs(good_claims()) + ".xyz", "the token is malformed"),
    ("non-JSON header", non_json_header, "the token is malformed"),
    (
        "kid not a string",
        lambda: segments({"alg": "HS256", "kid": 5}, good_claims()) + ".c2ln",
        "the token is malformed",
    ),
    ("payload not an object", not_an_object, "the token is malformed"),
    (
        "NaN in payload",
        lambda: jwt.PyJWS().encode(b'{"exp": NaN}', SECRET, algorithm="HS256"),
        "the token is malformed",
    ),
    ("non-ASCII", lambda: hs(good_claims()) + "é", "the token is malformed"),
]


@pytest.mark.parametrize(("make", "reason"), [c[1:] for c in CORPUS], ids=[c[0] for c in CORPUS])
async def test_bad_tokens_are_refused_with_their_reason(
    verifier: TokenVerifier, make: Callable[[], str], reason: str
) -> None:
    assert await refused(verifier, make()) == reason


async def test_a_header_injection_cannot_reach_www_authenticate(verifier: TokenVerifier) -> None:
    with pytest.raises(InvalidToken) as caught:
        await verifier.verify(header_injection())
    assert "Set-Cookie" not in caught.value.www_authenticate


async def test_within_leeway_is_accepted(verifier: TokenVerifier) -> None:
    claims = await verifier.verify(hs(good_claims(exp=int(NOW) - 29, nbf=int(NOW) + 29)))
    assert claims["sub"] == "u1"


async def test_odd_claim_types_are_data_and_verify_unchanged(verifier: TokenVerifier) -> None:
    odd: dict[str, Any] = {
        "sub": ["a", 1, None],
        "org": {"id": 7, "tags": ["x"]},
        "name": "1 OR 1=1",
        "role": 42,
        "jti": 5,
    }
    claims = await verifier.verify(hs(good_claims(**odd)))
    assert claims["sub"] == ("a", 1, None)  # arrays come back as tuples, objects as mappings
    assert dict(claims["org"]) == {"id": 7, "tags": ("x",)}
    assert claims["name"] == "1 OR 1=1" and claims["jti"] == 5
    assert role_of(claims, "role") is None  # not a string: no role
    with pytest.raises(TypeError):
        claims["role"] = "admin"  # type: ignore[index]
    with pytest.raises(TypeError):
        claims["org"]["id"] = 1
    for sub, back in ((["a", 1], ("a", 1)), ({"id": 7}, {"id": 7}), ("1 OR 1=1", "1 OR 1=1")):
        assert (await verifier.verify(hs(good_claims(sub=sub))))["sub"] == back


# --- asymmetric keys from a JWKS file -------------------------------------------------------


async def test_rs_ps_es_eddsa_from_a_jwks_file(
    jwks_file: Path,
    clock: Clock,
    rsa_key: rsa.RSAPrivateKey,
    ec_key: ec.EllipticCurvePrivateKey,
    ed_key: ed25519.Ed25519PrivateKey,
) -> None:
    verifier = asymmetric(jwks_file, clock)
    await verifier.start()  # nothing to fetch: a no-op
    signed = [
        (rsa_key, "RS256", "rsa1"),
        (rsa_key, "PS256", "rsa1"),
        (ec_key, "ES256", "ec1"),
        (ed_key, "EdDSA", "ed1"),
    ]
    for key, algorithm, kid in signed:
        token = jwt.encode(
            good_claims(alg=algorithm), key, algorithm=algorithm, headers={"kid": kid}
        )
        assert (await verifier.verify(token))["alg"] == algorithm


async def test_algorithm_confusion_is_refused(
    jwks_file: Path, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    """HS256 "signed" with the RSA public key's PEM as the secret: refused by algorithm."""
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    verifier = asymmetric(jwks_file, clock, algorithms=["RS256"])
    for kid in ("rsa1", None):
        header = {"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})}
        signing_input = segments(header, good_claims())
        mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(mac)}"
        assert await refused(verifier, token) == "the algorithm HS256 is not accepted"


async def test_key_selection_failures(
    jwks_file: Path, clock: Clock, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey
) -> None:
    verifier = asymmetric(jwks_file, clock)
    unknown = jwt.encode(good_claims(), rsa_key, algorithm="RS256", headers={"kid": "nope"})
    assert await refused(verifier, unknown) == "no key with kid 'nope'"
    odd_kid = jwt.encode(good_claims(), rsa_key, algorithm="RS256", headers={"kid": 'a"b c'})
    assert await refused(verifier, odd_kid) == "no key with the token's kid"
    no_kid = jwt.encode(good_claims(), rsa_key, algorithm="RS256")
    assert await refused(verifier, no_kid) == (
        "the token names no kid and the key set has several keys"
    )
    wrong_family = jwt.encode(good_claims(), ec_key, algorithm="ES256", headers={"kid": "rsa1"})
    assert await refused(verifier, wrong_family) == "the key with kid 'rsa1' does not fit ES256"
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(good_claims(), other_key, algorithm="RS256", headers={"kid": "rsa1"})
    assert await refused(verifier, forged) == "the signature is not valid"
    header, payload, _ = forged.split(".")
    assert await refused(verifier, f"{header}.{payload}.") == "the signature is not valid"


async def test_jwk_alg_binds_the_key(
    tmp_path: Path, clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({"keys": [jwk(rsa_key.public_key(), None, "RS256")]}))
    verifier = asymmetric(path, clock, algorithms=["RS256", "PS256"])
    assert await verifier.verify(jwt.encode(good_claims(), rsa_key, algorithm="RS256"))
    ps = jwt.encode(good_claims(), rsa_key, algorithm="PS256")  # the one key, no kid needed
    assert await refused(verifier, ps) == "the key does not fit PS256"


def test_jwks_files_that_cannot_serve(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    cases = {
        "not json": "not a JSON key set",
        '{"keys": 1}': 'no "keys" list',
        json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}): "no usable RSA, EC or OKP",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(JwksError, match=message):
            TokenVerifier(JwtSettings(jwks_file=path, algorithms=("RS256",)))
    with pytest.raises(JwksError, match=r"jwks_file: .*missing\.json"):
        TokenVerifier(JwtSettings(jwks_file=tmp_path / "missing.json", algorithms=("RS256",)))


# --- a JWKS URL over real HTTP ----------------------------------------------------------------


class JwksServer:
    def __init__(self, document: dict[str, Any], port: int = 0) -> None:
        self.document = document
        self.hits = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits += 1
                body = json.dumps(server.document).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/.well-known/jwks.json"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.thread.is_alive():
            self.httpd.shutdown()
            self.httpd.server_close()
            self.thread.join()


@pytest.fixture
def rsa_key2() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_server(rsa_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    server = JwksServer({"keys": [jwk(rsa_key.public_key(), "k1", "RS256")]})
    yield server
    server.stop()


async def test_jwks_url_rotation_rate_limit_and_stale_keys(
    jwks_server: JwksServer, clock: Clock, rsa_key: rsa.RSAPrivateKey, rsa_key2: rsa.RSAPrivateKey
) -> None:
    settings = JwtSettings(jwks_url=jwks_server.url, algorithms=("RS256",))
    verifier = TokenVerifier(settings, clock=clock)
    await verifier.start()
    assert jwks_server.hits == 1

    def signed(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
        return jwt.encode(good_claims(**claims), key, algorithm="RS256", headers={"kid": kid})

    assert (await verifier.verify(signed(rsa_key, "k1")))["sub"] == "u1"
    assert jwks_server.hits == 1

    # The issuer rotates in k2: the first token naming it makes one refetch.
    jwks_server.document = {
        "keys": [jwk(rsa_key.public_key(), "k1"), jwk(rsa_key2.public_key(), "k2")]
    }
    clock.now += 61
    assert (await verifier.verify(signed(rsa_key2, "k2")))["sub"] == "u1"
    assert jwks_server.hits == 2

    # Another unknown kid within the minute: refused without asking the issuer.
    clock.now += 30
    assert await refused(verifier, signed(rsa_key2, "k3")) == "no key with kid 'k3'"
    assert jwks_server.hits == 2

    # Past the minute it may ask again; many concurrent requests share that one fetch.
    clock.now += 31
    tokens = [signed(rsa_key2, "k3", n=n) for n in range(5)]
    results = await asyncio.gather(*(verifier.verify(t) for t in tokens), return_exceptions=True)
    assert all(isinstance(r, InvalidToken) for r in results)
    assert jwks_server.hits == 3

    # The issuer goes down: the keys fetched before keep working.
    jwks_server.stop()
    clock.now += 61
    assert await refused(verifier, signed(rsa_key2, "k4")) == "no key with kid 'k4'"
    assert (await verifier.verify(signed(rsa_key, "k1", n="fresh")))["n"] == "fresh"
    assert (await verifier.verify(signed(rsa_key2, "k2", n="fresh")))["n"] == "fresh"
    assert jwks_server.hits == 3


async def test_jwks_url_down_at_start_fails_loudly(
    clock: Clock, rsa_key: rsa.RSAPrivateKey
) -> None:
    server = JwksServer({"keys": [jwk(rsa_key.public_key(), "k1")]})
    server.stop()
    settings = JwtSettings(jwks_url=server.url, algorithms=("RS256",))
    verifier = TokenVerifier(settings, clock=clock)
    with pytest.raises(JwksError, match=r"jwks_url: cannot fetch http://127\.0\.0\.1"):
        await verifier.start()
    # Should the app serve on regardless, tokens are refused until the keys come.
    token = jwt.encode(good_claims(), rsa_key, algorithm="RS256")  # no kid: still a reason to fetch
    assert await refused(verifier, token) == "no signing keys are available yet"
    back = JwksServer(server.document, port=server.port)  # the issuer is back
    try:
        assert await refused(verifier, token) == "no signing keys are available yet"
        assert back.hits == 0  # within the minute
        clock.now += 60
        assert (await verifier.verify(token))["sub"] == "u1"
        assert back.hits == 1
    finally:
        back.stop()


async def test_a_refetch_with_new_keys_drops_cached_tokens(
    jwks_server: JwksServer, clock: Clock, rsa_key: rsa.RSAPrivateKey, rsa_key2: rsa.RSAPrivateKey
) -> None:
    verifier = TokenVerifier(
        JwtSettings(jwks_url=jwks_server.url, algorithms=("RS256",)), clock=clock
    )
    await verifier.start()
    old = jwt.encode(good_claims(), rsa_key, algorithm="RS256", headers={"kid": "k1"})
    await verifier.verify(old)
    jwks_server.document = {"keys": [jwk(rsa_key2.public_key(), "k2")]}  # k1 withdrawn
    clock.now += 61
    await verifier.verify(
        jwt.encode(good_claims(), rsa_key2, algorithm="RS256", headers={"kid": "k2"})
    )
    assert await refused(verifier, old) == "no key with kid 'k1'"


async def test_a_withdrawn_key_stops_verifying_once_the_key_set_is_old(
    jwks_server: JwksServer, clock: Clock, rsa_key: rsa.RSAPrivateKey, rsa_key2: rsa.RSAPrivateKey
) -> None:
    """Tokens that only name known kids never ask for a refetch; the key set is fetched
    again once it is ten minutes old, so a key the issuer withdrew stops working."""
    jwks_server.document = {
        "keys": [jwk(rsa_key.public_key(), "k1"), jwk(rsa_key2.public_key(), "k2")]
    }
    verifier = TokenVerifier(
        JwtSettings(jwks_url=jwks_server.url, algorithms=("RS256",)), clock=clock
    )
    await verifier.start()

    def signed(key: rsa.RSAPrivateKey, kid: str, **claims: Any) -> str:
        return jwt.encode(good_claims(**claims), key, algorithm="RS256", headers={"kid": kid})

    await verifier.verify(signed(rsa_key, "k1"))
    jwks_server.document = {"keys": [jwk(rsa_key2.public_key(), "k2")]}  # k1 withdrawn
    clock.now += 300
    assert (await verifier.verify(signed(rsa_key, "k1", n=1)))["n"] == 1  # not yet asked
    assert jwks_server.hits == 1
    clock.now += 301
    assert await refused(verifier, signed(rsa_key, "k1", n=2)) == "no key with kid 'k1'"
    assert jwks_server.hits == 2
    assert (await verifier.verify(signed(rsa_key2, "k2", n=3)))["n"] == 3


async def test_one_spelling_per_token(verifier: TokenVerifier) -> None:
    """base64url without padding (RFC 7515): a token with `=` or a space appended is not
    another spelling of the same token."""
    token = hs(good_claims())
    await verifier.verify(token)
    for other in (token + "=", token + "==", token[:-1] + " " + token[-1], " " + token):
        assert await refused(verifier, other) == "the token is malformed"


# --- the verified-token cache ------------------------------------------------------------------


@pytest.fixture
def hmac_checks(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every HMAC signature check made, by spying on PyJWT's HMAC algorithm."""
    checks: list[bytes] = []
    real = HMACAlgorithm.verify

    def spy(self: HMACAlgorithm, msg: bytes, key: bytes, sig: bytes) -> bool:
        checks.append(msg)
        return real(self, msg, key, sig)

    monkeypatch.setattr(HMACAlgorithm, "verify", spy)
    return checks


async def test_the_same_token_twice_costs_one_check(
    verifier: TokenVerifier, hmac_checks: list[bytes]
) -> None:
    token = hs(good_claims())
    first, second = await verifier.verify(token), await verifier.verify(token)
    assert first is second and len(hmac_checks) == 1
    await verifier.verify(hs(good_claims(n=2)))
    assert len(hmac_checks) == 2


async def test_a_cached_token_still_expires_on_time(
    verifier: TokenVerifier, clock: Clock, hmac_checks: list[bytes]
) -> None:
    token = hs(good_claims(exp=int(NOW) + 100))
    await verifier.verify(token)
    clock.now = NOW + 100 + 29  # within the leeway: still served from the cache
    await verifier.verify(token)
    assert len(hmac_checks) == 1
    clock.now = NOW + 100 + 30
    assert await refused(verifier, token) == "the token has expired"
    assert await refused(verifier, token) == "the token has expired"


async def test_tokens_without_exp_are_rechecked_after_five_minutes(
    verifier: TokenVerifier, clock: Clock, hmac_checks: list[bytes]
) -> None:
    claims = {k: v for k, v in good_claims().items() if k != "exp"}
    token = hs(claims)
    await verifier.verify(token)
    clock.now += 299
    await verifier.verify(token)
    assert len(hmac_checks) == 1
    clock.now += 2
    await verifier.verify(token)
    assert len(hmac_checks) == 2


async def test_failures_are_not_cached_and_the_cache_is_bounded(
    clock: Clock, hmac_checks: list[bytes]
) -> None:
    settings = JwtSettings(secret=SECRET, algorithms=("HS256",))
    verifier = TokenVerifier(settings, clock=clock, cache_entries=2)
    forged = hs(good_claims(), secret=SECRET[::-1])
    for _ in range(2):
        assert await refused(verifier, forged) == "the signature is not valid"
    assert len(hmac_checks) == 2
    hmac_checks.clear()
    a, b, c = (hs(good_claims(n=n)) for n in range(3))
    for token in (a, b, c, b, c):
        await verifier.verify(token)
    assert len(hmac_checks) == 3  # b and c stayed cached
    await verifier.verify(a)  # the oldest, evicted
    assert len(hmac_checks) == 4


# --- positive HS*, settings, claim paths, minting -------------------------------------------------


@pytest.mark.parametrize("algorithm", ["HS256", "HS384", "HS512"])
async def test_hs_algorithms_with_a_secret(algorithm: str, clock: Clock) -> None:
    settings = JwtSettings(secret=SECRET, algorithms=(algorithm,))
    verifier = TokenVerifier(settings, clock=clock)
    token = hs({"sub": "u1", "exp": int(NOW) + 60}, algorithm=algorithm)
    assert dict(await verifier.verify(token)) == {"sub": "u1", "exp": int(NOW) + 60}


BAD_SETTINGS: list[tuple[dict[str, Any], str]] = [
    ({"algorithms": ["HS256"]}, "set exactly one of secret, jwks_file, jwks_url"),
    (
        {"secret": SECRET, "jwks_url": "https://id.example/jwks", "algorithms": ["HS256"]},
        "(got secret and jwks_url)",
    ),
    ({"secret": SECRET, "algorithms": []}, "algorithms\n  Value error, name at least one"),
    ({"secret": SECRET, "algorithms": ["none"]}, "'none' (unsigned tokens) is never accepted"),
    ({"secret": SECRET, "algorithms": ["HS1"]}, "unknown algorithm 'HS1'"),
    ({"secret": SECRET, "algorithms": ["HS256", "RS256"]}, "algorithms: RS256 needs jwks_file"),
    (
        {"jwks_url": "https://id.example/jwks", "algorithms": ["RS256", "HS256"]},
        "algorithms: HS256 needs a secret",
    ),
    ({"secret": "short", "algorithms": ["HS256"]}, "secret: HS256 needs a secret of at least 32"),
    (
        {"secret": "x" * 40, "algorithms": ["HS256", "HS384"]},
        "secret: HS384 needs a secret of at least 48",
    ),
    ({"jwks_url": "http://id.example/jwks", "algorithms": ["RS256"]}, "jwks_url\n  Value error"),
    ({"jwks_url": "file:///etc/passwd", "algorithms": ["RS256"]}, "must be an https:// URL"),
    ({"secret": SECRET, "algorithms": ["HS256"], "role_claim": "a..b"}, "role_claim\n"),
    ({"secret": SECRET, "algorithms": ["HS256"], "leeway": 5}, "leeway\n  Extra inputs"),
]


@pytest.mark.parametrize(("values", "message"), BAD_SETTINGS)
def test_bad_settings_name_the_key(values: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        JwtSettings.model_validate(values)
    assert message in str(caught.value)


def test_a_public_key_is_no_secret(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValidationError, match="secret: a public key is no secret"):
        JwtSettings(secret=pem.decode(), algorithms=("HS256",))


def test_the_secret_is_never_shown() -> None:
    settings = JwtSettings(secret=SECRET, algorithms=("HS256",))
    assert SECRET not in repr(settings) and SECRET not in str(settings)

    with pytest.raises(ValidationError) as caught:  # a model-level error shows no input
        JwtSettings.model_validate({"secret": SECRET, "jwks_file": "k.json", "algorithms": []})
    assert SECRET not in str(caught.value)

    class Outer(BaseModel):
        """Nested, the outer model decides: Settings needs hide_input_in_errors too."""

        model_config = ConfigDict(hide_input_in_errors=True)
        jwt: JwtSettings

    with pytest.raises(ValidationError) as caught:
        Outer.model_validate({"jwt": {"secret": "too-short-secret", "algorithms": ["HS256"]}})
    assert "too-short-secret" not in str(caught.value)
    assert JwtSettings(jwks_url="http://localhost:9/k", algorithms=("EdDSA",)).jwks_url


def test_claim_paths() -> None:
    claims = {
        "role": "reader",
        "app_metadata": {"role": "editor", "org": {"id": 7}, "n": 3},
        "https://example.com/role": "namespaced",
        "list": ["a"],
    }
    assert role_of(claims, "role") == "reader"
    assert role_of(claims, "app_metadata.role") == "editor"
    assert role_of(claims, "https://example.com/role") == "namespaced"
    assert role_of(claims, "app_metadata.n") is None
    assert role_of(claims, "app_metadata.org") is None
    assert role_of(claims, "missing.role") is None
    assert role_of({"role": ""}, "role") is None
    assert claim_value(claims, "app_metadata.org.id") == 7
    assert claim_value(claims, "app_metadata.org.id.deeper") is MISSING
    assert claim_value(claims, "list.0") is MISSING
    assert claim_value(claims, "nope") is MISSING and repr(MISSING) == "MISSING"
    assert claim_value({"x": None}, "x") is None


async def test_minted_tokens_verify(clock: Clock) -> None:
    clock.now = __import__("time").time()
    verifier = TokenVerifier(JwtSettings(secret=SECRET, algorithms=("HS384",)), clock=clock)
    claims = await verifier.verify(mint_token(SECRET, {"role": "reader"}, algorithm="HS384"))
    assert claims["role"] == "reader" and claims["exp"] - claims["iat"] == 3600
    forever = await verifier.verify(mint_token(SECRET, {"sub": "x"}, "HS384", expires_in_s=None))
    assert "exp" not in forever
    explicit = mint_token(SECRET, {"exp": 5}, "HS384")
    assert await refused(verifier, explicit) == "the token has expired"
    with pytest.raises(ValueError, match="signs with a secret"):
        mint_token(SECRET, {}, algorithm="RS256")
    with pytest.raises(ValueError, match="HS256 needs a secret of at least 32 bytes"):
        mint_token("short", {})
    with pytest.raises(ValueError, match="HS512 needs a secret of at least 64 bytes"):
        mint_token("x" * 40, {}, "HS512")


def test_keyset_without_kid_needs_a_single_key(rsa_key: rsa.RSAPrivateKey) -> None:
    one = KeySet.from_json(json.dumps({"keys": [jwk(rsa_key.public_key(), None)]}), source="t")
    assert one.select(None, "RS256") is not None and one.select(None, "ES256") is None
    enc = jwk(rsa_key.public_key(), "e1") | {"use": "enc"}
    with pytest.raises(JwksError, match="no usable"):
        KeySet.from_json(json.dumps({"keys": [enc]}), source="t")
