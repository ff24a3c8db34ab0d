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

from quart import Blueprint, Response, g, request
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

    @api.before_request
    async def admit() -> None:
        await admission.acquire()
        g.admitted = True

    @api.teardown_request
    async def leave(_error: BaseException | None) -> None:
        if g.pop("admitted", False):
            admission.release()

    @api.before_request
    async def available() -> None:
        """No answer, not even a 304, from a file that is gone."""
        gateway.db.check_available()

    @api.before_request
    async def authenticate() -> None:
        if request.method != "OPTIONS":
            g.caller = await authenticator.caller(header(request.headers, "Authorization"))

    @api.before_request
    async def authorize() -> None:
        """The table or column the path names must be readable by the caller: a 404 or 403
        comes before any conditional answer."""
        view = request.url_rule and api_view(request.endpoint)
        who = caller()
        if getattr(view, "sqlapi_unscoped", False):
            gateway.require_unscoped(who, "This endpoint")
        arguments = request.view_args or {}
        if "table_name" in arguments:
            gateway.table(arguments["table_name"], who)
        elif "column_name" in arguments:
            gateway.table_for_column(arguments["column_name"], request.args.get("_table"), who)

    def api_view(endpoint: str | None) -> object:
        from quart import current_app

        return current_app.view_functions.get(endpoint or "")

    caching.install(api, gateway, api_view)
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
