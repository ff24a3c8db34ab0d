"""HTTP endpoints, one module per group; handlers parse -> build -> fetch -> respond.

Every API route lives under one `/api` blueprint (`api_blueprint`), whose hooks run, in
order, for each of its requests and for no other: admission (a bounded number worked on
at once), availability of the file, authentication, authorization of the table or
column the path names, then the conditional answer (304) — so a 304 is only ever an
answer about something the caller may read. Probes, metrics, documentation and the HTML
pages live outside it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar
from urllib.parse import quote, urlencode

from quart import Blueprint, Request, Response, g, request
from quart_cors import cors
from werkzeug.datastructures import Headers

from sqlapi.auth.caller import ANYONE, Caller
from sqlapi.encoding import dumps
from sqlapi.gateway import Gateway

View = TypeVar("View", bound=Callable[..., Awaitable[Response]])


def caller() -> Caller:
    """Who asks this request (set by the API blueprint's authentication)."""
    found: Caller = g.get("caller", ANYONE)
    return found


def header(headers: Headers, name: str) -> str:
    """A header's values joined, "" when absent. werkzeug's `get` and `in` raise and catch
    an exception for every header that is absent, which is most of them on most requests."""
    return ", ".join(headers.getlist(name))


def respond(
    document: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(document), status, dict(headers or {}), content_type="application/json")


def next_links(cursor: str | None) -> tuple[str | None, dict[str, str]]:
    """This request's URL with `_after` set to the next cursor (and no `_offset`), and
    the `Link: rel="next"` header that mirrors it; nothing on the last page."""
    if cursor is None:
        return None, {}
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_after", "_offset")]
    pairs.append(("_after", cursor))
    url = quote(request.path) + "?" + urlencode(pairs)
    return url, {"Link": f'<{url}>; rel="next"'}


DOCUMENTED_APART = "sqlapi_documented_apart"


def documented_apart(view: View) -> View:
    """Mark a generic view that the OpenAPI document describes once per table or query."""
    setattr(view, DOCUMENTED_APART, True)
    return view


def unscoped(view: View) -> View:
    """Mark a view that only callers allowed every table may use (it reads any table)."""
    view.sqlapi_unscoped = True  # type: ignore[attr-defined]
    return view


def untagged(view: View) -> View:
    """Mark a view whose answers get no ETag and no 304 (endless streams)."""
    view.sqlapi_untagged = True  # type: ignore[attr-defined]
    return view


def api_blueprint(gateway: Gateway) -> Blueprint:
    from sqlapi.routes import aggregate, caching, columns, discovery, events, queries, rows, sql

    settings = gateway.settings
    api = Blueprint("api", __name__, url_prefix="/api")
    for child in (discovery, rows, columns, aggregate, events, queries, sql):
        api.register_blueprint(child.blueprint(gateway))
    authenticator = gateway.authenticator
    admission = gateway.admission
    conditional = caching.install(api, gateway)
    marks: dict[str, tuple[bool, bool]] = {}  # endpoint -> (unscoped, untagged)

    def marked(endpoint: str) -> tuple[bool, bool]:
        found = marks.get(endpoint)
        if found is None:
            from quart import current_app

            view = current_app.view_functions.get(endpoint)
            found = marks[endpoint] = (
                getattr(view, "sqlapi_unscoped", False),
                getattr(view, "sqlapi_untagged", False),
            )
        return found

    @api.before_request
    async def gate() -> Response | None:
        """One hook, its steps in this order: admission (a bounded number worked on at
        once), availability of the file (no answer, not even a 304, from a file that is
        gone), authentication, authorization of the table or column the path names (a 404
        or 403 comes before any conditional answer), then the conditional answer."""
        await admission.acquire()
        g.admitted = True
        gateway.db.check_available()
        # The request itself, not its proxy: one context look-up, not one per attribute
        # (werkzeug's LocalProxy API; Quart types `request` as the Request it stands for).
        req: Request = request._get_current_object()  # type: ignore[attr-defined]
        if req.method == "OPTIONS":
            return None
        who = g.caller = await authenticator.caller(header(req.headers, "Authorization"))
        unscoped, untagged = marked(req.endpoint) if req.endpoint else (False, False)
        if unscoped:
            gateway.require_unscoped(who, "This endpoint")
        arguments = req.view_args or {}
        if "table_name" in arguments:
            gateway.table(arguments["table_name"], who)
        elif "column_name" in arguments:
            gateway.table_for_column(arguments["column_name"], req.args.get("_table"), who)
        return None if untagged else conditional(req, who)

    @api.teardown_request
    async def leave(_error: BaseException | None) -> None:
        if g.pop("admitted", False):
            admission.release()

    if settings.cors_origins:
        cors(
            api,
            allow_origin=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "If-None-Match", "Last-Event-ID", "Accept"],
            expose_headers=["ETag", "Link", "Content-Disposition"],
            max_age=600,
        )
    return api
