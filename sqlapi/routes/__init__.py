"""HTTP endpoints, one module per group; handlers parse -> build -> fetch -> respond."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import cast

from quart import Quart, Response, current_app

from sqlapi.config import Settings
from sqlapi.db import Database
from sqlapi.encoding import dumps
from sqlapi.errors import not_found
from sqlapi.keys import tilde_decode
from sqlapi.params import Limits
from sqlapi.schema import Schema, Table

_EXTENSION = "sqlapi"


@dataclass
class Subscribers:
    """Open event streams, bounded."""

    limit: int
    open: int = 0


@dataclass(frozen=True)
class Gateway:
    """What every handler needs: the settings, the frozen schema and the database."""

    settings: Settings
    schema: Schema
    db: Database
    limits: Limits
    subscribers: Subscribers

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
        return table


def gateway() -> Gateway:
    return cast(Gateway, current_app.extensions[_EXTENSION])


def respond(
    document: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(document), status, dict(headers or {}), content_type="application/json")


def install(app: Quart, settings: Settings, schema: Schema, db: Database) -> None:
    from sqlapi.routes import assets, caching, columns, discovery, events, health, pages, rows

    limits = Limits(default_limit=settings.default_limit, max_limit=settings.max_limit)
    subscribers = Subscribers(settings.max_event_streams)
    app.extensions[_EXTENSION] = Gateway(settings, schema, db, limits, subscribers)
    for module in (discovery, rows, columns, events, health, assets, pages):
        app.register_blueprint(module.blueprint)
    caching.install(app, settings.immutable)
