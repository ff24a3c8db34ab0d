"""The per-table part of the OpenAPI document: one set of typed paths per table or view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from sqlapi import models
from sqlapi.keys import path_segment
from sqlapi.params import RESERVED, RequestLimits
from sqlapi.query import OPERATORS
from sqlapi.schema import Schema, Table

REF = "#/components/schemas/{model}"
PROBLEM_STATUSES = {
    "400": "Bad request: the detail says which parameter",
    "401": "No API key, or not a valid one",
    "403": "Not allowed: a table outside the key's scope, or a refused statement",
    "404": "Not found",
    "503": "The database is busy or unreadable",
}
_FILTER_TYPES: dict[str, dict[str, Any]] = {
    "integer": models.INT64_SCHEMA,
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "blob": {"type": "string", "format": "byte"},
}
_PATTERN_OPS = ("contains", "startswith", "endswith", "like", "glob")
LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "schema": {"type": "string", "pattern": "^[+-]?[0-9]+$"},
    "description": "resume after this row id (EventSource sends it on reconnect)",
}
EVENTS_DESCRIPTION = (
    "An endless text/event-stream: `retry:` on connect; `event: change` when another process "
    "commits; for tables with an INTEGER key, `event: row` with `id:` and the row as JSON for "
    "each new row; `: keep-alive` comments when idle."
)
_KEY_PATTERNS = {"integer": "[+-]?[0-9]+", "boolean": "(?:true|false|1|0)"}


def _ref(model: type[BaseModel] | str) -> dict[str, str]:
    name = model if isinstance(model, str) else model.model_config.get("title") or model.__name__
    return {"$ref": REF.format(model=name)}


def _param(
    name: str, schema: dict[str, Any], description: str, where: str = "query"
) -> dict[str, Any]:
    param: dict[str, Any] = {
        "name": name,
        "in": where,
        "schema": schema,
        "description": description,
    }
    if where == "path":
        param["required"] = True
    if schema.get("type") == "array":
        param.update(style="form", explode=False)
    return param


def filter_parameters(table: Table) -> list[dict[str, Any]]:
    """Every column filter and operator of a table, typed like the column."""
    params: list[dict[str, Any]] = []
    for column in table.columns:
        typed = _FILTER_TYPES.get(column.json_type, {"type": "string"})
        label = f"{column.name} ({column.type or 'no declared type'})"
        params.append(_param(column.name, typed, f"{label} equals"))
        for op in OPERATORS:
            if op in ("exact", "not", "gt", "gte", "lt", "lte"):
                schema, text = typed, {"exact": "equals", "not": "differs from"}.get(op, op)
            elif op in _PATTERN_OPS:
                schema, text = {"type": "string"}, f"{op} (LIKE/GLOB pattern)"
            elif op in ("in", "notin"):
                schema = {"type": "array", "items": typed}
                text = "is one of" if op == "in" else "is none of"
            else:
                schema, text = {"type": "boolean"}, "IS NULL" if op == "isnull" else "IS NOT NULL"
            params.append(_param(f"{column.name}__{op}", schema, f"{label} {text}"))
    return params


def _names_enum(table: Table) -> list[str]:
    return [c.name for c in table.columns]


def reserved_parameters(
    table: Table, limits: RequestLimits, which: tuple[str, ...]
) -> list[dict[str, Any]]:
    columns = _names_enum(table)
    available: dict[str, dict[str, Any]] = {
        "_select": _param(
            "_select", {"type": "array", "items": {"enum": columns}}, "only these columns"
        ),
        "_sort": _param(
            "_sort",
            {"type": "array", "items": {"enum": [p + c for c in columns for p in ("", "-")]}},
            "order by these columns; '-' for descending; the key breaks ties",
        ),
        "_limit": _param(
            "_limit",
            {"type": "integer", "minimum": 1, "maximum": limits.max_limit},
            f"page size (default {limits.default_limit})",
        ),
        "_after": _param("_after", {"type": "string"}, "cursor: the `next` of the previous page"),
        "_offset": _param("_offset", {**models.INT64_SCHEMA, "minimum": 0}, "skip this many rows"),
        "_count": _param("_count", {"type": "boolean"}, "add the exact count of matching rows"),
        "_search": _param("_search", {"type": "string"}, "full-text search (words are ANDed)"),
        "_shape": _param("_shape", {"enum": ["objects", "arrays"]}, "rows as objects or arrays"),
        "_format": _param("_format", {"enum": ["json"]}, "response format"),
        "_ints": _param(
            "_ints", {"enum": ["number", "string"]}, "string: integers beyond ±(2^53-1) as strings"
        ),
    }
    if table.fts is None:
        available.pop("_search")
    return [available[name] for name in which if name in available]


def _dedupe(params: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A column named like a reserved parameter or like `other__op` is left to the first."""
    seen: set[str] = set()
    unique = []
    for param in params:
        if param["name"] not in seen:
            seen.add(param["name"])
            unique.append(param)
    return unique


def _problems(statuses: tuple[str, ...]) -> dict[str, Any]:
    return {
        status: {
            "description": PROBLEM_STATUSES[status],
            "content": {"application/problem+json": {"schema": _ref(models.Problem)}},
        }
        for status in statuses
    }


def _responses(ok: dict[str, Any], description: str, errors: tuple[str, ...]) -> dict[str, Any]:
    success = {"description": description, "content": {"application/json": {"schema": ok}}}
    return {"200": success, **_problems(errors)}


def _key_parameter(table: Table) -> dict[str, Any]:
    keys = table.key_columns
    if len(keys) == 1:
        schema = _FILTER_TYPES.get(keys[0].json_type, {"type": "string"})
        return _param("pk", schema, f"the row's {keys[0].name}", "path")
    names = ", ".join(c.name for c in keys)
    text = f"the row's ({names}) joined by ','; in each value ',' is ~2C and '~' is ~7E"
    pattern = "^" + ",".join(_KEY_PATTERNS.get(c.json_type, "[^,]*") for c in keys) + "$"
    return _param("pk", {"type": "string", "pattern": pattern}, text, "path")


class TableDocument:
    """The per-table part of the document: paths and components."""

    def __init__(
        self, schema: Schema, limits: RequestLimits, errors: tuple[str, ...] = ("400", "404", "503")
    ) -> None:
        self.schema = schema
        self.limits = limits
        self.errors = errors
        self.names = models.component_names(schema.tables)

    def build(self) -> tuple[dict[str, Any], dict[str, Any]]:
        paths: dict[str, Any] = {}
        generated: list[type[BaseModel]] = [models.Problem, models.ColumnValues]
        for table in self.schema.tables:
            base = self.names[table.name]
            row = models.row_model(table, base)
            page, one = models.page_model(row, base), models.one_row_model(row, base)
            generated += [row, page, one]
            for path, item in self.table_paths(table, base, page, one).items():
                item["get"]["responses"] |= _problems(self.errors)
                paths[path] = item
        _, definitions = models_json_schema(
            [(m, "serialization") for m in generated], ref_template=REF
        )
        return paths, definitions.get("$defs", {})

    def table_paths(
        self, table: Table, base: str, page: type[BaseModel], one: type[BaseModel]
    ) -> dict[str, Any]:
        prefix = f"/api/tables/{path_segment(table.name)}"
        filters = filter_parameters(table)
        rows_reserved = reserved_parameters(table, self.limits, RESERVED)
        column = _param(
            "column", {"enum": [path_segment(c) for c in _names_enum(table)]}, "the column", "path"
        )
        values = reserved_parameters(table, self.limits, ("_limit", "_after", "_search", "_ints"))
        paths = {
            f"{prefix}/rows": _operation(
                f"list_{base}_rows",
                f"Rows of {table.kind} {table.name}",
                table,
                [*rows_reserved, *filters],
                _ref(page),
                "a page of rows; filter with any column parameter",
            ),
            f"{prefix}/columns/{{column}}": _operation(
                f"list_{base}_column_values",
                f"Distinct values of a column of {table.name}",
                table,
                [column, *values, *filters],
                _ref(models.ColumnValues),
                "values, most frequent first",
            ),
        }
        narrowing = reserved_parameters(table, self.limits, ("_select", "_ints"))
        events = _operation(
            f"stream_{base}_events", f"Live updates of {table.name} (Server-Sent Events)", table,
            [*narrowing, LAST_EVENT_ID, *filters], {"type": "string"}, EVENTS_DESCRIPTION,
        )  # fmt: skip
        ok = events["get"]["responses"]["200"]
        ok["content"] = {"text/event-stream": ok["content"]["application/json"]}
        paths[f"{prefix}/events"] = events
        if table.key_columns:
            paths[f"{prefix}/rows/{{pk}}"] = _operation(
                f"get_{base}_row",
                f"One row of {table.name} by its key",
                table,
                [_key_parameter(table), *reserved_parameters(table, self.limits, ("_ints",))],
                _ref(one),
                "the row",
            )
        return paths


def _operation(
    operation_id: str,
    summary: str,
    table: Table,
    parameters: list[dict[str, Any]],
    ok: dict[str, Any],
    description: str,
) -> dict[str, Any]:
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": [table.name],
            "parameters": _dedupe(parameters),
            "responses": _responses(ok, description, ("400", "404", "503")),
        }
    }


BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from the server's configuration: `Authorization: Bearer <key>`.",
}
PUBLIC_ERRORS = ("400", "404", "503")
API_ERRORS = ("400", "401", "403", "404", "503")


def query_paths(
    queries: dict[str, Any],
    columns: Mapping[str, list[str]],
    limits: RequestLimits,
    errors: tuple[str, ...],
) -> dict[str, Any]:
    """One path per named query, its parameters typed as configured."""
    types: dict[str, dict[str, Any]] = {
        "integer": models.INT64_SCHEMA,
        "number": {"type": "number"},
        "string": {"type": "string"},
    }
    paths = {}
    for name, query in queries.items():
        row = {
            "type": "object",
            "properties": {column: {} for column in columns.get(name, [])},
            "additionalProperties": False,
        }
        page = {
            "type": "object",
            "required": ["query", "rows", "next", "next_url"],
            "properties": {
                "query": {"type": "string"},
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"anyOf": [row, {"type": "array"}]}},
                "next": {"type": ["string", "null"]},
                "next_url": {"type": ["string", "null"]},
            },
        }
        parameters = [
            {**_param(p, types[kind], f"{kind} parameter :{p}"), "required": True}
            for p, kind in query.params.items()
        ]
        parameters += [
            _param(
                "_limit",
                {"type": "integer", "minimum": 1, "maximum": limits.max_limit},
                "page size",
            ),
            _param("_after", {"type": "string"}, "cursor: the `next` of the previous page"),
            _param("_shape", {"enum": ["objects", "arrays"]}, "rows as objects or arrays"),
            _param("_ints", {"enum": ["number", "string"]}, "big integers as strings"),
        ]
        paths[f"/api/queries/{path_segment(name)}"] = {
            "get": {
                "operationId": f"query_{models.safe_name(name)}",
                "summary": query.description or f"The named query {name}",
                "tags": ["queries"],
                "parameters": parameters,
                "responses": _responses(page, "a page of the query's rows", errors),
            }
        }
    return paths
