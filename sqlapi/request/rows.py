"""Query string -> typed request. Pure; the one place reserved `_` names are read.

Every column a parameter names is looked up in the introspected `Table`; an unknown
name is a 400 listing the allowed ones, never a silently empty result.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlapi.model.cursors import Cursor, CursorError, decode_cursor
from sqlapi.model.errors import bad_request
from sqlapi.model.names import split_row_key
from sqlapi.model.schema import Column, Table
from sqlapi.model.values import INT64_RANGE, MAX_OFFSET, Value
from sqlapi.request.arguments import choice, group, parse_bool, parse_int, single, split_list
from sqlapi.request.columns import convert, find_column
from sqlapi.request.filters import parse_filter, parse_or
from sqlapi.request.ordering import cursor_scope, ordering
from sqlapi.request.relations import (
    DEFAULT_EMBED_LIMIT,
    MAX_EMBED_LIMIT,
    check_members,
    parse_embeddings,
    parse_expansions,
)
from sqlapi.request.reserved import FORMATS, RESERVED, ROWS
from sqlapi.request.types import (
    Condition,
    Embedding,
    Link,
    Options,
    RequestContext,
    RequestLimits,
    RowsRequest,
    SortKey,
)

_FILTER_HEAD = re.compile(r"->|\.")  # after a column: a JSON path, or a column across its key


def _names(table: Table, values: list[str], parameter: str) -> list[tuple[Column, bool]]:
    """Columns of a `_select`/`_sort` list; a value that is itself a column name (commas and
    all) is taken whole, and `-name` means descending."""
    named: list[tuple[Column, bool]] = []
    for value in values:
        whole = value[1:] if value.startswith("-") else value
        items = [value] if table.column(whole) is not None else split_list(value)
        for item in items:
            descending = item.startswith("-")
            column = find_column(table, item[1:] if descending else item, parameter)
            if all(column is not c for c, _ in named):
                named.append((column, descending))
    return named


def _names_column(table: Table, key: str) -> bool:
    """Whether a key that starts with `_` is a filter on a column of that name: with or
    without an operator, on a path inside its JSON (`_col->a`) or across it (`_fk.col`)."""
    name = key.rsplit("__", 1)[0]
    return any(table.column(n) is not None for n in (key, name, _FILTER_HEAD.split(name)[0]))


def parse_rows(
    table: Table,
    pairs: Iterable[tuple[str, str]],
    context: RequestContext,
    *,
    accept: frozenset[str] = ROWS,
    filters_allowed: bool = True,
    scope: tuple[str, int] | None = None,
    answer: str = "json",
) -> tuple[RowsRequest, Options]:
    """The rows request (what to fetch) and its options (how to answer).

    `accept` is the reserved parameters this endpoint takes; `scope` overrides the
    cursor scope and key length for endpoints that page over something else; `answer`
    is the format negotiated (`_format` or Accept): an export (csv, ndjson) takes any
    `_limit` (the maximum is a page size).
    """
    args = group(pairs)
    filters = _conditions(table, args, context, accept, filters_allowed)
    select = (
        [c for c, _ in _names(table, args["_select"], "_select")]
        if args.get("_select")
        else list(table.columns)
    )
    if not select:
        raise bad_request("_select names no column", allowed=table.column_names)
    sort = tuple(SortKey(c, d) for c, d in _names(table, args.get("_sort", []), "_sort"))
    limit, offset, after = _page(table, sort, args, context.limits, answer != "json", scope)
    expand, embed = _relations(table, args, context, answer)
    request = RowsRequest(
        table=table,
        select=tuple(select),
        scope=context.scope,
        filters=tuple(filters),
        sort=sort,
        limit=limit,
        after=after,
        offset=offset,
        search=_search(table, args),
        expand=expand,
        embed=embed,
    )
    return request, _options(table, args)


def _conditions(
    table: Table,
    args: dict[str, list[str]],
    context: RequestContext,
    accept: frozenset[str],
    filters_allowed: bool,
) -> list[Condition]:
    """Every filter parameter and `_or` group; a reserved name this endpoint does not take
    is a 400, and so are more terms than the bound."""
    filters: list[Condition] = []
    terms = 0
    for key, values in args.items():
        if key == "_":  # `_=timestamp` is a common cache-buster
            continue
        if key in RESERVED:
            if key not in accept:
                raise bad_request(f"{key} does not apply here", allowed=sorted(accept))
            continue
        if key.startswith("_") and not _names_column(table, key):
            raise bad_request(f"unknown reserved parameter {key!r}", allowed=sorted(accept))
        if not filters_allowed:
            raise bad_request(f"{key}: this endpoint takes no filters", allowed=sorted(accept))
        found = parse_filter(table, key, values, context)
        filters += found
        terms += len(found)
    for text in args.get("_or", []):
        if not text:
            continue  # an empty field of a form: no group, as an empty _search is no search
        found_group, counted = parse_or(table, text, context)
        filters.append(found_group)
        terms += counted
    if terms > context.limits.max_filters:
        raise bad_request(
            f"at most {context.limits.max_filters} filters in one request",
            problem_type="too-large",
        )
    return filters


def _page(
    table: Table,
    sort: tuple[SortKey, ...],
    args: dict[str, list[str]],
    limits: RequestLimits,
    streaming: bool,
    scope: tuple[str, int] | None,
) -> tuple[int, int, Cursor | None]:
    """(limit, offset, cursor): `_limit` (any size for an export), `_offset` or `_after`."""
    limit_arg = single(args, "_limit")
    limit = limits.default_limit
    if limit_arg is not None:
        limit = parse_int(limit_arg, "_limit", 1, INT64_RANGE[1] if streaming else limits.max_limit)
    offset_arg, after_arg = single(args, "_offset"), single(args, "_after")
    if offset_arg is not None and after_arg is not None:
        raise bad_request("give _after or _offset, not both")
    offset = parse_int(offset_arg, "_offset", 0, MAX_OFFSET) if offset_arg is not None else 0
    if after_arg is None:
        return limit, offset, None
    if scope is None:
        key_length = len(ordering(table, sort)) if table.key_columns else 0
        scope = (cursor_scope(table, sort), key_length)
    try:
        return limit, offset, decode_cursor(after_arg, *scope)
    except CursorError as error:
        raise bad_request(f"_after: {error}; use the `next` of the previous page") from error


def _search(table: Table, args: dict[str, list[str]]) -> str | None:
    search = single(args, "_search")
    if search is not None and table.fts is None:
        raise bad_request(
            f"{table.kind} {table.name!r} has no full-text index; _search is unavailable"
        )
    if search is not None and not search.replace("\x00", " ").split():
        return None  # nothing to search for: no search
    return search


def _relations(
    table: Table, args: dict[str, list[str]], context: RequestContext, answer: str
) -> tuple[tuple[Link, ...], tuple[Embedding, ...]]:
    expand = parse_expansions(table, args.get("_expand", []), context.schema, context.readable)
    embed_arg = single(args, "_embed_limit")
    limit = parse_int(embed_arg, "_embed_limit", 1, MAX_EMBED_LIMIT) if embed_arg else None
    embed = parse_embeddings(
        table,
        args.get("_embed", []),
        context.schema,
        context.readable,
        limit or DEFAULT_EMBED_LIMIT,
    )
    check_members(table, expand, embed)
    if (expand or embed) and answer == "csv":
        raise bad_request("_expand and _embed nest rows, which CSV cannot hold: use ndjson")
    return expand, embed


def _options(table: Table, args: dict[str, list[str]]) -> Options:
    count_arg = single(args, "_count")
    return Options(
        count=parse_bool(count_arg, "_count") if count_arg is not None else False,
        shape=choice(args, "_shape", ("objects", "arrays")) or "objects",
        format=choice(args, "_format", FORMATS),
        ints_as_strings=choice(args, "_ints", ("number", "string")) == "string",
        limit_given=single(args, "_limit") is not None,
        json_columns=tuple(
            find_column(table, name, "_json")
            for value in args.get("_json", [])
            for name in split_list(value)
        ),
    )


def parse_row_key(table: Table, segment: str) -> tuple[Value, ...]:
    """The `{pk}` path segment as typed key values."""
    columns = table.key_columns
    try:
        parts = split_row_key(segment, len(columns))
    except ValueError as error:
        raise bad_request(f"row key {segment!r}: {error}") from error
    return tuple(
        convert(c, part, f"key column {c.name!r}") for c, part in zip(columns, parts, strict=True)
    )
