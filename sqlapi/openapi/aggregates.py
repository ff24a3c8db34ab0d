"""A table's aggregate path in the OpenAPI document: the group keys and outputs it allows
(sum and avg only of numeric columns, date buckets only of columns that can hold ISO-8601
text), and its rows typed by what each output holds."""

from __future__ import annotations

from sqlapi.model.names import path_segment
from sqlapi.model.schema import Table
from sqlapi.openapi.components import (
    DEPENDS_ON,
    INT64,
    Json,
    problem_responses,
    ref,
    value_schema,
)
from sqlapi.request.aggregates import output_column, possible_terms
from sqlapi.request.types import Aggregate, GroupKey


def _items(values: list[str], description: str, name: str) -> Json:
    return {
        "name": name, "in": "query", "style": "form", "explode": False,
        "schema": {"type": "array", "items": {"enum": values}}, "description": description,
    }  # fmt: skip


def aggregate_path(
    table: Table, base: str, errors: tuple[str, ...], filters: list[Json]
) -> tuple[str, Json, dict[str, Json]]:
    """(path, path item, schemas) of `/api/tables/{table}/aggregate`."""
    content = {
        "application/json": {"schema": ref("schemas", f"{base}Aggregates")},
        "application/x-ndjson": {"schema": {"type": "string"}},
        "text/csv": {"schema": {"type": "string"}},
    }
    item: Json = {
        "get": {
            "operationId": f"aggregate_{base}",
            "summary": f"Totals of {table.name} per group",
            "description": "Filters, `_or` and `_search` apply before grouping; results are "
            "cached until the file changes.",
            "tags": [table.name],
            "parameters": _parameters(table, filters),
            "responses": {
                "200": {"description": "a page of groups", "content": content},
                **problem_responses(errors),
            },
        }
    }
    schemas = {f"{base}AggregateRow": _row_schema(table), f"{base}Aggregates": _answer(base)}
    return f"/api/tables/{path_segment(table.name)}/aggregate", item, schemas


def _row_schema(table: Table) -> Json:
    """One group's row: its keys and outputs, typed by their columns or their names."""
    keys, outputs = possible_terms(table)
    listed: list[GroupKey | Aggregate] = [
        *(k for k in keys if k.bucket is None),
        *(a for a in outputs if a.function in ("sum", "min", "max")),
    ]  # typed as their columns; the others are typed by their names' pattern
    return {
        "type": "object",
        "properties": {t.name: value_schema(output_column(t), described=False) for t in listed},
        "patternProperties": {
            "^count(?:_distinct_.+)?$": INT64,
            "^avg_.+$": {"type": ["number", "null"]},
            "^(?:year|month|day|hour)_.+$": {"type": ["string", "null"]},
        },
        "additionalProperties": False,
        "description": "group keys (a column, or `month_borrowed` for month:borrowed) and "
        "outputs (`count`, `avg_rating` for avg:rating...), as asked",
    }  # fmt: skip


def _answer(base: str) -> Json:
    return {
        "type": "object",
        "required": ["table", "group", "rows", "next", "next_url"],
        "properties": {
            "table": {"type": "string"},
            "group": {"type": "array", "items": {"type": "string"}},
            "rows": {"type": "array", "items": ref("schemas", f"{base}AggregateRow")},
            "next": {"type": ["string", "null"]},
            "next_url": {"type": ["string", "null"]},
        },
    }


def _parameters(table: Table, filters: list[Json]) -> list[Json]:
    keys, outputs = possible_terms(table)
    group = [f"{k.bucket}:{k.column.name}" if k.bucket else k.column.name for k in keys]
    functions = [
        f"{a.function}:{a.column.name}" if a.column is not None else a.function for a in outputs
    ]
    search = [ref("parameters", "search")] if table.fts is not None else []
    return [
        _items(group, "group by these columns, or date buckets of ISO-8601 text "
               "(year:, month:, day:, hour:)", "_group"),
        _items(functions, "outputs (default count)", "_agg"),
        {"name": "_sort", "in": "query", "style": "form", "explode": False,
         "schema": {"type": "array", "items": {"type": "string"}},
         "description": "order by group keys or outputs (their names, as _group and _agg "
                        "ask for them); '-' for descending",
         DEPENDS_ON: ["_group", "_agg"]},
        *(ref("parameters", n) for n in ("limit", "after", "format", "ints")), *search, *filters,
    ]  # fmt: skip
