"""Aggregate requests: `_group` columns and date buckets, `_agg` functions, sorted and
paged over groups. Pure; names come from the schema.

    _group=genre_id,month:borrowed     group keys: a column, or a bucket of ISO-8601 text
    _agg=count,avg:rating,max:year     outputs: count, count_distinct_col, sum_col, ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from sqlapi.model.cursors import CursorError, decode_cursor
from sqlapi.model.errors import bad_request
from sqlapi.model.schema import Column, Table, fold
from sqlapi.model.values import INT64_RANGE
from sqlapi.request.arguments import choice, group, parse_int, single, split_list
from sqlapi.request.columns import find_column
from sqlapi.request.reserved import RESERVED
from sqlapi.request.rows import parse_rows
from sqlapi.request.types import (
    BUCKETS,
    FUNCTIONS,
    Aggregate,
    AggregateRequest,
    GroupKey,
    Order,
    RequestContext,
)

NUMERIC = frozenset({"integer", "number"})
OWN = frozenset({"_group", "_agg", "_sort", "_limit", "_after", "_format", "_ints"})
GROUPED = frozenset({"_search", "_or"})  # what selects the rows grouped
MAX_TERMS = 32  # group keys and outputs in one request


def bucketable(column: Column) -> bool:
    """A column that may hold ISO-8601 text, to group by date buckets."""
    return column.affinity in ("TEXT", "NUMERIC") or column.json_type in ("string", "any")


def summable(column: Column) -> bool:
    """Numeric, or untyped (a view's computed column, `count(*) AS n`, declares no type)."""
    return column.json_type in NUMERIC or column.json_type == "any"


def possible_terms(table: Table) -> tuple[list[GroupKey], list[Aggregate]]:
    """Every group key and output a request on `table` may ask for (the document lists
    them)."""
    keys = [GroupKey(c) for c in table.columns]
    keys += [GroupKey(c, b) for c in table.columns if bucketable(c) for b in BUCKETS]
    outputs = [Aggregate("count"), *(Aggregate("count_distinct", c) for c in table.columns)]
    outputs += [Aggregate(f, c) for c in table.columns if summable(c) for f in ("sum", "avg")]
    outputs += [Aggregate(f, c) for c in table.columns for f in ("min", "max")]
    return keys, outputs


def _group_key(table: Table, item: str) -> GroupKey:
    bucket, colon, name = item.partition(":")
    if not colon:
        return GroupKey(find_column(table, item, "_group"))
    if bucket not in BUCKETS:
        raise bad_request(
            f"_group: {bucket!r} is not a date bucket", allowed=[f"{b}:" for b in BUCKETS]
        )
    column = find_column(table, name, "_group")
    if not bucketable(column):
        raise bad_request(
            f"_group: {bucket}: needs a column of ISO-8601 text; {column.name!r} is "
            f"{column.type or 'untyped'}",
            problem_type="bad-bucket",
        )
    return GroupKey(column, bucket)


def _aggregate(table: Table, item: str) -> Aggregate:
    function, colon, name = item.partition(":")
    if function not in FUNCTIONS:
        raise bad_request(f"_agg: unknown function {function!r}", allowed=list(FUNCTIONS))
    if function == "count":
        if colon:
            raise bad_request("_agg: count takes no column (count_distinct:col counts values)")
        return Aggregate("count")
    if not colon:
        raise bad_request(f"_agg: {function} needs a column: {function}:col")
    column = find_column(table, name, "_agg")
    if function in ("sum", "avg") and not summable(column):
        raise bad_request(
            f"_agg: {function} needs a numeric column; {column.name!r} is "
            f"{column.type or 'untyped'}",
            problem_type="bad-aggregate",
        )
    return Aggregate(function, column)


def parse_aggregate(
    table: Table, pairs: Iterable[tuple[str, str]], context: RequestContext, *, streaming: bool
) -> tuple[AggregateRequest, str | None, bool]:
    """The aggregate request, its `_format` and `_ints=string`."""
    listed = list(pairs)
    args = group((k, v) for k, v in listed if k in OWN)
    stray = sorted(k for k, _ in listed if k in RESERVED and k not in OWN | GROUPED)
    if stray:  # a rows parameter (_offset, _select...) that means nothing for groups
        raise bad_request(f"{stray[0]} does not apply here", allowed=sorted(OWN | GROUPED))
    rows, _ = parse_rows(
        table,
        [(k, v) for k, v in listed if k not in OWN],
        context,
        accept=GROUPED,
    )
    keys = tuple(
        dict.fromkeys(_group_key(table, i) for v in args.get("_group", []) for i in split_list(v))
    )
    outputs = tuple(
        dict.fromkeys(_aggregate(table, i) for v in args.get("_agg", []) for i in split_list(v))
    ) or (_aggregate(table, "count"),)  # absent or empty (a form's empty field): count
    names = [*(k.name for k in keys), *(a.name for a in outputs)]
    if len(names) > MAX_TERMS:
        raise bad_request(f"at most {MAX_TERMS} group keys and outputs in one request")
    if len({fold(n) for n in names}) < len(names):
        raise bad_request("two group keys or outputs have one name", allowed=names)
    terms: list[GroupKey | Aggregate] = [*keys, *outputs]
    by_name = {fold(t.name): t for t in terms}
    order: list[Order] = []
    for item in (i for v in args.get("_sort", []) for i in split_list(v)):
        descending = item.startswith("-")
        term = by_name.get(fold(item[1:] if descending else item))
        if term is None:
            raise bad_request(f"_sort: {item!r} is not a group key or an output", allowed=names)
        order.append(Order(term, descending))
    order += [Order(k) for k in keys if all(o.term != k for o in order)]
    limit_arg = single(args, "_limit")
    limit = None if streaming else context.limits.default_limit  # an export: every group
    if limit_arg is not None:
        limit = parse_int(
            limit_arg, "_limit", 1, INT64_RANGE[1] if streaming else context.limits.max_limit
        )
    request = AggregateRequest(rows, keys, outputs, tuple(order), limit)
    after_arg = single(args, "_after")
    if after_arg is not None:
        try:
            after = decode_cursor(after_arg, request.scope, len(request.order))
        except CursorError as error:
            raise bad_request(f"_after: {error}; use the `next` of the previous page") from error
        request = AggregateRequest(rows, keys, outputs, tuple(order), limit, after)
    fmt = choice(args, "_format", ("json", "ndjson", "csv"))
    ints = choice(args, "_ints", ("number", "string")) == "string"
    return request, fmt, ints


def output_column(term: GroupKey | Aggregate) -> Column:
    """How a group key's or an output's values are typed (a NULL key groups rows without
    a value; sum, avg, min and max of no values are NULL)."""
    if isinstance(term, GroupKey):
        if term.bucket is None:
            return dataclasses.replace(term.column, name=term.name, nullable=True, primary_key=0)
        return Column(term.name, "TEXT", "string", True, 0, False)
    if term.function in ("count", "count_distinct"):
        return Column(term.name, "INTEGER", "integer", False, 0, False)
    if term.function == "avg":
        return Column(term.name, "REAL", "number", True, 0, False)
    assert term.column is not None
    return dataclasses.replace(term.column, name=term.name, nullable=True, primary_key=0)
