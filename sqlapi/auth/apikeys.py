"""API keys: `Authorization: Bearer <key>`, compared as hashes in constant time. With no
[[api_keys]] configured the API is open. Keys in the query string are not accepted."""

from __future__ import annotations

import hmac

from sqlapi.auth.caller import Caller
from sqlapi.auth.settings import ApiKey, hash_key
from sqlapi.model.errors import ProblemError
from sqlapi.model.schema import fold


def unauthorized(detail: str, challenge: str = 'Bearer realm="sqlapi"') -> ProblemError:
    problem = ProblemError(401, detail, problem_type="unauthorized")
    problem.headers["WWW-Authenticate"] = challenge
    return problem


def find_key(presented: str, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """The configured key whose hash matches; every hash is compared, in constant time."""
    digest = hash_key(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(digest, key.hash):
            found = key
    return found


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, None for anything else."""
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def key_caller(authorization: str, keys: tuple[ApiKey, ...]) -> Caller:
    """The caller an API key makes; a 401 problem without a valid key."""
    token = bearer_token(authorization)
    if token is None:
        raise unauthorized("This API needs a key: send `Authorization: Bearer <key>`.")
    key = find_key(token, keys)
    if key is None:
        raise unauthorized("That key is not valid.")
    tables = None if key.tables is None else frozenset(fold(t) for t in key.tables)
    return Caller(identity=key.hash, tables=tables)
