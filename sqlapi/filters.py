"""Filter parameters -> conditions. Pure; every name is looked up in the schema.

col=v, col__op=v            a column (the whole key, if it is a column's name, wins)
col->a.0.b[__op]=v          the value at a path of the column's JSON text
fk_col.col[__op]=v          rows whose referenced row (across one foreign key) matches
_or=(f1,and(f2,f3),...)     a boolean group of `key.value` terms (see grammar)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from sqlapi.errors import ProblemError, bad_request
from sqlapi.grammar import GrammarError, Group, Term, parse_group
from sqlapi.keys import Value, loose_value
from sqlapi.query import (
    ARRAY_OPERATORS,
    OPERATORS,
    PATTERN_OPERATORS,
    BoolGroup,
    Condition,
    Filter,
    Operator,
    RelatedFilter,
)
from sqlapi.relations import key_of
from sqlapi.schema import Column, Schema, Table

MAX_IN_VALUES = 1000
_SEGMENT = re.compile(r"[A-Za-z0-9_]+")
Readable = Callable[[Table], None]  # raises a 403 problem when the caller may not read it
Convert = Callable[[Column, str, str], Value]


@dataclass(frozen=True)
class FilterContext:
    """What filters are read against beyond their table: the schema (for keys across
    tables), what the caller may read, how a value is typed to a column, the bounds."""

    schema: Schema
    readable: Readable
    convert: Convert
    find_column: Callable[[Table, str, str], Column]
    max_pattern_length: int
    max_pattern_steps: int


def _split_list(value: str) -> list[str]:
    return value.split(",") if value else []


def _path(text: str, key: str) -> tuple[str | int, ...]:
    segments = text.split(".")
    if not all(_SEGMENT.fullmatch(s) for s in segments):
        raise bad_request(
            f"{key}: a JSON path is keys of letters, digits and '_' (or array indexes) "
            "joined by '.'",
            problem_type="bad-path",
        )
    return tuple(int(s) if s.isdigit() else s for s in segments)


def _split_key(table: Table, key: str) -> tuple[str, str]:
    """(name, operator) of a filter key; the whole key wins when it names a column."""
    if table.column(key) is not None or "__" not in key:
        return key, "exact"
    name, op = key.rsplit("__", 1)
    if op in OPERATORS:
        return name, op
    if table.column(name) is not None or "->" in name:
        raise bad_request(
            f"{key}: unknown operator {op!r}",
            problem_type="unknown-operator",
            allowed=list(OPERATORS),
        )
    return key, "exact"


def parse_filter(
    table: Table, key: str, values: list[str], context: FilterContext, *, across: bool = True
) -> list[Condition]:
    """The conditions of one filter parameter (repeated: one per value, ANDed)."""
    name, op = _split_key(table, key)
    if table.column(name) is None and "->" in name:
        column_name, text = name.split("->", 1)
        column = context.find_column(table, column_name, key)
        return _filters(column, op, values, key, context, _path(text, key))  # type: ignore[arg-type]
    if table.column(name) is None and across and "." in name:
        fk_name, rest = name.split(".", 1)
        found = key_of(table, fk_name)
        if found is not None:
            target = context.schema.table(found.table)
            assert target is not None  # exposed keys refer to exposed tables
            context.readable(target)
            inner_key = rest if op == "exact" and "__" not in rest else f"{rest}__{op}"
            inner = parse_filter(target, inner_key, values, context, across=False)
            local = tuple(c for n in found.columns if (c := table.column(n)) is not None)
            remote = tuple(c for n in found.references if n is not None and (c := target.column(n)))
            condition = inner[0] if len(inner) == 1 else BoolGroup("and", tuple(inner))
            return [RelatedFilter(local, target, remote, condition)]
    column = context.find_column(table, name, key)
    return _filters(column, op, values, key, context, None)  # type: ignore[arg-type]


def _filters(
    column: Column,
    op: Operator,
    values: list[str],
    key: str,
    context: FilterContext,
    path: tuple[str | int, ...] | None,
) -> list[Condition]:
    def typed(value: str) -> Value:
        return loose_value(value) if path is not None else context.convert(column, value, key)

    if op in ("in", "notin"):
        items = [item for value in values for item in _split_list(value)]
        if len(items) > MAX_IN_VALUES:
            raise bad_request(f"{key}: at most {MAX_IN_VALUES} values")
        return [Filter(column, op, tuple(typed(item) for item in items), path=path)]
    found: list[Condition] = []
    for value in values:
        if op in ("isnull", "notnull"):
            found.append(Filter(column, op, _bool(value, key), path=path))
        elif op in ARRAY_OPERATORS:
            forms = tuple(dict.fromkeys([value, loose_value(value)]))  # as text and as a number
            found.append(Filter(column, op, forms, path=path))
        elif op in PATTERN_OPERATORS:
            longest = context.max_pattern_length - 2
            if len(value) > longest:
                raise bad_request(
                    f"{key}: a pattern of at most {longest} characters", problem_type="too-large"
                )
            limit = context.max_pattern_steps // max(len(value), 1)
            found.append(Filter(column, op, value, limit, path))
        else:
            found.append(Filter(column, op, typed(value), path=path))
    return found


def _bool(value: str, key: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise bad_request(f"{key} must be true or false, not {value!r}")


def parse_or(table: Table, text: str, context: FilterContext) -> tuple[BoolGroup, int]:
    """One `_or` parameter as a group of conditions, and how many terms it holds."""
    try:
        tree = parse_group(text, operators=OPERATORS)
    except GrammarError as error:
        raise bad_request(
            f"_or: {error}", problem_type="bad-group", position=error.position
        ) from error
    terms = 0

    def build(node: Group | Term) -> Condition:
        nonlocal terms
        if isinstance(node, Term):
            terms += 1
            try:
                conditions = parse_filter(table, node.key, [node.value], context)
            except ProblemError as problem:
                problem.detail = f"_or: {problem.detail} (the term at {node.position})"
                raise
            return conditions[0] if len(conditions) == 1 else BoolGroup("and", tuple(conditions))
        return BoolGroup(node.kind, tuple(build(member) for member in node.members))

    group = build(tree)
    assert isinstance(group, BoolGroup)
    return group, terms
