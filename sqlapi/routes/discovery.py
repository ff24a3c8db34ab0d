"""What is exposed: the database, its tables and views, one table in detail."""

from __future__ import annotations

from urllib.parse import quote

from quart import Blueprint, Response, redirect

from sqlapi.keys import tilde_encode
from sqlapi.query import RowsRequest, build_count_query
from sqlapi.routes import gateway, respond

blueprint = Blueprint("discovery", __name__)


def table_url(name: str) -> str:
    """A table's URL; "/" cannot travel in a path segment, so such names are tilde-encoded."""
    return "/api/tables/" + quote(tilde_encode(name) if "/" in name else name, safe="")


@blueprint.get("/")
async def root() -> Response:
    return redirect("/api")  # type: ignore[return-value]


@blueprint.get("/api")
async def database() -> Response:
    g = gateway()
    tables = g.schema.tables
    return respond(
        {
            "database": {
                "name": g.settings.database.name,
                "tables": [t.name for t in tables if t.kind == "table"],
                "views": [t.name for t in tables if t.kind == "view"],
                "sqlite_version": g.schema.sqlite_version,
            },
            "links": {
                "self": "/api",
                "tables": "/api/tables",
                "health": "/healthz",
                "ready": "/readyz",
            },
        }
    )


@blueprint.get("/api/tables")
async def tables() -> Response:
    listed = []
    for table in gateway().schema.tables:
        summary = table.summary()
        summary["url"] = table_url(table.name)
        summary["rows_url"] = table_url(table.name) + "/rows"
        listed.append(summary)
    return respond({"tables": listed})


@blueprint.get("/api/tables/<table_name>")
async def table(table_name: str) -> Response:
    g = gateway()
    found = g.table(table_name)
    query = build_count_query(RowsRequest(table=found, select=found.columns))
    detail = found.describe()
    detail["count"] = await g.db.count(query.sql, query.params)
    detail["rows_url"] = table_url(found.name) + "/rows"
    return respond(detail)
