"""Rows of a table or view: filters, sort, select, keyset pages; and one row by key."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from quart import Blueprint, Response, request

from sqlapi.encoding import shape_rows, value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.keys import Cursor, encode_cursor
from sqlapi.params import ONE_ROW, Options, parse_row_key, parse_rows
from sqlapi.query import (
    RowsRequest,
    build_count_query,
    build_row_query,
    build_rows_query,
    cursor_scope,
    split_page,
)
from sqlapi.routes import gateway, respond

blueprint = Blueprint("rows", __name__)


def next_links(cursor: str | None) -> tuple[str | None, dict[str, str]]:
    """This request's URL with `_after` set to the next cursor (and no `_offset`), and
    the `Link: rel="next"` header that mirrors it; nothing on the last page."""
    if cursor is None:
        return None, {}
    pairs = [(k, v) for k, v in request.args.items(multi=True) if k not in ("_after", "_offset")]
    pairs.append(("_after", cursor))
    url = quote(request.path) + "?" + urlencode(pairs)
    return url, {"Link": f'<{url}>; rel="next"'}


async def fetch_page(
    rows_request: RowsRequest, options: Options
) -> tuple[dict[str, object], dict[str, str]]:
    """Run a rows request; the document (rows/next/next_url/count) and its headers."""
    g = gateway()
    query = build_rows_query(rows_request)
    fetched = await g.db.fetch_all(query.sql, query.params)
    page, cursor = split_page(query, rows_request, fetched)
    columns = rows_request.select
    convert = value_converter(columns, options.ints_as_strings)
    width = query.width
    trimmed = [r[:width] for r in page] if page and len(page[0]) > width else page
    document: dict[str, object] = {}
    if options.shape == "arrays":
        document["columns"] = [c.name for c in columns]
    document["rows"] = shape_rows([c.name for c in columns], trimmed, options.shape, convert)
    document["next"] = token = encode_page_cursor(rows_request, cursor)
    document["next_url"], headers = next_links(token)
    if options.count:
        count = build_count_query(rows_request)
        document["count"] = await g.db.count(count.sql, count.params)
    return document, headers


def encode_page_cursor(rows_request: RowsRequest, cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    return encode_cursor(cursor, cursor_scope(rows_request.table, rows_request.sort))


@blueprint.get("/api/tables/<table_name>/rows")
async def rows(table_name: str) -> Response:
    g = gateway()
    table = g.table(table_name)
    rows_request, options = parse_rows(table, request.args.items(multi=True), g.limits)
    if options.format in ("ndjson", "csv"):
        raise bad_request(f"_format={options.format} is not available yet")
    document, headers = await fetch_page(rows_request, options)
    return respond(document, headers=headers)


@blueprint.get("/api/tables/<table_name>/rows/<path:key>")
async def row(table_name: str, key: str) -> Response:
    g = gateway()
    table = g.table(table_name)
    if not table.key_columns:
        raise not_found(
            f"{table.kind} {table.name!r} has no primary key or rowid, so it has no rows by key"
        )
    query = build_row_query(table, parse_row_key(table, key))
    found = await g.db.fetch_one(query.sql, query.params)
    if found is None:
        raise not_found(f"{table.name!r} has no row with key {key!r}", kind="unknown-row")
    _, options = parse_rows(
        table, request.args.items(multi=True), g.limits, accept=ONE_ROW, filters_allowed=False
    )
    convert = value_converter(table.columns, options.ints_as_strings)
    (shaped,) = shape_rows(table.column_names, [found], "objects", convert)
    return respond({"row": shaped})
