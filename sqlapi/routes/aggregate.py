"""Aggregates of a table for charts: totals per group and per date bucket, filtered like
rows, sorted and paged over groups, cached per database version (see aggregates)."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from urllib.parse import quote

from quart import Blueprint, Response, request

from sqlapi.aggregates import parse_aggregate
from sqlapi.encoding import Convert, csv_lines, ndjson_lines, shape_rows, value_converter
from sqlapi.gateway import Gateway
from sqlapi.keys import Row, Value, encode_cursor
from sqlapi.query import split_page
from sqlapi.query.aggregates import build_aggregate_query, output_column
from sqlapi.routes import caller, documented_apart, next_links, respond
from sqlapi.routes.rows import MEDIA_TYPES, ascii_filename, negotiate


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("aggregate", __name__)

    @routes.get("/tables/<table_name>/aggregate")
    @documented_apart
    async def aggregate(table_name: str) -> Response:
        who = caller()
        table = gateway.table(table_name, who)
        fmt = negotiate()
        asked, _, ints = parse_aggregate(
            table, request.args.items(multi=True), gateway.context(who), streaming=fmt != "json"
        )
        names = asked.names
        convert = value_converter([output_column(t) for t in asked.terms], ints)
        if fmt != "json":
            query = build_aggregate_query(dataclasses.replace(asked, limit=None))
            return await _export(
                gateway, query.sql, query.params, names, convert, fmt, table.name, asked.limit
            )
        query = build_aggregate_query(asked)
        fetched = await gateway.db.fetch_scan(query.sql, query.params)  # cached per version
        paged = dataclasses.replace(asked.rows, limit=asked.limit)
        page, cursor = split_page(query, paged, fetched)
        token = encode_cursor(cursor, asked.scope) if cursor else None
        url, headers = next_links(token)
        document = {
            "table": table.name,
            "group": [k.name for k in asked.keys],
            "rows": shape_rows(names, page, "objects", convert),
            "next": token,
            "next_url": url,
        }
        return respond(document, headers=headers)

    return routes


async def _export(
    gateway: Gateway, sql: str, params: tuple[Value, ...], names: list[str],
    convert: Convert | None, fmt: str, table: str, limit: int | None,
) -> Response:  # fmt: skip
    batches = gateway.db.stream(sql, params)
    first: list[Row] = await anext(batches, [])

    async def body() -> AsyncIterator[bytes]:
        batch, remaining = first, limit
        try:
            if fmt == "csv":
                yield csv_lines([names], None)
            while batch:
                if remaining is not None:
                    batch, remaining = batch[:remaining], remaining - min(remaining, len(batch))
                if fmt == "csv":
                    yield csv_lines(batch, convert)
                else:
                    yield ndjson_lines(names, batch, convert)
                if remaining == 0:
                    return
                batch = await anext(batches, [])
        finally:
            await batches.aclose()

    headers = {}
    if fmt == "csv":
        headers["Content-Disposition"] = (
            f'attachment; filename="{ascii_filename(table)}-aggregate.csv"; '
            f"filename*=UTF-8''{quote(table, safe='')}-aggregate.csv"
        )
    return Response(body(), content_type=MEDIA_TYPES[fmt], headers=headers)
