"""API keys: `Authorization: Bearer <key>`, compared as hashes in constant time. With no
[[api_keys]] configured the API is open. Keys in the query string are not accepted."""

from __future__ import annotations

import hmac

from quart import Quart, g, request

from sqlapi.config import ApiKey, Settings, hash_key
from sqlapi.errors import ProblemError

# Probes, documentation and the HTML shells are public; their data comes from /api.
PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
    "/docs",
    "/redocs",
    "/assets/",
    "/tables/",
)


def unauthorized(detail: str) -> ProblemError:
    problem = ProblemError(401, detail, kind="unauthorized")
    problem.headers["WWW-Authenticate"] = 'Bearer realm="sqlapi"'
    return problem


def find_key(presented: str, keys: tuple[ApiKey, ...]) -> ApiKey | None:
    """The configured key whose hash matches; every hash is compared, in constant time."""
    digest = hash_key(presented)
    found = None
    for key in keys:
        if hmac.compare_digest(digest, key.hash):
            found = key
    return found


def install(app: Quart, settings: Settings) -> None:
    keys = settings.api_keys
    if not keys:
        return

    @app.before_request
    async def authenticate() -> None:
        if (
            request.method == "OPTIONS"
            or request.path == "/"
            or request.path.startswith(PUBLIC_PREFIXES)
        ):
            return
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized("This API needs a key: send `Authorization: Bearer <key>`.")
        key = find_key(token.strip(), keys)
        if key is None:
            raise unauthorized("That key is not valid.")
        g.api_key = key
