"""One column: its distinct values with counts, and the values themselves (/api/data)."""

from __future__ import annotations

import dataclasses

from quart import Blueprint, Response, request
from quart_schema import document_querystring, document_response

from sqlapi import models
from sqlapi.encoding import value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.keys import encode_cursor
from sqlapi.params import DATA, VALUES, find_column, parse_rows
from sqlapi.query import build_values_query, split_page, values_scope
from sqlapi.routes import gateway, respond
from sqlapi.routes.rows import fetch_page, next_links
from sqlapi.schema import Table

blueprint = Blueprint("columns", __name__)


@blueprint.get("/api/tables/<table_name>/columns/<column_name>")
async def column_values(table_name: str, column_name: str) -> Response:
    """Distinct values, most frequent first; the rows filters narrow what is counted."""
    g = gateway()
    table = g.table(table_name)
    column = find_column(table, column_name, "column")
    scope = values_scope(table, column)
    rows_request, options = parse_rows(
        table, request.args.items(multi=True), g.limits, accept=VALUES, scope=scope
    )
    query = build_values_query(rows_request, column)
    fetched = await g.db.fetch_scan(query.sql, query.params)
    page, cursor = split_page(query, rows_request, fetched)
    convert = value_converter([column], options.ints_as_strings)
    values = [{"value": (convert((v,))[0] if convert else v), "count": n} for v, n in page]
    token = encode_cursor(cursor, scope[0]) if cursor else None
    url, headers = next_links(token)
    document = {"table": table.name, "column": column.name, "values": values, "next": token}
    return respond({**document, "next_url": url}, headers=headers)


def table_for_column(name: str, chosen: str | None) -> Table:
    """The one exposed table with this column (plain tables, then full-text tables, then
    views: the first group that has it); `_table` picks."""
    g = gateway()
    if chosen is not None:
        table = g.table(chosen)
        find_column(table, name, "column")
        return table
    having = [t for t in g.schema.tables_with_column(name) if g.in_scope(t)]
    plain = [t for t in having if t.kind == "table" and (t.fts is None or t.fts.key is not None)]
    full_text = [t for t in having if t.kind == "table" and t not in plain]
    candidates = plain or full_text or having
    if not candidates:
        raise not_found(f"No exposed table has a column named {name!r}", kind="unknown-column")
    if len(candidates) > 1:
        raise bad_request(
            f"Several tables have a column named {name!r}; choose one with _table",
            kind="ambiguous-column",
            allowed=[t.name for t in candidates],
        )
    return candidates[0]


@blueprint.get("/api/data/<column_name>")
@document_querystring(models.DataQuery)
@document_response(models.ColumnData)
async def data(column_name: str) -> Response:
    """The values of one column

    From the one exposed table that has the column (plain tables before full-text
    tables before views); `_table` chooses when several do. Column filters of that
    table apply too (see its rows path)."""
    g = gateway()
    args = request.args.items(multi=True)
    table = table_for_column(column_name, request.args.get("_table"))
    column = find_column(table, column_name, "column")
    rows_request, options = parse_rows(table, args, g.limits, accept=DATA)
    rows_request = dataclasses.replace(rows_request, select=(column,))
    document, headers = await fetch_page(rows_request, dataclasses.replace(options, shape="arrays"))
    rows = document.pop("rows")
    assert isinstance(rows, list)
    document.pop("columns", None)
    return respond(
        {"table": table.name, "column": column.name, "values": [r[0] for r in rows], **document},
        headers=headers,
    )
