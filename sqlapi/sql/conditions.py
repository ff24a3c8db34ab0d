"""Conditions on rows, as SQL: a filter on a column (or on a value inside its JSON text),
a filter across a foreign key, a full-text index's rows by its content's, AND/OR groups
of them; and a table as a FROM item within the caller's scope. Pure; names come from the
schema and are quoted, values are bound; every operator's meaning comes from the one
operator table (request.operators)."""

from __future__ import annotations

import re

from sqlapi.model.schema import Column, Table, fold
from sqlapi.model.values import Value
from sqlapi.request.operators import OPERATORS
from sqlapi.request.types import Condition, Filter, Indexed, RelatedFilter, Scope
from sqlapi.sql.clauses import Query, quote

_WILDCARDS = {"glob": "*?[", "like": "%_"}
Sql = tuple[str, tuple[Value, ...]]
_PATH_KEY = re.compile(r"[A-Za-z0-9_]+")


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
    if f.path is None and OPERATORS[f.op].group != "array":
        return sql, params
    # json_extract and json_each raise on malformed JSON, failing the whole query: only
    # valid JSON text is looked into (CASE: SQL gives AND no evaluation order).
    return f"CASE WHEN json_valid({column}) THEN {sql} ELSE 0 END", params


def _test(f: Filter, operand: str, json_value: str) -> Sql:
    """`f` on `operand` (the column, or the value at the path); array tests read the JSON
    value itself at `json_value` (json_type/json_each arguments), so that a string
    holding "[1,2]" is no array."""
    spec = OPERATORS[f.op]
    if spec.group == "comparison":
        assert not isinstance(f.value, tuple | bool)
        return f"{operand} {spec.sql} ?", (f.value,)
    if spec.group == "pattern":
        assert isinstance(f.value, str)
        if spec.pattern is not None:
            pattern = spec.pattern.format(_escape_like(f.value))
            test = f"{operand} {spec.sql} ? ESCAPE '\\'"
        else:
            pattern, test = f.value, f"{operand} {spec.sql} ?"
        if f.scan_limit is None or _prefix_only(f.op, pattern):
            return test, (pattern,)
        guard = f"length(CAST({operand} AS BLOB)) <= ?"
        return f"CASE WHEN {guard} THEN {test} END", (f.scan_limit, pattern)
    if spec.group == "list":
        assert isinstance(f.value, tuple)
        return f"{operand} {spec.sql} ({', '.join('?' * len(f.value))})", f.value
    if spec.group == "array":
        assert isinstance(f.value, tuple)
        marks = ", ".join("?" * len(f.value))
        return (
            f"(json_type({json_value}) = 'array' AND {spec.sql} "
            f"(SELECT 1 FROM json_each({json_value}) WHERE value IN ({marks})))",
            f.value,
        )
    is_null = bool(f.value) == (f.op == "isnull")  # isnull / notnull: true or false
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
        target = scoped(scope, condition.target)
        return (
            f"{local} IN (SELECT {remote} FROM {target.sql} WHERE {inner})",
            (*target.params, *params),
        )
    if isinstance(condition, Indexed):  # the content table's own policy, written in place
        inner, params = condition_sql(condition.condition, scope)
        table = quote(condition.content.name)
        return f"rowid IN (SELECT {quote(condition.key)} FROM {table} WHERE {inner})", params
    if not condition.members:
        return ("1" if condition.kind == "and" else "0"), ()
    parts = [condition_sql(m, scope) for m in condition.members]
    joiner = " AND " if condition.kind == "and" else " OR "
    sql = joiner.join(f"({part})" for part, _ in parts)
    return f"({sql})", tuple(v for _, values in parts for v in values)


def scoped(scope: Scope, table: Table, alias: str | None = None) -> Query:
    """`table` as a FROM item: its name, or only its visible rows under the same name (a
    subquery SQLite flattens into the statement, so indexes serve both)."""
    name = quote(table.name)
    condition = scope.conditions.get(fold(table.name))
    if condition is None:
        return Query(name if alias is None else f"{name} AS {alias}")
    columns = [quote(c.name) for c in table.columns]
    if table.fts is not None:  # search matches on it (search_clause)
        columns.append(quote(table.fts.key or "rowid"))
    if table.tie_breaker is not None:
        columns.append(quote(table.tie_breaker.name))  # pages are ordered by it last
    where, params = condition_sql(condition, scope)
    listed = ", ".join(dict.fromkeys(columns))
    return Query(f"(SELECT {listed} FROM {name} WHERE {where}) AS {alias or name}", params)


def filters_in(conditions: tuple[Condition, ...]) -> list[Filter]:
    """Every column filter in these conditions, however nested."""
    found: list[Filter] = []
    for condition in conditions:
        if isinstance(condition, Filter):
            found.append(condition)
        elif isinstance(condition, RelatedFilter | Indexed):
            found += filters_in((condition.condition,))
        else:
            found += filters_in(condition.members)
    return found
