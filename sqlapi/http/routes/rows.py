"""Rows of a table or view: filters, sort, select, keyset pages, exports; one row by key."""

from __future__ import annotations

from quart import Blueprint, Response

from sqlapi.http.marks import documented_apart
from sqlapi.http.responses import access, answered, arguments, here, negotiate, requested_table
from sqlapi.model.errors import not_found
from sqlapi.request.reserved import ONE_ROW
from sqlapi.request.rows import parse_row_key, parse_rows
from sqlapi.request.types import Options, RowsRequest
from sqlapi.respond.pages import one_row, rows_export, rows_page
from sqlapi.services import Services


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("rows", __name__)

    @routes.get("/tables/<table_name>/rows")
    @documented_apart
    async def rows(table_name: str) -> Response:
        fmt = negotiate()
        asked, options = parse_rows(
            requested_table(), arguments(), access().context(), answer=fmt.name
        )
        if fmt.streams:
            return answered(await rows_export(services.db, asked, options, fmt))
        return answered(await rows_page(services.db, asked, options, here()))

    @routes.get("/tables/<table_name>/rows/<path:key>")
    @documented_apart
    async def row(table_name: str, key: str) -> Response:
        table, context = requested_table(), access().context()
        if not table.key_columns:
            raise not_found(
                f"{table.kind} {table.name!r} has no primary key or rowid, so it has no rows by key"
            )
        values = parse_row_key(table, key)
        asked, options = RowsRequest(table, table.columns, context.scope), Options()
        if args := arguments():  # most ask for the row as it is: nothing to parse
            asked, options = parse_rows(table, args, context, accept=ONE_ROW, filters_allowed=False)
        return answered(await one_row(services.db, asked, values, key, options, context.scope))

    return routes
