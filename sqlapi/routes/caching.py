"""HTTP caching: an ETag on every successful GET, derived from the database's current
version (its files' stamps) and the request; If-None-Match -> 304 before any query runs."""

from __future__ import annotations

import hashlib

from quart import Quart, Request, Response, g
from quart.globals import request_ctx

from sqlapi.routes import gateway, header
from sqlapi.routes.health import PROBES

IMMUTABLE = "public, max-age=31536000, immutable"


def request_etag(req: Request) -> str | None:
    if req.method not in ("GET", "HEAD") or req.path in PROBES or req.path.endswith("/events"):
        return None
    identity = "\x1f".join(
        [
            gateway().db.tag,
            req.path,
            req.query_string.decode("latin-1"),
            header(req.headers, "Accept"),
            getattr(g.get("api_key"), "hash", ""),  # what a listing shows depends on the key
        ]
    )
    return hashlib.blake2s(identity.encode(), digest_size=12).hexdigest()


def install(app: Quart, immutable: bool) -> None:
    cache_control = IMMUTABLE if immutable else "no-cache"

    @app.before_request
    async def not_modified() -> Response | None:
        req = request_ctx.request  # one context look-up, not one per attribute
        etag = g.etag = request_etag(req)
        if etag is None or not header(req.headers, "If-None-Match"):
            return None
        if req.if_none_match.contains_weak(etag):
            response = Response("", 304)
            response.set_etag(etag)
            response.headers["Cache-Control"] = cache_control
            return response
        return None

    @app.after_request
    async def tag(response: Response) -> Response:
        etag = g.get("etag")
        headers = response.headers
        if etag is None or response.status_code != 200 or header(headers, "ETag"):
            return response
        headers.add("ETag", f'"{etag}"')  # a hex digest: nothing to quote
        if not header(headers, "Cache-Control"):
            headers.add("Cache-Control", cache_control)
        vary = header(headers, "Vary")  # CORS may have put Origin there
        if not vary:
            headers.add("Vary", "Accept")
        elif "accept" not in vary.lower():
            headers["Vary"] = f"{vary}, Accept"
        return response
