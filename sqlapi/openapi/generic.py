"""Paths that are not one table's: `/api/data/{column}` once per column name (typed by the
columns of that name, filtered by their tables' filters), and one path per named query."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlapi.auth.settings import NamedQuery
from sqlapi.model.names import path_segment
from sqlapi.model.schema import Schema, Table, fold
from sqlapi.openapi.components import INT64, Json, problem_responses, ref, value_schema
from sqlapi.openapi.names import safe_name
from sqlapi.openapi.tables import Parts, filters_schema
from sqlapi.request.types import RequestLimits

_QUERY_TYPES: dict[str, Json] = {
    "integer": INT64,
    "number": {"type": "number"},
    "string": {"type": "string"},
}
_NEXT = {"type": ["string", "null"]}
JSON = "application/json"


def _answers(tables: list[Table], name: str) -> Json:
    """The answer of `/api/data/{name}`: one object schema when the column has one type
    wherever it is, else one per type, told apart by `table` (a client narrows on it)."""
    by_type: dict[str, tuple[Json, list[str]]] = {}
    for table in tables:
        column = table.column(name)
        assert column is not None
        value = value_schema(column, described=False)
        by_type.setdefault(json.dumps(value, sort_keys=True), (value, []))[1].append(table.name)
    answers = [_answer(value, names if len(by_type) > 1 else None)
               for value, names in by_type.values()]  # fmt: skip
    return answers[0] if len(answers) == 1 else {"oneOf": answers}


def _answer(value: Json, tables: list[str] | None) -> Json:
    return {
        "type": "object",
        "required": ["table", "column", "values", "next", "next_url"],
        "properties": {
            "table": {"type": "string"} if tables is None else {"enum": tables},
            "column": {"type": "string"},
            "values": {"type": "array", "items": value},
            "next": _NEXT,
            "next_url": _NEXT,
        },
    }


def _candidates(tables: list[Table]) -> list[Table]:
    """The tables `/api/data` chooses among without `_table` (services.table_for_column):
    plain tables, then full-text tables, then views, the first group that has any."""
    plain = [t for t in tables if t.kind == "table" and (t.fts is None or t.fts.key is not None)]
    full_text = [
        t for t in tables if t.kind == "table" and (t.fts is not None and t.fts.key is None)
    ]
    return plain or full_text or tables


def _common_filters(
    tables: list[Table], names: Mapping[str, str], limits: RequestLimits, parts: Parts
) -> Json:
    """Filters every table in `tables` takes, typed the same (any may be `_table`); one
    component for each such set of columns, however many column names share it."""
    if len(tables) == 1:
        return ref("schemas", f"{names[tables[0].name]}Filters")
    kinds = [{(fold(c.name), c.json_type) for c in t.columns} for t in tables]
    common = set.intersection(*kinds)
    first = tables[0]
    shared = tuple(c for c in first.columns if (fold(c.name), c.json_type) in common)
    signature = "\x1f".join(f"{c.name}\x1e{c.json_type}" for c in shared)
    name = "CommonFilters_" + hashlib.blake2s(signature.encode(), digest_size=4).hexdigest()
    if name not in parts.schemas:
        schema = filters_schema(dataclasses.replace(first, columns=shared, _by_name={}), limits)
        schema["description"] = "the filters every table with this column takes"
        parts.schemas[name] = schema
    return ref("schemas", name)


def data_paths(
    schema: Schema,
    names: Mapping[str, str],
    errors: tuple[str, ...],
    parts: Parts,
    limits: RequestLimits,
) -> None:
    """`/api/data/{column}` for each column name: its values typed as the columns of that
    name are, `_table` choosing among the tables that have it (required when the choice
    would be ambiguous), with the filters and sort columns all of them take."""
    by_name: dict[str, list[Table]] = {}
    spelled: dict[str, str] = {}
    for table in schema.tables:
        for column in table.columns:
            by_name.setdefault(fold(column.name), []).append(table)
            spelled.setdefault(fold(column.name), column.name)
    taken: set[str] = set()
    for folded, tables in by_name.items():
        name = spelled[folded]
        operation = safe_name(name, taken)
        taken.add(operation.lower())
        search = [ref("parameters", "search")] if all(t.fts for t in tables) else []
        shared = set.intersection(*({fold(c.name) for c in t.columns} for t in tables))
        orders = [p + c.name for c in tables[0].columns if fold(c.name) in shared
                  for p in ("", "-")]  # fmt: skip
        parameters = [
            {"name": "_table", "in": "query", "schema": {"enum": [t.name for t in tables]},
             "description": "the table, when several have the column",
             "required": len(_candidates(tables)) > 1},
            {"name": "_sort", "in": "query", "style": "form", "explode": False,
             "schema": {"type": "array", "items": {"enum": orders}},
             "description": "order; '-' for descending"},
            *(ref("parameters", p) for p in ("limit", "after", "offset")), *search,
            ref("parameters", "ints"),
            {"name": "filters", "in": "query", "style": "form", "explode": True,
             "schema": _common_filters(tables, names, limits, parts), "example": {},
             "description": "the table's filters, each its own parameter"},
        ]  # fmt: skip
        answer = _answers(tables, name)
        parts.paths[f"/api/data/{path_segment(name)}"] = {
            "get": {
                "operationId": f"data_{operation}",
                "summary": f"The values of {name}",
                "description": "From the one exposed table that has the column (plain tables "
                "before full-text tables before views); `_table` chooses when several do. The "
                "filters of that table apply.",
                "tags": ["data"],
                "parameters": parameters,
                "responses": {
                    "200": {"description": "values", "content": {JSON: {"schema": answer}}},
                    **problem_responses(errors),
                },
            }
        }  # fmt: skip


def query_paths(
    queries: Mapping[str, NamedQuery],
    columns: Mapping[str, list[str]],
    errors: tuple[str, ...],
    parts: Parts,
) -> None:
    """One path per named query, its parameters typed as configured."""
    for name, query in queries.items():
        row: dict[str, Any] = {
            "type": "object",
            "properties": {column: {} for column in columns.get(name, [])},
            "additionalProperties": False,
        }
        page = {
            "type": "object",
            "required": ["query", "rows", "next", "next_url"],
            "properties": {
                "query": {"type": "string"},
                "rows": {"type": "array", "items": row},
                "next": _NEXT,
                "next_url": _NEXT,
            },
        }
        parameters: list[Json] = [
            {"name": p, "in": "query", "required": True, "schema": _QUERY_TYPES[kind],
             "description": f"{kind} parameter :{p}"}
            for p, kind in query.params.items()
        ]  # fmt: skip
        parameters += [ref("parameters", p) for p in ("limit", "after", "shape", "ints")]
        parts.paths[f"/api/queries/{path_segment(name)}"] = {
            "get": {
                "operationId": f"query_{safe_name(name)}",
                "summary": query.description or f"The named query {name}",
                "tags": ["queries"],
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "a page of the query's rows",
                        "content": {"application/json": {"schema": page}},
                    },
                    **problem_responses(errors),
                },
            }
        }
