"""The members relations add to each row of a page (or an export batch, or one row): the
row each `_expand` key refers to, and the rows of each `_embed` that refer to it, fetched
with one statement each for the whole page (see query.relations)."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from sqlapi.model.cursors import Cursor, encode_cursor
from sqlapi.model.encoding import json_text, shape_rows, value_converter
from sqlapi.model.errors import ProblemError
from sqlapi.model.names import path_segment
from sqlapi.model.schema import Column, fold
from sqlapi.model.values import Row, Value, numeric_affinity
from sqlapi.request.columns import convert
from sqlapi.request.ordering import cursor_scope, key_order, row_identity
from sqlapi.request.relations import key_of
from sqlapi.request.types import Embedding, Link, RowsRequest
from sqlapi.sql.clauses import Query
from sqlapi.sql.relations import build_embedding_query, build_expansion_query
from sqlapi.store.database import Database

Members = list[dict[str, object]]


def _spelled(value: Value) -> str:
    """A value as a query string spells it (BLOBs base64, as they are shown), unquoted."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return repr(value) if isinstance(value, float) else str(value)


def _text(value: Value) -> str:
    """`_spelled`, quoted for a query string."""
    if type(value) is int:
        return str(value)  # nothing to quote
    return quote(_spelled(value), safe="")


def _reads_back(column: Column, value: Value) -> bool:
    """Whether a filter on `column` reads `value` back from its spelling as the very value
    SQLite holds: same type, same value (an INTEGER column refuses text it holds)."""
    if type(value) is int and column.affinity == "INTEGER" and column.json_type != "boolean":
        return True  # any SQLite integer, from its digits: the common key, at no cost
    try:
        back = convert(column, _spelled(value), "")
    except ProblemError:
        return False
    if column.affinity == "NUMERIC" and isinstance(back, str):
        back = numeric_affinity(back)  # what SQLite makes of the bound text before comparing
    return type(back) is type(value) and back == value


def _across_the_key(link: Link, columns: Sequence[Column]) -> list[str] | None:
    """The filter names that select the child rows across their key by these columns of
    the parent, `fk.col__exact` (filters.py: `fk IN (SELECT ref FROM parent WHERE col =
    ?)`, which compares `fk` with `ref` as the embedding's own JOIN does), if the child's
    filters read them so: the key its first column names is this one (onto this parent,
    by these columns), no name holds what the filter grammar splits on (`.`, `->`) and no
    column of the child is called `fk.col`."""
    child, first = link.target, link.remote[0].name
    key = key_of(child, first)
    if (
        key is None
        or fold(key.table) != fold(link.table.name)
        or [fold(n) for n in key.columns] != [fold(c.name) for c in link.remote]
        or [fold(n or "") for n in key.references] != [fold(c.name) for c in link.local]
        or "." in first
        or any("->" in name for name in (first, *(c.name for c in columns)))
    ):
        return None
    names = [f"{first}.{c.name}" for c in columns]
    if any(child.column(name) is not None for name in names):
        return None
    return [quote(f"{name}__exact", safe="") for name in names]


@dataclass(frozen=True)
class _Form:
    """One way to filter the child's rows to a parent's: these filter names, whose values
    these columns read (the parent's key values if `by_key`, else its referenced ones)."""

    names: list[str]
    columns: tuple[Column, ...]
    by_key: bool = False

    def carries(self, values: Sequence[Value]) -> bool:
        return all(map(_reads_back, self.columns, values))


def _across_forms(link: Link, by: Sequence[Column]) -> list[_Form]:
    """The filters across the key, by the parent's own key (where `by` is it), then by
    the referenced columns; those the child's filters cannot read are left out."""
    forms = []
    key = link.table.key_columns
    if key and list(by) == list(key) and (names := _across_the_key(link, key)) is not None:
        forms.append(_Form(names, key, by_key=True))
    if (names := _across_the_key(link, link.local)) is not None:
        forms.append(_Form(names, link.local))
    return forms


def _parent_filter(
    link: Link, by: Sequence[Column]
) -> Callable[[Sequence[Value], Sequence[Value]], str]:
    """For (a parent's `by` values, its referenced values): the child's filters to its
    rows, in the first form that is exact. The child's own columns, `fk__exact=v`, where
    they compare as the JOIN that found the children does: the two columns share an
    affinity and the value reads back as itself. Else across the key by the parent's own
    key, `fk.id__exact=k`, which selects this parent's referenced values as stored,
    whatever they are, and compares them as the JOIN does (the TEXT '07' in a child's key
    refers to the INTEGER 7); else by the referenced values, `fk.ref__exact=v`, read as
    the parent's column. Where none is exact (a key holding what its own type cannot
    spell: text or a REAL in an INT key), the child's own form."""
    plain = _Form([quote(f"{c.name}__exact", safe="") for c in link.remote], link.remote)
    same = all(m.affinity == t.affinity for m, t in zip(link.remote, link.local, strict=True))
    across: list[_Form] | None = None  # made when a parent first needs them

    def query(identity: Sequence[Value], referenced: Sequence[Value]) -> str:
        nonlocal across
        chosen, values = plain, referenced
        if not (same and plain.carries(referenced)):
            across = _across_forms(link, by) if across is None else across
            for form in across:
                if form.carries(given := identity if form.by_key else referenced):
                    chosen, values = form, given
                    break
        return "&".join(f"{k}={_text(v)}" for k, v in zip(chosen.names, values, strict=True))

    return query


def _next_urls(
    embedding: Embedding, by: Sequence[Column], ints_as_strings: bool
) -> Callable[[Sequence[Value], Sequence[Value], Sequence[Value]], str]:
    """For (a parent's `by` values, its referenced values, the last child row sent): the
    child's rows endpoint, filtered to that parent, from after that row, in the same
    shape (operators always named: a key column may be called `_limit`). What all
    parents share is written once."""
    link = embedding.link
    filters = _parent_filter(link, by)
    tail: list[tuple[str, str]] = []
    if link.select != link.target.columns:
        tail.append(("_select", ",".join(c.name for c in link.select)))
    if ints_as_strings:
        tail.append(("_ints", "string"))
    tail.append(("_limit", str(embedding.limit)))
    shared = "&" + urlencode(tail, quote_via=quote)
    path = f"/api/tables/{path_segment(link.target.name)}/rows?"
    scope = cursor_scope(link.target, ())

    def next_url(
        identity: Sequence[Value], referenced: Sequence[Value], last: Sequence[Value]
    ) -> str:
        cursor = encode_cursor(Cursor(key=tuple(last)), scope)  # base64url: nothing to quote
        return f"{path}{filters(identity, referenced)}{shared}&_after={cursor}"

    return next_url


async def _by_key(db: Database, query: Query, width: int) -> dict[tuple[Value, ...], Row]:
    """The rows of `query`, by the page row they belong to (their first `width` values)."""
    rows = await db.fetch_all(query.sql, query.params, inline=query.inline)
    return {tuple(r[:width]): r for r in rows}


async def related_members(
    db: Database,
    request: RowsRequest,
    keys: Sequence[tuple[Value, ...]],
    ints_as_strings: bool,
    by: Sequence[Column] | None = None,
) -> Members:
    """For each of `keys` (a row of `request.table`: its values of `by`, by default its
    `row_identity`), its members: one per expansion and one per embedding, in the order
    they were asked."""
    members: Members = [{} for _ in keys]
    if not keys:
        return members
    by = row_identity(request.table) if by is None else by
    width = len(by)
    for link in request.expand:
        found = await _by_key(db, build_expansion_query(link, by, keys, request.scope), width)
        names = [c.name for c in link.select]
        convert = value_converter(link.select, ints_as_strings)
        for i, key in enumerate(keys):
            row = found.get(key)
            members[i][link.name] = (
                None if row is None else shape_rows(names, [row[width:]], "objects", convert)[0]
            )
    for embedding in request.embed:
        link = embedding.link
        query = build_embedding_query(embedding, by, keys, request.scope, ints_as_strings)
        # each row: the page row's identity, its referenced columns, its list as JSON text, the
        # key of the list's last row, whether more follow (query.relations)
        lists = await _by_key(db, query, width)
        referenced = width + len(link.local)
        last = referenced + 1
        more = last + len(key_order(link.target))
        next_url = _next_urls(embedding, by, ints_as_strings)
        for i, key in enumerate(keys):
            row = lists.get(key)
            members[i][link.name] = (
                {"rows": [], "next_url": None}
                if row is None
                else {
                    "rows": json_text(row[referenced]),
                    "next_url": next_url(row[:width], row[width:referenced], row[last:more])
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
