"""The configuration of identity and of what each caller reads: `[auth.jwt]`, `[auth.roles]`,
`[[api_keys]]`, `[tables.T]` (hiding, row filters) and `[queries.Q]`, each a frozen model
that refuses unknown keys. `config.Settings` holds them; auth's modules read only these."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Final, Literal

import jwt
from jwt.algorithms import HMACAlgorithm
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sqlapi.auth.jwks import check_jwks_url

HMAC_ALGORITHMS: Final = ("HS256", "HS384", "HS512")


ASYMMETRIC_ALGORITHMS: Final = (
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES256K", "ES384", "ES512", "EdDSA"),
)


# RFC 7518 §3.2: an HMAC key MUST be at least as long as the hash (PyJWT warns otherwise).
SECRET_BYTES: Final = {"HS256": 32, "HS384": 48, "HS512": 64}


class JwtSettings(BaseModel):
    """`[auth.jwt]`: one source of keys, the algorithms it may verify, and the claim checks."""

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    secret: str | None = Field(None, repr=False)
    jwks_file: Path | None = None
    jwks_url: str | None = None
    algorithms: tuple[str, ...]
    issuer: str | None = None
    audience: str | None = None
    role_claim: str = "role"
    anonymous_role: str | None = None
    leeway_s: float = Field(30, ge=0, le=300)
    max_token_bytes: int = Field(8192, ge=512, le=65536)

    @field_validator("algorithms")
    @classmethod
    def _known_algorithms(cls, algorithms: tuple[str, ...]) -> tuple[str, ...]:
        if not algorithms:
            raise ValueError("name at least one algorithm, e.g. ['HS256'] or ['RS256']")
        for name in algorithms:
            if name.lower() == "none":
                raise ValueError("'none' (unsigned tokens) is never accepted")
            if name not in HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS:
                known = ", ".join(HMAC_ALGORITHMS + ASYMMETRIC_ALGORITHMS)
                raise ValueError(f"unknown algorithm {name!r} (known: {known})")
        return algorithms

    @field_validator("jwks_url")
    @classmethod
    def _fetchable_url(cls, url: str | None) -> str | None:
        return None if url is None else check_jwks_url(url)

    @field_validator("role_claim")
    @classmethod
    def _claim_path(cls, path: str) -> str:
        return check_claim_path(path, "role_claim")

    @model_validator(mode="after")
    def _one_key_source(self) -> JwtSettings:
        sources = {"secret": self.secret, "jwks_file": self.jwks_file, "jwks_url": self.jwks_url}
        given = [name for name, value in sources.items() if value is not None]
        if len(given) != 1:
            raise ValueError(
                "set exactly one of secret, jwks_file, jwks_url"
                + (f" (got {' and '.join(given)})" if given else "")
            )
        wrong = [a for a in self.algorithms if (a in HMAC_ALGORITHMS) != (self.secret is not None)]
        if wrong and self.secret is not None:
            raise ValueError(
                f"algorithms: {wrong[0]} needs jwks_file or jwks_url; a secret verifies only "
                "HS256/HS384/HS512 (mixing them would allow algorithm confusion)"
            )
        if wrong:
            raise ValueError(
                f"algorithms: {wrong[0]} needs a secret; a key set verifies only RS*, PS*, "
                "ES* and EdDSA (mixing them would allow algorithm confusion)"
            )
        if self.secret is not None:
            check_secret(self.secret, self.algorithms, "secret")
        return self


def check_claim_path(path: str, where: str) -> str:
    """A claim name or a dotted path into nested claims (`app_metadata.role`)."""
    if not path or "" in path.split("."):
        raise ValueError(f"{where}: name a claim, or a dotted path such as app_metadata.role")
    return path


def check_secret(secret: str, algorithms: tuple[str, ...], what: str) -> None:
    size = len(secret.encode())
    for name in algorithms:
        if size < SECRET_BYTES[name]:
            raise ValueError(
                f"{what}: {name} needs a secret of at least {SECRET_BYTES[name]} bytes "
                f"(RFC 7518 §3.2), this one has {size} (make one: openssl rand -base64 64)"
            )
    try:
        HMACAlgorithm(HMACAlgorithm.SHA256).prepare_key(secret)
    except jwt.InvalidKeyError:
        raise ValueError(f"{what}: a public key is no secret; give it as jwks_file") from None


KEY_HASH_PREFIX = "sha256:"


def hash_key(key: str) -> str:
    """What `[[api_keys]] hash` stores: keys are long random secrets, so one SHA-256 suffices
    (as GitHub does for its tokens); only the hash is ever kept."""
    return KEY_HASH_PREFIX + hashlib.sha256(key.encode()).hexdigest()


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TableRules(_Strict):
    hidden_columns: tuple[str, ...] = ()
    columns_allow: tuple[str, ...] | None = None
    # column -> the claim (a dotted path) its value must equal: a row is visible only to a
    # caller whose token carries it (docs/auth.md). Needs [auth.jwt].
    row_filter: dict[str, str] = {}

    @field_validator("row_filter")
    @classmethod
    def _claim_paths(cls, row_filter: dict[str, str]) -> dict[str, str]:
        for column, path in row_filter.items():
            check_claim_path(path, f"row_filter.{column}")
        return row_filter


class Role(_Strict):
    tables: tuple[str, ...] | None = None  # None: every exposed table


class AuthSettings(_Strict):
    """`[auth]`: JSON Web Tokens beside (or instead of) API keys, and the roles they name."""

    jwt: JwtSettings | None = None
    roles: dict[str, Role] = {}

    @model_validator(mode="after")
    def _anonymous_role_declared(self) -> AuthSettings:
        anonymous = self.jwt.anonymous_role if self.jwt is not None else None
        if anonymous is not None and anonymous not in self.roles:
            raise ValueError(
                f"jwt.anonymous_role: declare the role it names, e.g. [auth.roles.{anonymous}] "
                "tables = [...] (the tables a request without a token may read)"
            )
        if self.roles and self.jwt is None:
            raise ValueError("roles: roles come from tokens; configure [auth.jwt]")
        return self


class ApiKey(_Strict):
    hash: str = Field(pattern=r"^sha256:[0-9a-f]{64}$", description="from `sqlapi hash-key KEY`")
    tables: tuple[str, ...] | None = None  # None: every exposed table
    name: str | None = None


class NamedQuery(_Strict):
    sql: str
    params: dict[str, Literal["integer", "number", "string"]] = {}
    description: str | None = None
