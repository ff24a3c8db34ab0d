"""create_app(settings) -> App: wires the database, the services, the blueprints, the
problem handlers, the middleware and the serving lifespan. No logic."""

from __future__ import annotations

import asyncio
import logging

from quart import Quart

from sqlapi import openapi
from sqlapi.auth.jwks import JwksError
from sqlapi.config import Settings
from sqlapi.http import gate, problems, routes
from sqlapi.http.admission import Admission
from sqlapi.http.connection import install_connection
from sqlapi.http.middleware.compression import Compression
from sqlapi.http.middleware.slashes import EncodedSlashes
from sqlapi.http.middleware.stalls import SlowReaders
from sqlapi.http.routes import assets, health, metrics, pages
from sqlapi.openapi.extension import SqlapiSchema
from sqlapi.services import Services
from sqlapi.store.database import Database
from sqlapi.store.exposure import Exposure, expose, expose_again, sqlite_limits
from sqlapi.store.readonly import FileVersion

log = logging.getLogger("sqlapi")


class App(Quart):
    """The Quart app of one database, with what it serves."""

    services: Services
    admission: Admission
    documentation: SqlapiSchema


def open_database(settings: Settings, exposure: Exposure) -> Database:
    return Database(
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


def create_app(settings: Settings, exposure: Exposure | None = None) -> App:
    """The app for one database; `exposure` when the caller already introspected."""
    exposure = exposure or expose(settings)
    app = App("sqlapi", static_folder=None)
    install_connection(app)
    app.config["RESPONSE_TIMEOUT"] = None  # exports and event streams last as long as they need
    database = open_database(settings, exposure)
    services = app.services = Services.made(settings, exposure, database)
    admission = app.admission = Admission(settings.max_active_requests)
    app.register_blueprint(routes.api_blueprint(services, admission))
    app.register_blueprint(health.blueprint(services))
    app.register_blueprint(metrics.blueprint(admission))
    app.register_blueprint(assets.blueprint)
    app.register_blueprint(pages.blueprint(services))
    metrics.install(app)
    database.set_observer(metrics.observe_query)
    app.documentation = openapi.install(app, services)
    problems.install(app, lambda: _look_again(services))
    app.url_map.merge_slashes = False  # `/api//tables` is a 404, not a redirect (no HTML)
    served = Compression(EncodedSlashes(app.asgi_app))
    app.asgi_app = SlowReaders(served, settings.stall_timeout_s)  # type: ignore[method-assign]
    _follow_the_file(app, services)
    return app


async def _look_again(services: Services) -> None:
    """A request met a name the file no longer has: follow the file now, and answer it
    against what the file holds."""
    await services.db.look()
    gate.authorize_again(services)


def _follow_the_file(app: App, services: Services) -> None:
    """Open the database before serving and close it after; when the file gets a new
    schema (or is another file), read it again and serve what it now holds."""
    settings, database = services.settings, services.db

    async def refresh() -> FileVersion:
        fresh = await asyncio.to_thread(expose_again, settings)  # off the loop
        await database.reopen(fresh.authorizer)
        services.exposure = fresh
        log.warning("%s: schema read anew: %d tables and views exposed",
                    settings.database, len(fresh.schema.tables))  # fmt: skip
        return fresh.read_from

    database.refresher = refresh

    @app.before_serving
    async def start() -> None:
        await database.open()
        try:
            await services.authenticator.start()
        except JwksError as error:  # served on: keys are fetched again for the next token
            log.error("%s; tokens are refused until the keys can be fetched", error)

    @app.after_serving
    async def stop() -> None:
        await database.close()


def create_app_from_env() -> App:
    """For running under another ASGI server, e.g. `hypercorn 'sqlapi.app:create_app_from_env()'`
    with SQLAPI_SETTINGS holding the settings as JSON."""
    return create_app(Settings.from_env())
