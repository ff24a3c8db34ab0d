"""schemathesis hooks for tests/test_openapi.py, driven by the document's own markers on
an operation's parameters. What a JSON schema cannot say is left out of generated
requests:

- `x-sqlapi-variant` (`_select`, `_shape`, `_ints`): changes the answer's shape away from
  the default one the response schemas describe;
- `x-sqlapi-cursor` (`_after`): valid only as this API sent it;
- `x-sqlapi-grammar` (`_or`): valid when it parses by its grammar;
- `x-sqlapi-depends-on` (an aggregate's `_sort`): valid values follow from other
  parameters' values (the group keys and outputs asked for).

tests/test_routes_rows.py, tests/test_rows_property.py, tests/test_grammar.py,
tests/test_filters_property.py and tests/test_aggregates.py cover them."""

from __future__ import annotations

from typing import Any

import schemathesis

MARKERS = ("x-sqlapi-variant", "x-sqlapi-cursor", "x-sqlapi-grammar", "x-sqlapi-depends-on")


def _marked(operation: Any) -> set[str]:
    """The names of the operation's parameters that carry a marker."""
    shared = operation.schema.raw_schema.get("components", {}).get("parameters", {})
    names = set()
    for parameter in operation.definition.raw.get("parameters", []):
        if "$ref" in parameter:
            parameter = shared.get(parameter["$ref"].rsplit("/", 1)[-1], {})
        if any(parameter.get(marker) for marker in MARKERS):
            names.add(parameter["name"])
    return names


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    if query:
        for name in _marked(ctx.operation):
            query.pop(name, None)
    return query


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Every phase (the coverage phase does not go through map_query)."""
    if case.query:
        for name in _marked(case.operation):
            case.query.pop(name, None)
