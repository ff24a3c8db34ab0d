"""HTTP endpoints, one module per group; handlers parse -> build -> fetch -> respond."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from quart import Quart, Response, current_app, g
from werkzeug.datastructures import Headers

from sqlapi.config import Settings
from sqlapi.db import Database
from sqlapi.encoding import dumps
from sqlapi.errors import ProblemError, not_found
from sqlapi.keys import tilde_decode
from sqlapi.params import Limits
from sqlapi.readonly import Authorizer, FileVersion
from sqlapi.schema import Schema, Table, fold

_EXTENSION = "sqlapi"


@dataclass
class Subscribers:
    """Open event streams, bounded; `closing` ends them when the server shuts down."""

    limit: int
    open: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True)
class Exposure:
    """What the file and the configuration expose: the schema as configured, the SQLite
    authorizers that enforce it, the named queries' columns, and which file and schema
    version it was read from. Replaced whole when the file's schema or identity changes."""

    schema: Schema
    version: FileVersion
    authorizer: Authorizer
    sql_authorizer: Authorizer
    query_columns: Mapping[str, list[str]]


@dataclass
class Gateway:
    """What every handler needs: the settings, what is exposed, and the database."""

    settings: Settings
    exposure: Exposure
    db: Database
    limits: Limits
    subscribers: Subscribers

    @property
    def schema(self) -> Schema:
        return self.exposure.schema

    def table(self, name: str) -> Table:
        table = self.schema.table(name)
        if table is None and "~" in name:  # a name with "/" travels tilde-encoded: a~2Fb
            with contextlib.suppress(ValueError):
                table = self.schema.table(tilde_decode(name))
        if table is None:
            raise not_found(
                f"No table or view named {name!r} is exposed. GET /api/tables lists them.",
                kind="unknown-table",
            )
        if not self.in_scope(table):
            raise ProblemError(403, f"This key may not read {table.name!r}.", kind="forbidden")
        return table

    def in_scope(self, table: Table) -> bool:
        scope = key_scope()
        return scope is None or fold(table.name) in scope

    @property
    def tables(self) -> tuple[Table, ...]:
        """The tables this request may see."""
        return tuple(t for t in self.schema.tables if self.in_scope(t))

    def require_unscoped(self, what: str) -> None:
        if key_scope() is not None:
            raise ProblemError(
                403, f"{what} needs a key that is not limited to some tables.", kind="forbidden"
            )


def key_scope() -> frozenset[str] | None:
    """The tables the request's API key may read (folded), or None for all."""
    key = getattr(g, "api_key", None)
    if key is None or key.tables is None:
        return None
    return frozenset(fold(name) for name in key.tables)


def gateway() -> Gateway:
    return cast(Gateway, current_app.extensions[_EXTENSION])


def header(headers: Headers, name: str) -> str:
    """A header's values joined, "" when absent. werkzeug's `get` and `in` raise and catch
    an exception for every header that is absent, which is most of them on most requests."""
    return ", ".join(headers.getlist(name))


def respond(
    document: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(document), status, dict(headers or {}), content_type="application/json")


def install(app: Quart, settings: Settings, exposure: Exposure, db: Database) -> Gateway:
    from sqlapi.routes import (
        assets,
        auth,
        caching,
        columns,
        discovery,
        events,
        health,
        metrics,
        pages,
        queries,
        rows,
        sql,
    )  # fmt: skip

    limits = Limits(default_limit=settings.default_limit, max_limit=settings.max_limit)
    subscribers = Subscribers(settings.max_event_streams)
    app.extensions[_EXTENSION] = found = Gateway(settings, exposure, db, limits, subscribers)
    modules = (discovery, rows, columns, events, queries, sql, health, metrics, assets, pages)
    for module in modules:
        app.register_blueprint(module.blueprint)
    metrics.install(app)
    db.observe = metrics.observe_query
    health.install(app)  # first: no answer, not even a 304, from a file that is gone
    auth.install(app, settings)  # before caching: a 304 is an answer too
    caching.install(app, settings.immutable)
    return found
