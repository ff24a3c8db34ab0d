"""Answers that summarise rows, cached per database version (they scan): a column's
distinct values with counts, and aggregates (a page, or every group as an export)."""

from __future__ import annotations

import dataclasses

from sqlapi.model.cursors import encode_cursor
from sqlapi.model.encoding import shape_rows, value_converter
from sqlapi.model.schema import Column
from sqlapi.request.aggregates import output_column
from sqlapi.request.types import AggregateRequest, Options, RowsRequest
from sqlapi.respond.answers import Answer, Here
from sqlapi.respond.exports import Export, export
from sqlapi.respond.formats import Format
from sqlapi.sql.aggregates import build_aggregate_query
from sqlapi.sql.rows import build_values_query, split_page
from sqlapi.store.database import Database


async def column_values(
    db: Database, asked: RowsRequest, column: Column, scope: str, options: Options, here: Here
) -> Answer:
    """Distinct values of `column` with counts, most frequent first; `asked`'s filters
    narrow what is counted; `scope` binds the cursor."""
    query = build_values_query(asked, column)
    fetched = await db.fetch_scan(query.sql, query.params)
    page, cursor = split_page(query, asked, fetched)
    convert = value_converter([column], options.ints_as_strings)
    values = [{"value": (convert((v,))[0] if convert else v), "count": n} for v, n in page]
    token = encode_cursor(cursor, scope) if cursor else None
    url, headers = here.next_links(token)
    document = {"table": asked.table.name, "column": column.name, "values": values}
    return Answer({**document, "next": token, "next_url": url}, headers=headers)


async def aggregate_page(
    db: Database, asked: AggregateRequest, ints_as_strings: bool, here: Here
) -> Answer:
    query = build_aggregate_query(asked)
    fetched = await db.fetch_scan(query.sql, query.params)  # cached per version
    page, cursor = split_page(query, dataclasses.replace(asked.rows, limit=asked.limit), fetched)
    convert = value_converter([output_column(t) for t in asked.terms], ints_as_strings)
    token = encode_cursor(cursor, asked.scope) if cursor else None
    url, headers = here.next_links(token)
    document = {
        "table": asked.rows.table.name,
        "group": [k.name for k in asked.keys],
        "rows": shape_rows(asked.names, page, "objects", convert),
        "next": token,
        "next_url": url,
    }
    return Answer(document, headers=headers)


async def aggregate_export(
    db: Database, asked: AggregateRequest, ints_as_strings: bool, fmt: Format
) -> Answer:
    """Every group (or `_limit` of them) as NDJSON or CSV."""
    query = build_aggregate_query(dataclasses.replace(asked, limit=None))
    convert = value_converter([output_column(t) for t in asked.terms], ints_as_strings)
    name = f"{asked.rows.table.name}-aggregate"
    return await export(
        db, Export(query.sql, query.params, asked.names, convert, name, limit=asked.limit), fmt
    )
