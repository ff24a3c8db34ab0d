"""Rows, run and shaped: a keyset page of a table or view (with its relations, its cursor
and `next_url`), one row by key, the values of one column, and every row as an export."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlapi.model.cursors import Cursor, encode_cursor
from sqlapi.model.encoding import shape_rows, value_converter
from sqlapi.model.errors import not_found
from sqlapi.model.schema import Column
from sqlapi.model.values import Row, Value
from sqlapi.request.ordering import cursor_scope
from sqlapi.request.types import Options, RowsRequest, Scope
from sqlapi.respond.answers import Answer, Here
from sqlapi.respond.exports import Export, export
from sqlapi.respond.formats import Format
from sqlapi.respond.related import Members, attach, member_names, related_members
from sqlapi.sql.rows import build_count_query, build_row_query, build_rows_query, split_page
from sqlapi.store.database import Database


async def rows_page(db: Database, asked: RowsRequest, options: Options, here: Here) -> Answer:
    """A page: rows (objects, or arrays with `columns`), `next`, `next_url`, `count` when
    asked; a `Link` header mirrors `next_url`."""
    query = build_rows_query(asked)
    fetched = await db.fetch_all(query.sql, query.params, inline=query.inline)
    page, cursor = split_page(query, asked, fetched)
    names = [c.name for c in asked.select]
    convert = value_converter(asked.select, options.ints_as_strings, options.json_columns)
    trimmed = [r[: query.width] for r in page] if page and len(page[0]) > query.width else page
    shaped = shape_rows(names, trimmed, options.shape, convert)
    if asked.expand or asked.embed:
        attach(shaped, await related_members(db, asked, query.keys(page), options.ints_as_strings))
        names += member_names(asked)
    document: dict[str, object] = {"columns": names} if options.shape == "arrays" else {}
    document["rows"] = shaped
    document["next"] = token = page_cursor(asked, cursor)
    document["next_url"], headers = here.next_links(token)
    if options.count:
        count = build_count_query(asked)
        document["count"] = await db.count(count.sql, count.params)
    return Answer(document, headers=headers)


def page_cursor(asked: RowsRequest, cursor: Cursor | None) -> str | None:
    return None if cursor is None else encode_cursor(cursor, cursor_scope(asked.table, asked.sort))


async def one_row(
    db: Database,
    asked: RowsRequest,
    key: tuple[Value, ...],
    spelled: str,
    options: Options,
    scope: Scope,
) -> Answer:
    """`{"row": {...}}` by the key from the path (`spelled` as it came), with its relations;
    a 404 where there is none, or the caller may not see it."""
    table = asked.table
    query = build_row_query(table, key, scope)
    found = await db.fetch_one(query.sql, query.params, inline=query.inline)
    if found is None:
        raise not_found(
            f"{table.name!r} has no row with key {spelled!r}", problem_type="unknown-row"
        )
    convert = value_converter(table.columns, options.ints_as_strings, options.json_columns)
    (shaped,) = shape_rows(table.column_names, [found], "objects", convert)
    if asked.expand or asked.embed:
        keys = [tuple(found[table.columns.index(c)] for c in table.key_columns)]
        # by its key, which came from the path: never NULL
        related = await related_members(
            db, asked, keys, options.ints_as_strings, by=table.key_columns
        )
        attach([shaped], related)
    return Answer({"row": shaped})


async def column_data(
    db: Database, asked: RowsRequest, column: Column, options: Options, here: Here
) -> Answer:
    """The values of one column (`/api/data/{column}`), paged like its table's rows."""
    page = await rows_page(
        db,
        dataclasses.replace(asked, select=(column,)),
        dataclasses.replace(options, shape="arrays"),
        here,
    )
    document = page.document
    assert isinstance(document, dict)
    rows = document.pop("rows")
    document.pop("columns", None)
    values = [r[0] for r in rows]
    return Answer(
        {"table": asked.table.name, "column": column.name, "values": values, **document},
        headers=page.headers,
    )


async def rows_export(db: Database, asked: RowsRequest, options: Options, fmt: Format) -> Answer:
    """Every matching row (or `_limit` of them) as NDJSON or CSV, with their relations."""
    query = build_rows_query(dataclasses.replace(asked, limit=None))
    # a CSV cell holds a JSON column's text as stored: that text is the JSON
    parsed = options.json_columns if fmt.name != "csv" else ()
    related = bool(asked.expand or asked.embed)

    async def members(batch: Sequence[Row]) -> Members:
        return await related_members(db, asked, query.keys(batch), options.ints_as_strings)

    return await export(
        db,
        Export(
            query.sql,
            query.params,
            [c.name for c in asked.select],
            value_converter(asked.select, options.ints_as_strings, parsed),
            asked.table.name,
            width=query.width,
            columns=asked.select,
            limit=asked.limit if options.limit_given else None,
            arrays=options.shape == "arrays",
            members=members if related else None,
        ),
        fmt,
    )
