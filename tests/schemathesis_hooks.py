"""schemathesis hooks for tests/test_openapi.py, driven by the document's own markers:
parameters marked as variants (`x-sqlapi-variant`: `_select`, `_shape`, `_ints`) change
the answer's shape away from the default one the response schemas describe, and a cursor
(`x-sqlapi-cursor`: `_after`) is valid only as this API sent it, and a boolean group
(`x-sqlapi-grammar`: `_or`) only when it parses by its grammar, which no JSON schema can
state. All are left out of generated requests; tests/test_routes_rows.py,
tests/test_rows_property.py, tests/test_grammar.py and tests/test_filters_property.py
cover them."""

from __future__ import annotations

from typing import Any

import schemathesis


def _variants(raw_schema: dict[str, Any]) -> set[str]:
    parameters = raw_schema.get("components", {}).get("parameters", {})
    marked = ("x-sqlapi-variant", "x-sqlapi-cursor", "x-sqlapi-grammar")
    return {p["name"] for p in parameters.values() if any(p.get(m) for m in marked)}


@schemathesis.hook
def map_query(ctx: Any, query: dict[str, Any] | None) -> dict[str, Any] | None:
    if query:
        for name in _variants(ctx.operation.schema.raw_schema):
            query.pop(name, None)
    return query


@schemathesis.hook
def before_call(ctx: Any, case: Any, **kwargs: Any) -> None:
    """Every phase (the coverage phase does not go through map_query)."""
    if case.query:
        for name in _variants(case.operation.schema.raw_schema):
            case.query.pop(name, None)
