"""The page of a statement that is not built from a table (a named query, a client's
SQL): its reserved parameters; every other parameter is the statement's own."""

from __future__ import annotations

from collections.abc import Mapping

from sqlapi.model.cursors import CursorError, decode_cursor
from sqlapi.model.errors import bad_request
from sqlapi.request.arguments import choice, parse_int, parse_query_value, single
from sqlapi.request.reserved import NAMED_QUERY
from sqlapi.request.types import RequestLimits, StatementPage


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


def bind_parameters(declared: Mapping[str, str], args: dict[str, list[str]]) -> dict[str, object]:
    """The query string as a named query's declared, typed parameters; anything else is
    a 400."""
    unknown = sorted(set(args) - set(declared) - NAMED_QUERY - {"_"})
    if unknown:
        raise bad_request(f"unknown parameter {unknown[0]!r}", allowed=sorted(declared))
    bound: dict[str, object] = {}
    for name, kind in declared.items():
        values = args.get(name)
        if not values:
            raise bad_request(f"missing parameter {name!r} ({kind})", allowed=sorted(declared))
        if len(values) > 1:
            raise bad_request(f"{name} is given {len(values)} times; give it once")
        bound[name] = parse_query_value(kind, values[0], name)
    return bound


def page_offset(page: StatementPage, scope: str) -> int:
    """Where a statement's page starts: the offset its `_after` cursor holds."""
    if page.after is None:
        return 0
    try:
        return decode_cursor(page.after, scope, 0).offset or 0
    except CursorError as error:
        raise bad_request(f"_after: {error}") from error
