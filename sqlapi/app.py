"""create_app(settings) -> Quart: wires routes, errors and the serving lifespan. No logic."""

from __future__ import annotations

import logging

from quart import Quart, Response
from quart_cors import cors
from werkzeug.exceptions import HTTPException

from sqlapi import db, openapi, routes
from sqlapi.config import Settings
from sqlapi.errors import ProblemError
from sqlapi.schema import Schema

log = logging.getLogger("sqlapi")


def problem_response(error: ProblemError) -> Response:
    response = routes.respond(error.body(), error.status)
    response.content_type = "application/problem+json"
    return response


def create_app(settings: Settings, schema: Schema | None = None) -> Quart:
    """The app for one database. `schema` may be passed when the caller already introspected."""
    if schema is None:
        schema = db.load_schema(settings.database, settings.immutable)
    app = Quart("sqlapi", static_folder=None)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    database = db.Database(
        settings.database,
        immutable=settings.immutable,
        pool_size=settings.pool_size,
        time_limit_ms=settings.time_limit_ms,
        max_streams=settings.max_exports,
    )
    app.config["RESPONSE_TIMEOUT"] = None  # exports and event streams last as long as they need
    routes.install(app, settings, schema, database)
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
    """For hypercorn worker processes: settings travel in the environment."""
    return create_app(Settings.from_env())
