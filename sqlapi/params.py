"""Query string -> typed request. Pure; the one place reserved `_` names are read.

Every column a parameter names is looked up in the introspected `Table`; an unknown
name is a 400 listing the allowed ones, never a silently empty result.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlapi.errors import ProblemError, bad_request
from sqlapi.filters import FilterContext, Readable, parse_filter, parse_or
from sqlapi.keys import (
    INT64_RANGE,
    MAX_OFFSET,
    CursorError,
    Value,
    decode_cursor,
    loose_value,
    split_row_key,
    tilde_decode,
)
from sqlapi.query import EVERY_ROW, Condition, RowsRequest, Scope, SortKey, cursor_scope, ordering
from sqlapi.relations import (
    DEFAULT_EMBED_LIMIT,
    MAX_EMBED_LIMIT,
    check_members,
    parse_embeddings,
    parse_expansions,
)
from sqlapi.schema import Column, Schema, Table

RESERVED = (
    "_select", "_sort", "_limit", "_after", "_offset", "_count", "_search",
    "_shape", "_format", "_ints", "_or", "_expand", "_embed", "_embed_limit", "_json",
    "_table",
)  # fmt: skip
ROWS = frozenset(RESERVED) - {"_table"}
DATA = frozenset({"_table", "_sort", "_limit", "_after", "_offset", "_search", "_ints", "_or"})
VALUES = frozenset({"_limit", "_after", "_search", "_ints", "_or"})
ONE_ROW = frozenset({"_ints", "_expand", "_embed", "_embed_limit", "_json"})
EVENTS = frozenset({"_select", "_ints", "_or", "_json"})
NAMED_QUERY = frozenset({"_limit", "_after", "_shape", "_ints"})
SQL = frozenset({"_limit", "_shape", "_ints"})
MULTI_VALUED = frozenset({"_select", "_sort", "_or", "_expand", "_embed", "_json"})
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FILTER_HEAD = re.compile(r"->|\.")  # after a column: a JSON path, or a column across its key
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask: page sizes, how many filters, how long a pattern."""

    default_limit: int = 100
    max_limit: int = 1000
    max_filters: int = 100
    max_pattern_length: int = 256
    max_pattern_steps: int = 2**24  # a pattern filter scans values up to this / its length


def _anything(_: Table) -> None:
    """Every table may be read (no keys configured)."""


@dataclass(frozen=True)
class RequestContext:
    """What a request's parameters are read against beyond their table: the schema (keys
    lead to other tables), the bounds, and what the caller may read (raises a 403)."""

    schema: Schema
    limits: RequestLimits
    readable: Readable = _anything
    scope: Scope = EVERY_ROW  # the rows the caller may read (row policies)

    def filters(self) -> FilterContext:
        return FilterContext(
            self.schema,
            self.readable,
            convert,
            find_column,
            self.limits.max_pattern_length,
            self.limits.max_pattern_steps,
        )


@dataclass(frozen=True)
class Options:
    """How to answer, as opposed to what to fetch."""

    count: bool = False
    shape: str = "objects"
    format: str | None = None
    ints_as_strings: bool = False
    limit_given: bool = False  # exports stream every row unless _limit is given
    json_columns: tuple[Column, ...] = ()  # whose text is sent parsed (`_json`)


def _allowed(table: Table) -> list[str]:
    return table.column_names


def find_column(table: Table, name: str, parameter: str) -> Column:
    column = table.column(name)
    if column is None and "~" in name:  # a name with "/" in a path segment: a~2Fb
        with contextlib.suppress(ValueError):
            column = table.column(tilde_decode(name))
    if column is None:
        raise ProblemError(
            400,
            f"{parameter}: {table.kind} {table.name!r} has no column {name!r}",
            problem_type="unknown-column",
            allowed=_allowed(table),
        )
    return column


def parse_bool(value: str, parameter: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_request(f"{parameter} must be true or false, not {value!r}")


def parse_int(
    value: str, parameter: str, low: int = INT64_RANGE[0], high: int = INT64_RANGE[1]
) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise bad_request(f"{parameter} must be an integer, not {value[:100]!r}")
    number = int(value) if len(value) < 40 else INT64_RANGE[1] + 1  # no 5,000-digit conversions
    if not low <= number <= high:
        raise bad_request(
            f"{parameter} must be between {low} and {high}", minimum=low, maximum=high
        )
    return number


def convert(column: Column, value: str, parameter: str) -> Value:
    """A query-string value as the column's type, so that it compares as stored values do."""
    if column.json_type == "boolean":
        return int(parse_bool(value, parameter))
    affinity = column.affinity
    if affinity == "INTEGER":
        return parse_int(value, parameter)
    if affinity == "REAL":
        return parse_number(value, parameter)
    if column.json_type == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise bad_request(f"{parameter} must be base64, as BLOBs are shown") from error
    if column.json_type == "any":  # no declared type: no affinity to convert a string for us
        return loose_value(value)
    return value  # TEXT and NUMERIC affinity convert a bound string themselves


def parse_query_value(kind: str, value: str, parameter: str) -> Value:
    """A named query's declared parameter type: integer, number or string."""
    if kind == "integer":
        return parse_int(value, parameter)
    if kind == "number":
        return parse_number(value, parameter)
    return value


def parse_number(value: str, parameter: str) -> float:
    """A float; ±inf are allowed (SQLite stores them), NaN is not, nor Python's own
    spellings ("1_0")."""
    try:
        number = float(value) if "_" not in value else math.nan
    except ValueError:
        number = math.nan
    if math.isnan(number):
        raise bad_request(f"{parameter} must be a number, not {value[:100]!r}")
    return number


def split_list(value: str) -> list[str]:
    return value.split(",") if value else []


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


def group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def single(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    if len(values) > 1 and name not in MULTI_VALUED:
        raise bad_request(f"{name} is given {len(values)} times; give it once")
    return values[0]


def choice(args: dict[str, list[str]], name: str, choices: tuple[str, ...]) -> str | None:
    value = single(args, name)
    if value is not None and value not in choices:
        raise bad_request(f"{name} must be one of {', '.join(choices)}", allowed=list(choices))
    return value


@dataclass(frozen=True)
class StatementPage:
    """How to page and shape the rows of a named query or a client's SQL."""

    limit: int
    after: str | None
    shape: str
    ints_as_strings: bool


def parse_statement_page(
    args: dict[str, list[str]], limits: RequestLimits, accept: frozenset[str]
) -> StatementPage:
    """The reserved parameters of a statement's page; other `_` names are a 400 (every
    other parameter is the statement's own)."""
    for key in args:
        if key.startswith("_") and key != "_" and key not in accept:
            raise bad_request(f"unknown reserved parameter {key!r}", allowed=sorted(accept))
    limit_arg = single(args, "_limit")
    return StatementPage(
        limit=(
            parse_int(limit_arg, "_limit", 1, limits.max_limit)
            if limit_arg
            else limits.default_limit
        ),
        after=single(args, "_after"),
        shape=choice(args, "_shape", ("objects", "arrays")) or "objects",
        ints_as_strings=choice(args, "_ints", ("number", "string")) == "string",
    )


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
    streaming = answer != "json"
    args, limits, within = group(pairs), context.limits, context.filters()
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
        found = parse_filter(table, key, values, within)
        filters += found
        terms += len(found)
    for text in args.get("_or", []):
        if not text:
            continue  # an empty field of a form: no group, as an empty _search is no search
        found_group, counted = parse_or(table, text, within)
        filters.append(found_group)
        terms += counted
    if terms > limits.max_filters:
        raise bad_request(
            f"at most {limits.max_filters} filters in one request", problem_type="too-large"
        )

    select_arg = args.get("_select")
    select = (
        [c for c, _ in _names(table, select_arg, "_select")] if select_arg else list(table.columns)
    )
    if not select:
        raise bad_request("_select names no column", allowed=_allowed(table))
    sort = [SortKey(c, d) for c, d in _names(table, args.get("_sort", []), "_sort")]

    limit_arg = single(args, "_limit")
    fmt = choice(args, "_format", ("json", "ndjson", "csv"))
    if limit_arg is not None:
        limit = parse_int(limit_arg, "_limit", 1, INT64_RANGE[1] if streaming else limits.max_limit)
    else:
        limit = limits.default_limit
    offset_arg, after_arg = single(args, "_offset"), single(args, "_after")
    if offset_arg is not None and after_arg is not None:
        raise bad_request("give _after or _offset, not both")
    offset = parse_int(offset_arg, "_offset", 0, MAX_OFFSET) if offset_arg is not None else 0
    after = None
    if after_arg is not None:
        if scope is None:
            key_length = len(ordering(table, sort)) if table.key_columns else 0
            scope = (cursor_scope(table, sort), key_length)
        try:
            after = decode_cursor(after_arg, *scope)
        except CursorError as error:
            raise bad_request(f"_after: {error}; use the `next` of the previous page") from error

    search = single(args, "_search")
    if search is not None and table.fts is None:
        raise bad_request(
            f"{table.kind} {table.name!r} has no full-text index; _search is unavailable"
        )
    if search is not None and not search.replace("\x00", " ").split():
        search = None

    expand = parse_expansions(table, args.get("_expand", []), context.schema, context.readable)
    embed_arg = single(args, "_embed_limit")
    embed_limit = (
        parse_int(embed_arg, "_embed_limit", 1, MAX_EMBED_LIMIT)
        if embed_arg
        else DEFAULT_EMBED_LIMIT
    )
    embed = parse_embeddings(
        table, args.get("_embed", []), context.schema, context.readable, embed_limit
    )
    check_members(table, expand, embed)
    if (expand or embed) and answer == "csv":
        raise bad_request("_expand and _embed nest rows, which CSV cannot hold: use ndjson")
    count_arg = single(args, "_count")
    options = Options(
        count=parse_bool(count_arg, "_count") if count_arg is not None else False,
        shape=choice(args, "_shape", ("objects", "arrays")) or "objects",
        format=fmt,
        ints_as_strings=choice(args, "_ints", ("number", "string")) == "string",
        limit_given=limit_arg is not None,
        json_columns=tuple(
            find_column(table, name, "_json")
            for value in args.get("_json", [])
            for name in split_list(value)
        ),
    )
    request = RowsRequest(
        table=table,
        select=tuple(select),
        scope=context.scope,
        filters=tuple(filters),
        sort=tuple(sort),
        limit=limit,
        after=after,
        offset=offset,
        search=search,
        expand=expand,
        embed=embed,
    )
    return request, options


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
