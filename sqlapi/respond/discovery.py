"""What is exposed, as documents: the database (and what of it is not served), a summary
of every table a caller may read, one table in detail with its exact row count."""

from __future__ import annotations

from collections.abc import Iterable

from sqlapi.model.names import path_segment
from sqlapi.model.schema import Schema, Table
from sqlapi.request.types import RequestContext, RowsRequest
from sqlapi.respond import models
from sqlapi.respond.answers import Answer
from sqlapi.sql.rows import build_count_query
from sqlapi.store.database import Database

LINKS = {"self": "/api", "tables": "/api/tables", "health": "/healthz", "ready": "/readyz"}


def table_url(name: str) -> str:
    return "/api/tables/" + path_segment(name)


def database_index(name: str, schema: Schema, readable: Iterable[Table]) -> dict[str, object]:
    tables = list(readable)
    return {
        "database": {
            "name": name,
            "tables": [t.name for t in tables if t.kind == "table"],
            "views": [t.name for t in tables if t.kind == "view"],
            "sqlite_version": schema.sqlite_version,
        },
        "skipped": [{"name": s.name, "kind": s.kind, "reason": s.reason} for s in schema.skipped],
        "links": LINKS,
    }


def table_list(readable: Iterable[Table]) -> dict[str, object]:
    return {
        "tables": [
            models.table_summary(t, table_url(t.name), table_url(t.name) + "/rows")
            for t in readable
        ]
    }


async def table_detail(db: Database, table: Table, context: RequestContext) -> Answer:
    query = build_count_query(RowsRequest(table=table, select=table.columns, scope=context.scope))
    count = await db.count(query.sql, query.params)
    return Answer(models.table_detail(table, count, table_url(table.name) + "/rows"))
