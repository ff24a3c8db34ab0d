"""One column: its distinct values with counts, and the values themselves (/api/data)."""

from __future__ import annotations

import dataclasses

from quart import Blueprint, Response, request

from sqlapi.encoding import value_converter
from sqlapi.gateway import Gateway
from sqlapi.keys import encode_cursor
from sqlapi.params import DATA, VALUES, find_column, parse_rows
from sqlapi.query import build_values_query, split_page, values_scope
from sqlapi.routes import caller, documented_apart, next_links, respond
from sqlapi.routes.rows import fetch_page


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("columns", __name__)

    @routes.get("/tables/<table_name>/columns/<column_name>")
    @documented_apart
    async def column_values(table_name: str, column_name: str) -> Response:
        """Distinct values, most frequent first; the rows filters narrow what is counted."""
        table = gateway.table(table_name, caller())
        column = find_column(table, column_name, "column")
        scope = values_scope(table, column)
        rows_request, options = parse_rows(
            table,
            request.args.items(multi=True),
            gateway.context(caller()),
            accept=VALUES,
            scope=scope,
        )
        query = build_values_query(rows_request, column)
        fetched = await gateway.db.fetch_scan(query.sql, query.params)
        page, cursor = split_page(query, rows_request, fetched)
        convert = value_converter([column], options.ints_as_strings)
        values = [{"value": (convert((v,))[0] if convert else v), "count": n} for v, n in page]
        token = encode_cursor(cursor, scope[0]) if cursor else None
        url, headers = next_links(token)
        document = {"table": table.name, "column": column.name, "values": values, "next": token}
        return respond({**document, "next_url": url}, headers=headers)

    @routes.get("/data/<column_name>")
    @documented_apart
    async def data(column_name: str) -> Response:
        """The values of one column

        From the one exposed table that has the column (plain tables before full-text
        tables before views); `_table` chooses when several do. Column filters of that
        table apply too (see its rows path)."""
        args = request.args.items(multi=True)
        table = gateway.table_for_column(column_name, request.args.get("_table"), caller())
        column = find_column(table, column_name, "column")
        rows_request, options = parse_rows(table, args, gateway.context(caller()), accept=DATA)
        rows_request = dataclasses.replace(rows_request, select=(column,))
        document, headers = await fetch_page(
            gateway.db, rows_request, dataclasses.replace(options, shape="arrays")
        )
        rows = document.pop("rows")
        assert isinstance(rows, list)
        document.pop("columns", None)
        return respond(
            {
                "table": table.name,
                "column": column.name,
                "values": [r[0] for r in rows],
                **document,
            },
            headers=headers,
        )

    return routes
