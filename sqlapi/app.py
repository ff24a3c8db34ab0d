"""create_app(settings) -> Quart: wires routes, errors and the serving lifespan. No logic."""

from __future__ import annotations

import logging
import sqlite3

from quart import Quart, Response
from quart_cors import cors
from werkzeug.exceptions import HTTPException

from sqlapi import db, openapi, routes
from sqlapi.config import ConfigError, Settings
from sqlapi.errors import ProblemError
from sqlapi.query import build_probe_query
from sqlapi.schema import RestrictionError, Restrictions, Schema, hidden_from, restrict

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


def exposed_schema(settings: Settings) -> tuple[Schema, Schema]:
    """(the whole schema, the schema as configured). Raises ConfigError for a configured
    table or column the file does not have, sqlite3.DatabaseError if it is not SQLite."""
    full = db.load_schema(settings.database, settings.immutable)
    try:
        return full, restrict(full, restrictions(settings))
    except RestrictionError as error:
        raise ConfigError(str(error)) from error


def check_queries(settings: Settings, authorizer: db.Authorizer) -> dict[str, list[str]]:
    """Every configured query prepares, under the same rules as requests; its columns."""
    probes = {
        name: (build_probe_query(q.sql), tuple(q.params)) for name, q in settings.queries.items()
    }
    try:
        return db.probe_queries(settings.database, settings.immutable, authorizer, probes)
    except ValueError as error:
        raise ConfigError(str(error)) from error


def create_app(settings: Settings, schemas: tuple[Schema, Schema] | None = None) -> Quart:
    """The app for one database; `schemas` when the caller already introspected."""
    full, schema = schemas or exposed_schema(settings)
    hidden = hidden_from(full, schema)
    query_columns = check_queries(settings, db.make_authorizer(*hidden))
    app = Quart("sqlapi", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    database = db.Database(
        settings.database,
        immutable=settings.immutable,
        pool_size=settings.pool_size,
        time_limit_ms=settings.time_limit_ms,
        max_streams=settings.max_exports,
        authorizer=db.make_authorizer(*hidden),
        sql_authorizer=db.make_authorizer(*hidden, hidden_read=sqlite3.SQLITE_DENY),
    )
    app.config["RESPONSE_TIMEOUT"] = None  # exports and event streams last as long as they need
    routes.install(app, settings, schema, database)
    app.extensions["sqlapi.query_columns"] = query_columns
    openapi.install(app, settings.database.name)
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
