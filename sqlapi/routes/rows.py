"""Rows of a table or view: filters, sort, select, keyset pages; and one row by key."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import quote

from quart import Blueprint, Response, request

from sqlapi.db import Database
from sqlapi.encoding import csv_lines, ndjson_lines, ndjson_values, shape_rows, value_converter
from sqlapi.errors import not_found
from sqlapi.gateway import Gateway
from sqlapi.keys import Cursor, Row, encode_cursor
from sqlapi.params import ONE_ROW, Options, parse_row_key, parse_rows
from sqlapi.query import (
    RowsRequest,
    build_count_query,
    build_row_query,
    build_rows_query,
    cursor_scope,
    split_page,
)
from sqlapi.routes import caller, documented_apart, header, next_links, respond
from sqlapi.routes.related import Members, attach, member_names, related_members


async def fetch_page(
    db: Database, rows_request: RowsRequest, options: Options
) -> tuple[dict[str, object], dict[str, str]]:
    """Run a rows request; the document (rows/next/next_url/count) and its headers."""
    query = build_rows_query(rows_request)
    fetched = await db.fetch_all(query.sql, query.params, inline=query.inline)
    page, cursor = split_page(query, rows_request, fetched)
    columns = rows_request.select
    convert = value_converter(columns, options.ints_as_strings, options.json_columns)
    width = query.width
    trimmed = [r[:width] for r in page] if page and len(page[0]) > width else page
    document: dict[str, object] = {}
    names = [c.name for c in columns]
    shaped = shape_rows(names, trimmed, options.shape, convert)
    if rows_request.expand or rows_request.embed:
        members = await related_members(db, rows_request, query.keys(page), options.ints_as_strings)
        attach(shaped, members)
        names += member_names(rows_request)
    if options.shape == "arrays":
        document["columns"] = names
    document["rows"] = shaped
    document["next"] = token = encode_page_cursor(rows_request, cursor)
    document["next_url"], headers = next_links(token)
    if options.count:
        count = build_count_query(rows_request)
        document["count"] = await db.count(count.sql, count.params)
    return document, headers


def encode_page_cursor(rows_request: RowsRequest, cursor: Cursor | None) -> str | None:
    if cursor is None:
        return None
    return encode_cursor(cursor, cursor_scope(rows_request.table, rows_request.sort))


HEAVY_BATCH = 1024 * 1024  # bytes of an encoded batch: later ones are encoded in a thread
MEDIA_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8; header=present",
}


def negotiate() -> str:
    """`_format` wins; otherwise the client's Accept header (JSON unless it prefers another)."""
    chosen = request.args.get("_format")
    if chosen in MEDIA_TYPES:
        return chosen
    accept = header(request.headers, "Accept")
    if "csv" not in accept and "ndjson" not in accept:
        return "json"  # no other format named: no need to weigh the header
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/x-ndjson", "application/ndjson", "text/csv"],
        default="application/json",
    )
    return {"text/csv": "csv", "application/json": "json"}.get(best or "", "ndjson")


async def export(db: Database, rows_request: RowsRequest, options: Options, fmt: str) -> Response:
    """Every matching row (or `_limit` of them), streamed in batches in constant memory.
    The first batch, and its related rows, are read before the 200 is sent: a query that
    fails at once (the time limit, pages that cannot be read) is a problem response, not
    a cut body."""
    query = build_rows_query(dataclasses.replace(rows_request, limit=None))
    names = [c.name for c in rows_request.select]
    # a CSV cell holds a JSON column's text as stored: that text is the JSON
    parsed = options.json_columns if fmt != "csv" else ()
    convert = value_converter(rows_request.select, options.ints_as_strings, parsed)
    related = bool(rows_request.expand or rows_request.embed)
    batches = db.stream(query.sql, query.params)
    remaining = rows_request.limit if options.limit_given else None

    async def members_of(batch: list[Row]) -> Members | None:
        if not related:
            return None
        keys = query.keys(batch)
        return await related_members(db, rows_request, keys, options.ints_as_strings)

    try:
        first: list[Row] = (await anext(batches, []))[:remaining]
        first_members = await members_of(first) if first else None
    except BaseException:
        await batches.aclose()
        raise

    def encode(rows: list[Row], members: Members | None) -> bytes:
        if fmt == "csv":
            return csv_lines(rows, convert, rows_request.select)
        if members is None:
            return ndjson_lines(None if options.shape == "arrays" else names, rows, convert)
        shaped = shape_rows(names, rows, options.shape, convert)
        attach(shaped, members)
        return ndjson_values(shaped)

    async def body() -> AsyncIterator[bytes]:
        nonlocal remaining
        batch, members, heavy = first, first_members, False
        try:
            if fmt == "csv":
                yield csv_lines([names], None)
            while batch:  # each cut to what `_limit` leaves
                if remaining is not None:
                    remaining -= len(batch)
                rows = [r[: query.width] for r in batch] if len(batch[0]) > query.width else batch
                # Batches of megabytes (huge values) are encoded off the event loop.
                if heavy:
                    chunk = await asyncio.to_thread(encode, rows, members)
                else:
                    chunk = encode(rows, members)
                heavy = len(chunk) > HEAVY_BATCH
                yield chunk
                if remaining == 0:
                    return
                batch = (await anext(batches, []))[:remaining]
                members = await members_of(batch) if batch else None
        finally:
            await batches.aclose()

    headers = {}
    if fmt == "csv":
        filename = rows_request.table.name
        headers["Content-Disposition"] = (
            f'attachment; filename="{ascii_filename(filename)}.csv"; '
            f"filename*=UTF-8''{quote(filename, safe='')}.csv"
        )
    return Response(body(), content_type=MEDIA_TYPES[fmt], headers=headers)


def ascii_filename(name: str) -> str:
    return (
        "".join(c if c.isascii() and (c.isalnum() or c in "-_. ") else "_" for c in name) or "rows"
    )


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("rows", __name__)

    @routes.get("/tables/<table_name>/rows")
    @documented_apart
    async def rows(table_name: str) -> Response:
        table = gateway.table(table_name, caller())
        fmt = negotiate()
        rows_request, options = parse_rows(
            table,
            request.args.items(multi=True),
            gateway.context(caller()),
            answer=fmt,
        )
        if fmt != "json":
            return await export(gateway.db, rows_request, options, fmt)
        document, headers = await fetch_page(gateway.db, rows_request, options)
        return respond(document, headers=headers)

    @routes.get("/tables/<table_name>/rows/<path:key>")
    @documented_apart
    async def row(table_name: str, key: str) -> Response:
        table = gateway.table(table_name, caller())
        if not table.key_columns:
            raise not_found(
                f"{table.kind} {table.name!r} has no primary key or rowid, so it has no rows by key"
            )
        values = parse_row_key(table, key)
        asked, options = None, Options()
        context = gateway.context(caller())
        if request.query_string:  # most ask for the row as it is: nothing to parse
            asked, options = parse_rows(
                table,
                request.args.items(multi=True),
                context,
                accept=ONE_ROW,
                filters_allowed=False,
            )
        query = build_row_query(table, values, context.scope)
        found = await gateway.db.fetch_one(query.sql, query.params, inline=query.inline)
        if found is None:
            raise not_found(
                f"{table.name!r} has no row with key {key!r}", problem_type="unknown-row"
            )
        convert = value_converter(table.columns, options.ints_as_strings, options.json_columns)
        (shaped,) = shape_rows(table.column_names, [found], "objects", convert)
        if asked is not None and (asked.expand or asked.embed):
            keys = [tuple(found[table.columns.index(c)] for c in table.key_columns)]
            # by its key, which came from the path: never NULL
            members = await related_members(
                gateway.db, asked, keys, options.ints_as_strings, by=table.key_columns
            )
            attach([shaped], members)
        return respond({"row": shaped})

    return routes
