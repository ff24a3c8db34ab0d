"""HTTP caching of API answers: an ETag on every successful GET, derived from the file's
stamp (its current content), the request and the caller; If-None-Match -> 304 before any
query runs, and after the caller is known to be allowed the answer.

A tag sqlapi sent came with a 200 to this very request, so while the file is the same
the answer would be a 200 again: the 304 can come first. `If-None-Match: *` names no
answer; it is a 304 only once the request has actually been answered with a 200 (a key
that does not exist, a bad parameter or a refused statement stay 404, 400 or 403)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from quart import Blueprint, Request, Response, g
from quart.wrappers.response import DataBody

from sqlapi.auth.caller import Caller
from sqlapi.http.responses import header
from sqlapi.services import Services

IMMUTABLE = "max-age=31536000, immutable"


def request_etag(stamp: str, req: Request, identity: str) -> str:
    text = "\x1f".join(
        [
            stamp,
            req.path,
            req.query_string.decode("latin-1"),
            header(req.headers, "Accept"),
            identity,  # what a listing shows depends on who asks
        ]
    )
    return hashlib.blake2s(text.encode(), digest_size=12).hexdigest()


def not_modified_answer(etag: str, cache_control: str, varies: str) -> Response:
    """A 304 repeats the 200's validators and Vary (RFC 9110 §15.4.5)."""
    response = Response(b"", 304)
    response.set_etag(etag)
    response.headers["Cache-Control"] = cache_control
    response.headers["Vary"] = varies
    del response.headers["Content-Type"]  # a 304 has no body to describe
    return response


def install(api: Blueprint, services: Services) -> Callable[[Request, Caller], Response | None]:
    """Tag the API's 200s (an after-request hook); returns the conditional check the API's
    gate runs last: a 304, or None to answer."""
    # Answers to callers who say who they are may differ per caller: only their own
    # browser may keep them, and a cache in between must tell them apart.
    private = services.settings.authenticated
    cache_control = (
        ("private, " if private else "public, ") + IMMUTABLE
        if services.settings.immutable
        else "no-cache"
    )
    # Accept-Encoding too, whether or not this request sent one: a cache in front must not
    # give a client that accepts gzip the plain body another client was sent, or the reverse
    varies = "Accept, Accept-Encoding" + (", Authorization" if private else "")

    def not_modified(req: Request, who: Caller) -> Response | None:
        if req.method not in ("GET", "HEAD"):
            return None
        etag = g.etag = request_etag(services.db.stamp, req, who.identity)
        if not header(req.headers, "If-None-Match"):
            return None
        if req.if_none_match.star_tag:
            g.star = True  # decided once answered (see tag)
            return None
        return (
            not_modified_answer(etag, cache_control, varies)
            if req.if_none_match.contains_weak(etag)
            else None
        )

    @api.after_request
    async def tag(response: Response) -> Response:
        etag = g.get("etag")
        headers = response.headers
        if private and response.status_code >= 400 and not header(headers, "Vary"):
            headers["Vary"] = varies  # a 401, 403 or 404 depends on who asks too
        if etag is None or response.status_code != 200 or header(headers, "ETag"):
            return response
        if g.get("star") and isinstance(response.response, DataBody):
            return not_modified_answer(etag, cache_control, varies)  # (a stream is sent: it runs)
        headers.add("ETag", f'"{etag}"')  # a hex digest: nothing to quote
        if not header(headers, "Cache-Control"):
            headers.add("Cache-Control", cache_control)
        vary = header(headers, "Vary")  # CORS may have put Origin there
        headers["Vary"] = f"{vary}, {varies}" if vary else varies
        return response

    return not_modified
