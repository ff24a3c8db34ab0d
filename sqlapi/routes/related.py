"""The members relations add to each row of a page (or an export batch, or one row): the
row each `_expand` key refers to, and the rows of each `_embed` that refer to it, fetched
with one statement each for the whole page (see query.relations)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from sqlapi.db import Database
from sqlapi.encoding import json_text, shape_rows, value_converter
from sqlapi.keys import Cursor, Row, Value, encode_cursor, path_segment
from sqlapi.query import Query, RowsRequest, cursor_scope, key_order
from sqlapi.query.relations import build_embedding_query, build_expansion_query
from sqlapi.relations import Embedding

Members = list[dict[str, object]]


def _text(value: Value) -> str:
    """A value as a query string carries it (BLOBs base64, as they are shown), quoted."""
    if type(value) is int:
        return str(value)  # nothing to quote
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode("ascii")
    return quote(repr(value) if isinstance(value, float) else str(value), safe="")


def _next_urls(
    embedding: Embedding, ints_as_strings: bool
) -> Callable[[Sequence[Value], Sequence[Value]], str]:
    """For (a parent's referenced values, the last child row sent): the child's rows
    endpoint, filtered to that parent, from after that row, in the same shape (operators
    always named: a key column may be called `_limit`). What all parents share is
    written once."""
    link = embedding.link
    keys = [quote(f"{c.name}__exact", safe="") for c in link.remote]
    tail: list[tuple[str, str]] = []
    if link.select != link.target.columns:
        tail.append(("_select", ",".join(c.name for c in link.select)))
    if ints_as_strings:
        tail.append(("_ints", "string"))
    tail.append(("_limit", str(embedding.limit)))
    shared = "&" + urlencode(tail, quote_via=quote)
    path = f"/api/tables/{path_segment(link.target.name)}/rows?"
    scope = cursor_scope(link.target, ())

    def next_url(referenced: Sequence[Value], last: Sequence[Value]) -> str:
        filters = "&".join(
            f"{key}={_text(value)}" for key, value in zip(keys, referenced, strict=True)
        )
        cursor = encode_cursor(Cursor(key=tuple(last)), scope)  # base64url: nothing to quote
        return f"{path}{filters}{shared}&_after={cursor}"

    return next_url


async def _by_key(db: Database, query: Query, width: int) -> dict[tuple[Value, ...], Row]:
    """The rows of `query`, by the page row's key (their first `width` values)."""
    rows = await db.fetch_all(query.sql, query.params, inline=query.inline)
    return {tuple(r[:width]): r for r in rows}


async def related_members(
    db: Database, request: RowsRequest, keys: Sequence[tuple[Value, ...]], ints_as_strings: bool
) -> Members:
    """For each key (a row of `request.table`), its members: one per expansion and one per
    embedding, in the order they were asked. Rows are matched by key, so a row whose
    key is NULL (a rowid table's non-integer primary key may be) relates to nothing."""
    members: Members = [{} for _ in keys]
    if not keys:
        return members
    width = len(request.table.key_columns)
    for link in request.expand:
        found = await _by_key(db, build_expansion_query(link, keys, request.scope), width)
        names = [c.name for c in link.select]
        convert = value_converter(link.select, ints_as_strings)
        for i, key in enumerate(keys):  # a NULL key (SQLite allows one) matches nothing
            row = found.get(key)
            members[i][link.name] = (
                None if row is None else shape_rows(names, [row[width:]], "objects", convert)[0]
            )
    for embedding in request.embed:
        link = embedding.link
        query = build_embedding_query(embedding, keys, request.scope, ints_as_strings)
        # each row: the page row's key, its referenced columns, its list as JSON text, the
        # key of the list's last row, whether more follow (query.relations)
        lists = await _by_key(db, query, width)
        referenced = width + len(link.local)
        last = referenced + 1
        more = last + len(key_order(link.target))
        next_url = _next_urls(embedding, ints_as_strings)
        for i, key in enumerate(keys):  # a NULL key (SQLite allows one) matches nothing
            row = lists.get(key)
            members[i][link.name] = (
                {"rows": [], "next_url": None}
                if row is None
                else {
                    "rows": json_text(row[referenced]),
                    "next_url": next_url(row[width:referenced], row[last:more])
                    if row[more]
                    else None,
                }
            )
    return members


def member_names(request: RowsRequest) -> list[str]:
    return [link.name for link in request.expand] + [e.link.name for e in request.embed]


def attach(rows: list[Any], members: Members) -> None:
    """Add each row's members: to an object, or at the end of an array (`_shape=arrays`)."""
    for row, extra in zip(rows, members, strict=True):
        if isinstance(row, dict):
            row.update(extra)
        else:
            row.extend(extra.values())
