"""What is exposed: the database, its tables and views, one table in detail."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response

from sqlapi import models
from sqlapi.keys import path_segment
from sqlapi.query import RowsRequest, build_count_query
from sqlapi.routes import gateway, respond

blueprint = Blueprint("discovery", __name__)


def table_url(name: str) -> str:
    return "/api/tables/" + path_segment(name)


@blueprint.get("/api")
@document_response(models.ApiIndex)
async def database() -> Response:
    g = gateway()
    tables = g.tables
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
@document_response(models.TableList)
async def tables() -> Response:
    listed = []
    for table in gateway().tables:
        summary = table.summary()
        summary["url"] = table_url(table.name)
        summary["rows_url"] = table_url(table.name) + "/rows"
        listed.append(summary)
    return respond({"tables": listed})


@blueprint.get("/api/tables/<table_name>")
@document_response(models.TableDetail)
async def table(table_name: str) -> Response:
    """One table or view in detail

    Columns, keys, indexes, full-text index and the exact row count."""
    g = gateway()
    found = g.table(table_name)
    query = build_count_query(RowsRequest(table=found, select=found.columns))
    detail = found.describe()
    detail["count"] = await g.db.count(query.sql, query.params)
    detail["rows_url"] = table_url(found.name) + "/rows"
    return respond(detail)
