"""What is exposed: the database, its tables and views, one table in detail."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response

from sqlapi import models
from sqlapi.gateway import Gateway
from sqlapi.keys import path_segment
from sqlapi.query import RowsRequest, build_count_query
from sqlapi.routes import caller, respond


def table_url(name: str) -> str:
    return "/api/tables/" + path_segment(name)


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("discovery", __name__)

    @routes.get("")
    @document_response(models.ApiIndex)
    async def database() -> Response:
        tables = gateway.tables(caller())
        return respond(
            {
                "database": {
                    "name": gateway.settings.database.name,
                    "tables": [t.name for t in tables if t.kind == "table"],
                    "views": [t.name for t in tables if t.kind == "view"],
                    "sqlite_version": gateway.schema.sqlite_version,
                },
                "skipped": [
                    {"name": s.name, "kind": s.kind, "reason": s.reason}
                    for s in gateway.schema.skipped
                ],
                "links": {
                    "self": "/api",
                    "tables": "/api/tables",
                    "health": "/healthz",
                    "ready": "/readyz",
                },
            }
        )

    @routes.get("/tables")
    @document_response(models.TableList)
    async def tables() -> Response:
        listed = [
            models.table_summary(t, table_url(t.name), table_url(t.name) + "/rows")
            for t in gateway.tables(caller())
        ]
        return respond({"tables": listed})

    @routes.get("/tables/<table_name>")
    @document_response(models.TableDetail)
    async def table(table_name: str) -> Response:
        """One table or view in detail

        Columns, keys, indexes, full-text index and the exact row count."""
        who = caller()
        found = gateway.table(table_name, who)
        query = build_count_query(
            RowsRequest(table=found, select=found.columns, scope=gateway.context(who).scope)
        )
        count = await gateway.db.count(query.sql, query.params)
        return respond(models.table_detail(found, count, table_url(found.name) + "/rows"))

    return routes
