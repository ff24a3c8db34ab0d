"""THE operator table: every filter operator once, with what the parser, the statement
builder and the OpenAPI document each need to know of it (as Datasette's filters.py lists
its operators, one row each). Nothing else names an operator's group or meaning."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from sqlapi.model.schema import JsonType

Operator = Literal[
    "exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith",
    "like", "glob", "in", "notin", "isnull", "notnull", "arraycontains", "arraynotcontains",
]  # fmt: skip
Group = Literal["comparison", "pattern", "list", "null", "array"]
_ALL: frozenset[JsonType] = frozenset({"integer", "number", "string", "boolean", "blob", "any"})
_ORDERED: frozenset[JsonType] = frozenset({"integer", "number", "string", "any"})
_TEXT: frozenset[JsonType] = frozenset({"string", "any"})


@dataclass(frozen=True)
class OperatorSpec:
    """One operator: its `group` decides how its value is read (a value of the column's
    type, a pattern, a list, true/false, a JSON value) and how it is written in SQL
    (`sql`: the comparison, `pattern` the LIKE pattern around an escaped value); `types`
    are the column types the document lists it for (every operator applies to every
    column; these are the ones that make sense)."""

    name: Operator
    group: Group
    sql: str
    types: frozenset[JsonType]
    description: str
    pattern: str | None = None  # `contains` etc.: the LIKE pattern around the value

    @property
    def costly(self) -> bool:
        """One step of it can cost the product of two lengths (a value's and a pattern's):
        never run where a budget checked between steps is all that bounds it."""
        return self.group in ("pattern", "array")


OPERATORS: Mapping[str, OperatorSpec] = {
    spec.name: spec
    for spec in (
        OperatorSpec("exact", "comparison", "=", _ALL, "equal to"),
        OperatorSpec("not", "comparison", "!=", _ALL, "not equal to"),
        OperatorSpec("gt", "comparison", ">", _ORDERED, "greater than"),
        OperatorSpec("gte", "comparison", ">=", _ORDERED, "greater than or equal to"),
        OperatorSpec("lt", "comparison", "<", _ORDERED, "less than"),
        OperatorSpec("lte", "comparison", "<=", _ORDERED, "less than or equal to"),
        OperatorSpec("contains", "pattern", "LIKE", _TEXT, "contains (case-insensitive)", "%{}%"),
        OperatorSpec("startswith", "pattern", "LIKE", _TEXT, "starts with", "{}%"),
        OperatorSpec("endswith", "pattern", "LIKE", _TEXT, "ends with", "%{}"),
        OperatorSpec("like", "pattern", "LIKE", _TEXT, "SQL LIKE pattern (% and _)"),
        OperatorSpec("glob", "pattern", "GLOB", _TEXT, "SQL GLOB pattern (* ? [...])"),
        OperatorSpec("in", "list", "IN", _ALL - {"boolean"}, "one of these (comma-separated)"),
        OperatorSpec("notin", "list", "NOT IN", _ALL - {"boolean"}, "none of these"),
        OperatorSpec("isnull", "null", "IS NULL", _ALL, "true: is null; false: is not"),
        OperatorSpec("notnull", "null", "IS NOT NULL", _ALL, "true: is not null; false: is"),
        OperatorSpec("arraycontains", "array", "EXISTS", _TEXT, "its JSON array holds this"),
        OperatorSpec("arraynotcontains", "array", "NOT EXISTS", _TEXT, "its JSON array lacks it"),
    )
}
NAMES: tuple[Operator, ...] = tuple(OPERATORS)  # type: ignore[arg-type]


def operators_for(json_type: JsonType) -> tuple[OperatorSpec, ...]:
    """The operators the document lists for a column of this type (`exact` is the column's
    own name)."""
    return tuple(s for s in OPERATORS.values() if json_type in s.types and s.name != "exact")
