"""create_app(settings) -> App: wires the gateway, blueprints, errors and the serving
lifespan. No logic."""

from __future__ import annotations

import asyncio
import logging

from quart import Quart, Response, g
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from sqlapi import db, openapi, routes
from sqlapi.admission import Admission
from sqlapi.auth.authenticator import Authenticator
from sqlapi.auth.jwks import JwksError
from sqlapi.compression import Compression
from sqlapi.config import Settings
from sqlapi.connection import install_connection
from sqlapi.errors import ProblemError, SchemaChanged
from sqlapi.exposure import Exposure, expose, expose_again, sqlite_limits
from sqlapi.gateway import Gateway, Subscribers
from sqlapi.openapi.extension import SqlapiSchema
from sqlapi.params import RequestLimits
from sqlapi.readonly import FileVersion
from sqlapi.routes import assets, health, metrics, pages
from sqlapi.slashes import EncodedSlashes
from sqlapi.stalls import SlowReaders

log = logging.getLogger("sqlapi")


class App(Quart):
    """The Quart app of one database, with what it serves."""

    gateway: Gateway
    documentation: SqlapiSchema


def problem_response(error: ProblemError) -> Response:
    response = routes.respond(error.body(), error.status, error.headers)
    response.content_type = "application/problem+json"
    return response


def create_app(settings: Settings, exposure: Exposure | None = None) -> App:
    """The app for one database; `exposure` when the caller already introspected."""
    exposure = exposure or expose(settings)
    app = App("sqlapi", static_folder=None)
    install_connection(app)
    database = db.Database(
        settings.database,
        immutable=settings.immutable,
        pool_size=settings.pool_size,
        time_limit_ms=settings.time_limit_ms,
        max_streams=settings.max_exports,
        max_response_bytes=settings.max_response_bytes,
        limits=sqlite_limits(settings),
        authorizer=exposure.authorizer,
        exposed_from=exposure.read_from,
    )
    app.config["RESPONSE_TIMEOUT"] = None  # exports and event streams last as long as they need
    gateway = app.gateway = Gateway(
        settings,
        exposure,
        database,
        RequestLimits(
            default_limit=settings.default_limit,
            max_limit=settings.max_limit,
            max_pattern_length=settings.max_pattern_length,
        ),
        Subscribers(settings.max_event_streams),
        Admission(settings.max_active_requests),
        Authenticator(settings),
    )
    app.register_blueprint(routes.api_blueprint(gateway))
    app.register_blueprint(health.blueprint(gateway))
    app.register_blueprint(metrics.blueprint(gateway.admission))
    app.register_blueprint(assets.blueprint)
    app.register_blueprint(pages.blueprint(gateway))
    metrics.install(app)
    database.set_observer(metrics.observe_query)
    app.documentation = openapi.install(app, gateway)
    app.url_map.merge_slashes = False  # `/api//tables` is a 404, not a redirect (no HTML)
    served = Compression(EncodedSlashes(app.asgi_app))
    app.asgi_app = SlowReaders(served, settings.stall_timeout_s)  # type: ignore[method-assign]

    async def refresh() -> FileVersion:
        """The file has a new schema or is another file: read it again, off the loop."""
        fresh = await asyncio.to_thread(expose_again, settings)
        await database.reopen(fresh.authorizer)
        gateway.exposure = fresh
        log.warning("%s: schema read anew: %d tables and views exposed",
                    settings.database, len(fresh.schema.tables))  # fmt: skip
        return fresh.read_from

    database.refresher = refresh

    @app.before_serving
    async def open_database() -> None:
        await database.open()
        try:
            await gateway.authenticator.start()
        except JwksError as error:  # served on: keys are fetched again for the next token
            log.error("%s; tokens are refused until the keys can be fetched", error)

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
        problem = ProblemError(status, detail)
        if status == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                problem.headers["Allow"] = ", ".join(sorted(allowed))
        return problem_response(problem)

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem_response(
            ProblemError(500, "An unexpected error occurred; it has been logged.")
        )

    return app


def create_app_from_env() -> App:
    """For running under another ASGI server, e.g. `hypercorn 'sqlapi.app:create_app_from_env()'`
    with SQLAPI_SETTINGS holding the settings as JSON."""
    return create_app(Settings.from_env())
