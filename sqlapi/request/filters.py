"""Filter parameters -> conditions. Pure; every name is looked up in the schema.

col=v, col__op=v            a column (the whole key, if it is a column's name, wins)
col->a.0.b[__op]=v          the value at a path of the column's JSON text
fk_col.col[__op]=v          rows whose referenced row (across one foreign key) matches
_or=(f1,and(f2,f3),...)     a boolean group of `key.value` terms (see grammar)
"""

from __future__ import annotations

import re

from sqlapi.model.errors import ProblemError, bad_request
from sqlapi.model.schema import Column, Table
from sqlapi.model.values import Value, loose_value
from sqlapi.request.arguments import parse_bool, split_list
from sqlapi.request.columns import convert, find_column
from sqlapi.request.grammar import GrammarError, Group, Term, parse_group
from sqlapi.request.operators import NAMES, OPERATORS, Operator
from sqlapi.request.relations import key_of
from sqlapi.request.types import BoolGroup, Condition, Filter, RelatedFilter, RequestContext

MAX_IN_VALUES = 1000
_SEGMENT = re.compile(r"[A-Za-z0-9_]+")


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
            allowed=list(NAMES),
        )
    return key, "exact"


def parse_filter(
    table: Table, key: str, values: list[str], context: RequestContext, *, across: bool = True
) -> list[Condition]:
    """The conditions of one filter parameter (repeated: one per value, ANDed)."""
    name, op = _split_key(table, key)
    if table.column(name) is None and "->" in name:
        column_name, text = name.split("->", 1)
        column = find_column(table, column_name, key)
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
    column = find_column(table, name, key)
    return _filters(column, op, values, key, context, None)  # type: ignore[arg-type]


def _filters(
    column: Column,
    op: Operator,
    values: list[str],
    key: str,
    context: RequestContext,
    path: tuple[str | int, ...] | None,
) -> list[Condition]:
    """The conditions of one operator on one column, its value read as the operator's
    group reads it (request.operators)."""
    group = OPERATORS[op].group

    def typed(value: str) -> Value:
        return loose_value(value) if path is not None else convert(column, value, key)

    if group == "list":
        items = [item for value in values for item in split_list(value)]
        if len(items) > MAX_IN_VALUES:
            raise bad_request(f"{key}: at most {MAX_IN_VALUES} values")
        return [Filter(column, op, tuple(typed(item) for item in items), path=path)]
    found: list[Condition] = []
    for value in values:
        if group == "null":
            found.append(Filter(column, op, parse_bool(value, key), path=path))
        elif group == "array":
            forms = tuple(dict.fromkeys([value, loose_value(value)]))  # as text and as a number
            found.append(Filter(column, op, forms, path=path))
        elif group == "pattern":
            found.append(_pattern(column, op, value, key, context, path))
        else:
            found.append(Filter(column, op, typed(value), path=path))
    return found


def _pattern(
    column: Column,
    op: Operator,
    value: str,
    key: str,
    context: RequestContext,
    path: tuple[str | int, ...] | None,
) -> Filter:
    """A pattern filter, bounded: one LIKE or GLOB step costs the value's length times the
    pattern's, so a pattern looks only at values up to a length (docs/security.md)."""
    limits = context.limits
    longest = limits.max_pattern_length - 2
    if len(value) > longest:
        raise bad_request(
            f"{key}: a pattern of at most {longest} characters", problem_type="too-large"
        )
    return Filter(column, op, value, limits.max_pattern_steps // max(len(value), 1), path)


def parse_or(table: Table, text: str, context: RequestContext) -> tuple[BoolGroup, int]:
    """One `_or` parameter as a group of conditions, and how many terms it holds."""
    try:
        tree = parse_group(text, operators=NAMES)
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
