"""Conditions on rows, as SQL: a filter on a column (or on a value inside its JSON text),
a filter across a foreign key, and AND/OR groups of them. Pure; names come from the
schema and are quoted, values are bound."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from sqlapi.keys import Value
from sqlapi.query.clauses import Scope, quote
from sqlapi.schema import Column, Table

Operator = Literal[
    "exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith",
    "like", "glob", "in", "notin", "isnull", "notnull", "arraycontains", "arraynotcontains",
]  # fmt: skip
OPERATORS: tuple[Operator, ...] = (
    "exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith",
    "like", "glob", "in", "notin", "isnull", "notnull", "arraycontains", "arraynotcontains",
)  # fmt: skip
_COMPARISONS = {"exact": "=", "not": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PATTERNS = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}
PATTERN_OPERATORS = frozenset({*_PATTERNS, "like", "glob"})
ARRAY_OPERATORS = frozenset({"arraycontains", "arraynotcontains"})
_WILDCARDS = {"glob": "*?[", "like": "%_"}
Sql = tuple[str, tuple[Value, ...]]
_PATH_KEY = re.compile(r"[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Filter:
    """`column op value`; with a `path`, on the value at that path of the column's JSON
    text (text that is not valid JSON matches no path filter)."""

    column: Column
    op: Operator
    value: Value | tuple[Value, ...] | bool
    # A pattern filter looks only at values of at most this many bytes (None: any): one
    # LIKE or GLOB step costs the value's length times the pattern's, and nothing can
    # interrupt a step. A plain prefix (`startswith`, `abc*`) costs the prefix only.
    scan_limit: int | None = None
    path: tuple[str | int, ...] | None = None


@dataclass(frozen=True)
class RelatedFilter:
    """Rows whose `local` key refers to a row of `target` (by its `remote` columns) that
    meets `condition`."""

    local: tuple[Column, ...]
    target: Table
    remote: tuple[Column, ...]
    condition: Condition


@dataclass(frozen=True)
class BoolGroup:
    kind: Literal["and", "or"]
    members: tuple[Condition, ...]


Condition = Filter | RelatedFilter | BoolGroup


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _prefix_only(op: str, pattern: str) -> bool:
    """A pattern whose only wildcards end it: matching costs its prefix, not the value."""
    if op == "startswith":
        return True
    wild = _WILDCARDS.get(op)
    ending = "*" if op == "glob" else "%"
    return wild is not None and not any(w in pattern.rstrip(ending) for w in wild)


def json_path(path: tuple[str | int, ...]) -> str:
    """`("a", 0, "b")` -> `$.a[0].b`. Keys are `[A-Za-z0-9_]+` (the filter parser allows
    no other): nothing to quote, and anything else is refused here too."""
    for part in path:
        if not isinstance(part, int) and not _PATH_KEY.fullmatch(part):
            raise ValueError(f"not a JSON path key: {part!r}")
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _filter_sql(f: Filter) -> Sql:
    column = quote(f.column.name)
    # The path is structure, like a column name (keys are [A-Za-z0-9_]+, indexes are
    # ints: nothing to escape), and is written as a literal: a test may name its operand
    # twice (a guarded pattern), and each would need its own bound copy in its place.
    where = column if f.path is None else f"{column}, '{json_path(f.path)}'"
    operand = column if f.path is None else f"json_extract({where})"
    sql, params = _test(f, operand, where)
    if f.path is None and f.op not in ARRAY_OPERATORS:
        return sql, params
    # json_extract and json_each raise on malformed JSON, failing the whole query: only
    # valid JSON text is looked into (CASE: SQL gives AND no evaluation order).
    return f"CASE WHEN json_valid({column}) THEN {sql} ELSE 0 END", params


def _test(f: Filter, operand: str, json_value: str) -> Sql:
    """`f` on `operand` (the column, or the value at the path); array tests read the JSON
    value itself at `json_value` (json_type/json_each arguments), so that a string
    holding "[1,2]" is no array."""
    if f.op in _COMPARISONS:
        assert not isinstance(f.value, tuple | bool)
        return f"{operand} {_COMPARISONS[f.op]} ?", (f.value,)
    if f.op in PATTERN_OPERATORS:
        assert isinstance(f.value, str)
        if f.op in _PATTERNS:
            pattern = _PATTERNS[f.op].format(_escape_like(f.value))
            test = f"{operand} LIKE ? ESCAPE '\\'"
        else:
            pattern, test = f.value, f"{operand} {f.op.upper()} ?"
        if f.scan_limit is None or _prefix_only(f.op, pattern):
            return test, (pattern,)
        guard = f"length(CAST({operand} AS BLOB)) <= ?"
        return f"CASE WHEN {guard} THEN {test} END", (f.scan_limit, pattern)
    if f.op in ("in", "notin"):
        assert isinstance(f.value, tuple)
        negate = "NOT " if f.op == "notin" else ""
        return f"{operand} {negate}IN ({', '.join('?' * len(f.value))})", f.value
    if f.op in ARRAY_OPERATORS:
        assert isinstance(f.value, tuple)
        exists = "EXISTS" if f.op == "arraycontains" else "NOT EXISTS"
        marks = ", ".join("?" * len(f.value))
        return (
            f"(json_type({json_value}) = 'array' AND {exists} "
            f"(SELECT 1 FROM json_each({json_value}) WHERE value IN ({marks})))",
            f.value,
        )
    is_null = bool(f.value) == (f.op == "isnull")  # isnull / notnull
    return f"{operand} IS {'' if is_null else 'NOT '}NULL", ()


def _columns(prefix: str, columns: tuple[Column, ...]) -> str:
    listed = ", ".join(prefix + quote(c.name) for c in columns)
    return listed if len(columns) == 1 else f"({listed})"


def condition_sql(condition: Condition, scope: Scope) -> Sql:
    """A condition over a table's own columns; a related filter reads its target's rows
    within `scope`."""
    if isinstance(condition, Filter):
        return _filter_sql(condition)
    if isinstance(condition, RelatedFilter):
        inner, params = condition_sql(condition.condition, scope)
        local = _columns("", condition.local)
        remote = ", ".join(quote(c.name) for c in condition.remote)
        target = scope.source(condition.target)
        return (
            f"{local} IN (SELECT {remote} FROM {target.sql} WHERE {inner})",
            (*target.params, *params),
        )
    parts = [condition_sql(m, scope) for m in condition.members]
    joiner = " AND " if condition.kind == "and" else " OR "
    sql = joiner.join(f"({part})" for part, _ in parts)
    return f"({sql})", tuple(v for _, values in parts for v in values)


def filters_in(conditions: tuple[Condition, ...]) -> list[Filter]:
    """Every column filter in these conditions, however nested."""
    found: list[Filter] = []
    for condition in conditions:
        if isinstance(condition, Filter):
            found.append(condition)
        elif isinstance(condition, RelatedFilter):
            found += filters_in((condition.condition,))
        else:
            found += filters_in(condition.members)
    return found
