"""Identity over HTTP: a corpus of hostile tokens against a server whose keys come from a
JWKS URL on 127.0.0.1 (each a 401 with its reason, or no rows — never a 5xx, never
another caller's row), API keys beside tokens, the OpenAPI security schemes, the
configuration's refusals, and `sqlapi token` against a real `sqlapi serve`."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sqlapi.auth.settings import hash_key
from sqlapi.config import Settings, sample_database
from tests.fixtures import LiveApp
from tests.servers import COMMAND
from tests.unit.test_tokens import JwksServer

ISSUER, AUDIENCE = "https://id.example", "sqlapi"
SERVICE_KEY = "service-key-" + "k" * 24
OWN = 471  # member 471 has loans; the corpus must never show another member's


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def issuer(rsa_key: rsa.RSAPrivateKey) -> Iterator[JwksServer]:
    public = RSAAlgorithm.to_jwk(rsa_key.public_key(), as_dict=True)
    server = JwksServer({"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]})
    yield server
    server.stop()


@pytest.fixture(scope="module")
def library(issuer: JwksServer) -> Iterator[LiveApp]:
    settings = Settings.model_validate(
        {
            "database": sample_database(),
            "api_keys": [{"hash": hash_key(SERVICE_KEY), "tables": ["books"]}],
            "auth": {
                "jwt": {
                    "jwks_url": issuer.url,
                    "algorithms": ["RS256"],
                    "issuer": ISSUER,
                    "audience": AUDIENCE,
                    "role_claim": "app_metadata.role",
                },
                "roles": {"member": {"tables": ["books", "loans", "members"]}},
            },
            "tables": {"loans": {"row_filter": {"member_id": "sub"}}},
        }
    )
    live = LiveApp(settings)
    yield live
    live.close()


def claims(**extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "sub": str(OWN),
        "app_metadata": {"role": "member"},
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 600,
        **extra,
    }


def rs256(key: rsa.RSAPrivateKey, payload: dict[str, Any], kid: str = "k1") -> str:
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": kid})


def loans(live: LiveApp, token: str) -> tuple[int, list[int], dict[str, str]]:
    response = live.get("/api/tables/loans/rows?_limit=1000", {"Authorization": f"Bearer {token}"})
    members = (
        [r["member_id"] for r in response.json().get("rows", [])] if response.status == 200 else []
    )
    return response.status, members, response.headers


def hostile_tokens(key: rsa.RSAPrivateKey) -> dict[str, str]:
    good = rs256(key, claims())
    head, body, signature = good.split(".")
    pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    forged_body = b64(json.dumps(claims(sub="206")).encode())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    unsigned_header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return {
        "alg none": f"{unsigned_header}.{b64(json.dumps(claims(sub='206')).encode())}.",
        "HS256 with the public key": _hs256_raw(claims(sub="206"), pem),
        "expired": rs256(key, claims(exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)),
        "not yet valid": rs256(key, claims(nbf=int(time.time()) + 3600)),
        "wrong issuer": rs256(key, claims(iss="https://evil.example")),
        "wrong audience": rs256(key, claims(aud="someone-else")),
        "unknown kid": rs256(key, claims(sub="206"), kid="k-unknown"),
        "another key, same kid": rs256(other, claims(sub="206")),
        "tampered payload": f"{head}.{forged_body}.{signature}",
        "stripped signature": f"{head}.{body}.",
        "oversized": rs256(key, claims(padding="x" * 20_000)),
        "not base64": "!!!.@@@.###",
    }


def _hs256_raw(payload: dict[str, Any], secret: bytes) -> str:
    """An HS256 token keyed with `secret` made by hand: PyJWT itself refuses a PEM
    public key as an HMAC secret (the very confusion this token tries)."""
    import hashlib
    import hmac

    signing = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "k1"}).encode())
    signing += "." + b64(json.dumps(payload).encode())
    mac = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{b64(mac)}"


def test_hostile_tokens_are_refused_with_their_reason(
    library: LiveApp, rsa_key: rsa.RSAPrivateKey
) -> None:
    status, members, _ = loans(library, rs256(rsa_key, claims()))
    assert status == 200 and members and set(members) == {OWN}
    for name, token in hostile_tokens(rsa_key).items():
        status, members, headers = loans(library, token)
        assert status == 401, (name, status)
        challenge = headers["www-authenticate"]
        assert challenge.startswith('Bearer error="invalid_token", error_description="'), name
        for part in token.split("."):
            assert len(part) < 8 or part not in challenge, name
    # Not three parts: an API key as far as sqlapi can tell, and not a valid one.
    status, _, headers = loans(library, rs256(rsa_key, claims()) + ".extra")
    assert status == 401 and headers["www-authenticate"] == 'Bearer realm="sqlapi"'


@pytest.mark.parametrize(
    ("sub", "sees_own"),
    [
        ([str(OWN)], True),  # a list admits each of its values: here only the caller's own
        ([str(OWN), {"id": "206"}], True),  # what does not convert is dropped
        ({"id": "206"}, False),
        ("206 OR 1=1", False),
        ("471 OR 1=1", False),
        (" 471", False),  # a subject is an opaque string: only "471" is 471
        ("0471", False),
        ("+471", False),
        ("0x1d7", False),
        (True, False),
        (None, False),
        ([["206"]], False),
        (471.5, False),
        ([], False),
    ],
)
def test_claims_of_the_wrong_type_show_no_other_callers_row(
    library: LiveApp, rsa_key: rsa.RSAPrivateKey, sub: Any, sees_own: bool
) -> None:
    status, members, _ = loans(library, rs256(rsa_key, claims(sub=sub)))
    assert status == 200
    assert set(members) == ({OWN} if sees_own else set())


def test_roles_keys_and_the_unknown(library: LiveApp, rsa_key: rsa.RSAPrivateKey) -> None:
    key = {"Authorization": f"Bearer {SERVICE_KEY}"}
    assert library.get("/api/tables/books/rows?_limit=1", key).status == 200
    assert library.get("/api/tables/loans/rows", key).status == 403  # the key's tables
    assert library.get("/api/tables/books/rows").status == 401  # no anonymous role
    for odd in (f"Basic {rs256(rsa_key, claims())}", f"Bearer\t{SERVICE_KEY}", "Bearer "):
        answer = library.get("/api/tables/books/rows", {"Authorization": odd})
        assert answer.status == 401, odd  # credentials that are not a bearer's: not anonymous
    for role in ("admin", ["member"], None):
        token = rs256(rsa_key, claims(app_metadata={"role": role}))
        answer = library.get("/api/tables/books/rows", {"Authorization": f"Bearer {token}"})
        assert answer.status == 403, role
    member = {"Authorization": f"Bearer {rs256(rsa_key, claims())}"}
    assert library.get("/api/tables/authors/rows", member).status == 403  # outside the role
    names = [t["name"] for t in library.get("/api/tables", member).json()["tables"]]
    assert names == ["books", "loans", "members"]


def test_the_openapi_document_names_both_schemes(library: LiveApp) -> None:
    document = library.json("/openapi.json")
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http", "scheme": "bearer",
                                     "bearerFormat": "JWT"}  # fmt: skip
    assert schemes["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}, {"bearerAuth": []}]
    rows = document["paths"]["/api/tables/loans/rows"]["get"]["responses"]
    assert {"401", "403"} <= set(rows)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tables.loans]\nrow_filter = { member_id = 'sub' }\n", "configure [auth.jwt]"),
        (
            "[auth.jwt]\nsecret = '" + "s" * 40 + "'\nalgorithms = ['HS256']\n"
            "[tables.loans]\nrow_filter = { member_id = 'sub' }\nhidden_columns = ['member_id']\n",
            "cannot be hidden",
        ),
        (
            "[auth.jwt]\nsecret = '" + "s" * 40 + "'\nalgorithms = ['HS256']\n"
            "anonymous_role = 'anon'\n",
            "declare the role",
        ),
        (
            "[auth.jwt]\nsecret = '" + "s" * 40 + "'\nalgorithms = ['HS256']\n"
            "[tables.books_fts]\nrow_filter = { title = 'sub' }\n",
            "full-text index",
        ),
        ("[auth.jwt]\nsecret = 'short'\nalgorithms = ['HS256']\n", "at least 32 bytes"),
        ("[auth.jwt]\njwks_file = 'nowhere.json'\nalgorithms = ['RS256']\n", "nowhere.json"),
        ("[auth.jwt]\nsecret = '" + "s" * 40 + "'\nalgorithms = ['none']\n", "never accepted"),
    ],
)
def test_configuration_mistakes_are_one_line(tmp_path: Path, config: str, message: str) -> None:
    path = tmp_path / "sqlapi.toml"
    path.write_text(config)
    done = subprocess.run(
        [*COMMAND, "openapi", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and message in done.stderr, done.stderr
