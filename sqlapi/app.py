"""create_app(settings) -> Quart: wires routes, errors and the serving lifespan. No logic."""

from __future__ import annotations

import asyncio
import logging
import sqlite3

from quart import Quart, Response, g
from quart.typing import ResponseReturnValue
from quart_cors import cors
from werkzeug.exceptions import HTTPException

from sqlapi import db, openapi, readonly, routes
from sqlapi.admission import Admission
from sqlapi.config import ConfigError, Settings
from sqlapi.connection import HTTPConnection
from sqlapi.errors import ProblemError, SchemaChanged
from sqlapi.query import build_probe_query
from sqlapi.routes.health import PROBES
from sqlapi.schema import RestrictionError, Restrictions, hidden_from, restrict

log = logging.getLogger("sqlapi")


def problem_response(error: ProblemError) -> Response:
    response = routes.respond(error.body(), error.status, error.headers)
    response.content_type = "application/problem+json"
    return response


def restrictions(settings: Settings) -> Restrictions:
    return Restrictions(
        allow=settings.tables_allow,
        deny=settings.tables_deny,
        hidden={name: rules.hidden_columns for name, rules in settings.tables.items()},
        columns_allow={
            n: r.columns_allow for n, r in settings.tables.items() if r.columns_allow is not None
        },
    )


def expose(settings: Settings, *, strict: bool = True) -> routes.Exposure:
    """Read the file's schema and apply the configuration. Raises ConfigError for a
    configured name the file lacks (`strict`; otherwise such tables are withheld),
    OSError for a file that is gone, sqlite3.DatabaseError for one that is not SQLite."""
    full, version = readonly.read_schema(settings.database, settings.immutable)
    try:
        schema = restrict(full, restrictions(settings), strict=strict)
    except RestrictionError as error:
        raise ConfigError(str(error)) from error
    hidden = hidden_from(full, schema)
    authorizer = readonly.make_authorizer(*hidden)
    return routes.Exposure(
        schema=schema,
        version=version,
        authorizer=authorizer,
        sql_authorizer=readonly.make_authorizer(*hidden, hidden_read=sqlite3.SQLITE_DENY),
        query_columns=check_queries(settings, authorizer, strict),
    )


def expose_again(settings: Settings) -> routes.Exposure:
    """The file changed while served: expose what still fits the configuration, and say
    what no longer does."""
    try:
        return expose(settings)
    except ConfigError as error:
        log.warning("%s: the configuration no longer fits: %s", settings.database, error)
    return expose(settings, strict=False)


def check_queries(
    settings: Settings, authorizer: readonly.Authorizer, strict: bool = True
) -> dict[str, list[str]]:
    """Every configured query prepares, under the same rules as requests; its columns."""
    probes = {
        name: (build_probe_query(q.sql), tuple(q.params)) for name, q in settings.queries.items()
    }
    try:
        return readonly.probe_queries(
            settings.database, settings.immutable, authorizer, probes, strict
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error


def create_app(settings: Settings, exposure: routes.Exposure | None = None) -> Quart:
    """The app for one database; `exposure` when the caller already introspected."""
    exposure = exposure or expose(settings)
    app = Quart("sqlapi", static_folder=None)
    app.asgi_http_class = HTTPConnection
    app.json.sort_keys = False  # type: ignore[attr-defined]
    database = db.Database(
        settings.database,
        immutable=settings.immutable,
        pool_size=settings.pool_size,
        time_limit_ms=settings.time_limit_ms,
        max_streams=settings.max_exports,
        authorizer=exposure.authorizer,
        sql_authorizer=exposure.sql_authorizer,
        expected=exposure.version,
    )
    app.config["RESPONSE_TIMEOUT"] = None  # exports and event streams last as long as they need
    app.asgi_app = app.extensions["sqlapi.admission"] = Admission(  # type: ignore[method-assign]
        app.asgi_app, settings.max_active_requests, ungated=(*PROBES, "/metrics")
    )
    gateway = routes.install(app, settings, exposure, database)
    openapi.install(app, settings.database.name)

    async def refresh() -> readonly.FileVersion:
        """The file has a new schema or is another file: read it again, off the loop."""
        fresh = await asyncio.to_thread(expose_again, settings)
        await database.reopen(fresh.authorizer, fresh.sql_authorizer)
        gateway.exposure = fresh
        log.warning("%s: schema read anew: %d tables and views exposed",
                    settings.database, len(fresh.schema.tables))  # fmt: skip
        return fresh.version

    database.refresher = refresh
    if settings.cors_origins:
        cors(
            app,
            allow_origin=list(settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "If-None-Match", "Last-Event-ID", "Accept"],
            expose_headers=["ETag", "Link", "Content-Disposition"],
            max_age=600,
        )

    @app.before_serving
    async def open_database() -> None:
        await database.open()

    @app.after_serving
    async def close_database() -> None:
        await database.close()

    @app.errorhandler(ProblemError)
    async def on_problem(error: ProblemError) -> Response:
        return problem_response(error)

    @app.errorhandler(SchemaChanged)
    async def on_schema_changed(error: SchemaChanged) -> ResponseReturnValue:
        """A name from the schema vanished from the file: follow the file now, then answer
        this request once more against what it holds (a dropped table is then a 404)."""
        if g.get("replayed"):
            return problem_response(error)
        g.replayed = True
        await database.look()
        try:
            return await app.dispatch_request()
        except Exception as again:  # the replay's own answer: a problem, a 404...
            return await app.make_response(await app.handle_user_exception(again))

    @app.errorhandler(HTTPException)
    async def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        detail = error.description or ""
        if status == 404:
            detail = "No such endpoint. The API starts at /api."
        return problem_response(ProblemError(status, detail))

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem_response(
            ProblemError(500, "An unexpected error occurred; it has been logged.")
        )

    return app


def create_app_from_env() -> Quart:
    """For running under another ASGI server, e.g. `hypercorn 'sqlapi.app:create_app_from_env()'`
    with SQLAPI_SETTINGS holding the settings as JSON."""
    return create_app(Settings.from_env())
