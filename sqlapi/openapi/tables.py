"""The per-table part of the OpenAPI document. Each table's row schema, filters and its
own parameters are defined once under components and referenced from its paths.

The filters of a table are one object parameter (`filters`, `style: form`, `explode:
true`): on the wire each member is its own query parameter (`year__gte=2000`), exactly
as sqlapi reads them, and the document names each filter once per table instead of
once per path (a 20-column table has some 250)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlapi.model.names import path_segment
from sqlapi.model.schema import Column, Schema, Table, fold
from sqlapi.openapi.aggregates import aggregate_path
from sqlapi.openapi.components import (
    STREAM,
    VARIANT,
    Json,
    filter_schema,
    pattern_text,
    problem_responses,
    ref,
    value_schema,
)
from sqlapi.openapi.names import component_names
from sqlapi.request.operators import operators_for
from sqlapi.request.reserved import RESERVED
from sqlapi.request.types import RequestLimits

_KEY_PATTERNS = {"integer": "[+-]?[0-9]{1,18}", "boolean": "(?:true|false|1|0)"}
EVENTS_DESCRIPTION = (
    "An endless text/event-stream: `retry:` on connect; `event: change` when another process "
    "commits; for tables with an INTEGER key, `event: row` with `id:` and the row as JSON for "
    "each new row; `: keep-alive` comments when idle."
)


@dataclass
class Parts:
    """Pieces of an OpenAPI document: paths and components, and which table owns which
    (so that a document of one table can be cut out)."""

    paths: dict[str, Json] = field(default_factory=dict)
    schemas: dict[str, Json] = field(default_factory=dict)
    parameters: dict[str, Json] = field(default_factory=dict)
    owners: dict[str, str] = field(default_factory=dict)  # path -> table


def _operation(
    operation_id: str, summary: str, tags: list[str], parameters: list[Json], ok: Json,
    errors: tuple[str, ...],
) -> Json:  # fmt: skip
    return {
        "get": {
            "operationId": operation_id,
            "summary": summary,
            "tags": tags,
            "parameters": parameters,
            "responses": {"200": ok, **problem_responses(errors)},
        }
    }


def _json_answer(schema: Json, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _path_param(name: str, schema: Json, description: str) -> Json:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description}  # fmt: skip


class TableDocument:
    """The per-table paths and components of a schema."""

    def __init__(self, schema: Schema, limits: RequestLimits, errors: tuple[str, ...]) -> None:
        self.schema = schema
        self.limits = limits
        self.errors = errors
        self.names = component_names(schema.tables)
        self.own: dict[str, Json] = {}  # the parameters of the table being added
        self.schemas: dict[str, Json] = {}

    def build(self) -> Parts:
        parts = Parts()
        for table in self.schema.tables:
            self.add(parts, table)
        return parts

    def add(self, parts: Parts, table: Table) -> None:
        base = self.names[table.name]
        parts.schemas[f"{base}Row"] = row_schema(table, self.related_members(table))
        parts.schemas[f"{base}Page"] = page_schema(base)
        parts.schemas[f"{base}Filters"] = filters_schema(table, self.limits)
        self.own = table_parameters(table, base)
        parts.parameters |= self.own
        self.schemas = parts.schemas
        if table.key_columns:
            parts.schemas[f"{base}RowResponse"] = {
                "type": "object",
                "required": ["row"],
                "properties": {"row": ref("schemas", f"{base}Row")},
            }
        for path, item in self.table_paths(table, base).items():
            parts.paths[path] = item
            parts.owners[path] = table.name

    def related_members(self, table: Table) -> dict[str, Json]:
        """The members `_expand` and `_embed` add under their default names (the related
        table's), typed with its row schema."""
        members: dict[str, Json] = {}
        for key in table.foreign_keys:
            row = ref("schemas", f"{self.names[key.table]}Row")
            members.setdefault(key.table, {"anyOf": [row, {"type": "null"}]})
        for reference in table.referenced_by:
            row = ref("schemas", f"{self.names[reference.table]}Row")
            members.setdefault(reference.table, {
                "type": "object",
                "required": ["rows", "next_url"],
                "properties": {"rows": {"type": "array", "items": row},
                               "next_url": {"type": ["string", "null"]}},
            })  # fmt: skip
        columns = {fold(c.name) for c in table.columns}
        return {name: m for name, m in members.items() if fold(name) not in columns}

    def table_paths(self, table: Table, base: str) -> dict[str, Json]:
        prefix = f"/api/tables/{path_segment(table.name)}"
        tags, errors, mine = [table.name], self.errors, f"{base}_"
        filters = [ref("parameters", "or"), ref("parameters", f"{mine}filters")]
        search = [ref("parameters", "search")] if table.fts is not None else []
        related = [ref("parameters", f"{mine}{n}") for n in ("expand", "embed", "json")
                   if f"{mine}{n}" in self.own]  # fmt: skip
        if table.referenced_by:
            related.append(ref("parameters", "embed_limit"))
        rows_parameters = [
            ref("parameters", f"{mine}select"), ref("parameters", f"{mine}sort"),
            *(ref("parameters", n) for n in ("limit", "after", "offset", "count")), *search,
            *(ref("parameters", n) for n in ("shape", "format", "ints")), *related, *filters,
        ]  # fmt: skip
        page = _json_answer(ref("schemas", f"{base}Page"), "a page of rows")
        page["content"] |= {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        }
        column = _path_param(
            "column", {"enum": [path_segment(c.name) for c in table.columns]}, "the column"
        )
        paths = {
            f"{prefix}/rows": _operation(
                f"list_{base}_rows", f"Rows of {table.kind} {table.name}", tags,
                rows_parameters, page, errors,
            ),
            f"{prefix}/columns/{{column}}": _operation(
                f"list_{base}_column_values", f"Distinct values of a column of {table.name}",
                tags, [column, ref("parameters", "limit"), ref("parameters", "after"), *search,
                       ref("parameters", "ints"), *filters],
                _json_answer(ref("schemas", "ColumnValues"), "values, most frequent first"),
                errors,
            ),
        }  # fmt: skip
        events = _operation(
            f"stream_{base}_events", f"Live updates of {table.name} (Server-Sent Events)", tags,
            [ref("parameters", f"{mine}select"), ref("parameters", "ints"),
             *(r for r in related if r["$ref"].endswith("_json")),
             ref("parameters", "LastEventID"), *filters],
            {"description": EVENTS_DESCRIPTION,
             "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            errors,
        )  # fmt: skip
        events["get"][STREAM] = True
        paths[f"{prefix}/events"] = events
        if table.kind == "table" or table.kind == "view":
            path, item, schemas = aggregate_path(table, base, errors, filters)
            paths[path] = item
            self.schemas |= schemas
        if table.key_columns:
            paths[f"{prefix}/rows/{{pk}}"] = _operation(
                f"get_{base}_row", f"One row of {table.name} by its key", tags,
                [key_parameter(table), ref("parameters", "ints"), *related],
                _json_answer(ref("schemas", f"{base}RowResponse"), "the row"), errors,
            )  # fmt: skip
        return paths


def row_schema(table: Table, related: dict[str, Json] | None = None) -> Json:
    """A row in the default shape: every column is there (null when it has no value;
    `_select` is a variant described apart); `related` members come only when asked for."""
    return {
        "type": "object",
        "properties": {c.name: value_schema(c) for c in table.columns} | (related or {}),
        "required": [c.name for c in table.columns],
        "additionalProperties": False,
    }


def page_schema(base: str) -> Json:
    nullable_string = {"type": ["string", "null"]}
    return {
        "type": "object",
        "required": ["rows", "next", "next_url"],
        "properties": {
            "rows": {"type": "array", "items": ref("schemas", f"{base}Row")},
            "next": {**nullable_string, "description": "cursor of the next page; null on the last"},
            "next_url": {**nullable_string, "description": "this request with _after=next"},
            "count": {"type": "integer", "description": "matching rows; only with _count=true"},
        },
    }


def _filter_names(column: Column) -> list[tuple[str, str | None]]:
    ops = operators_for(column.json_type)
    return [(column.name, None), *((f"{column.name}__{op.name}", op.name) for op in ops)]


def filters_schema(table: Table, limits: RequestLimits) -> Json:
    """Every filter the document lists for the table, typed like its column."""
    properties: dict[str, Json] = {}
    longest = limits.max_pattern_length - 2
    for column in table.columns:
        for name, op in _filter_names(column):
            if name in properties or name in RESERVED:
                continue  # a column named like another's filter: the first keeps the name
            schema = filter_schema(column, op)
            if schema == {"type": "string"} and op is not None:
                schema = {"type": "string", "maxLength": longest}
            properties[name] = schema
    return {
        "type": "object",
        "description": f"Filters of {table.name}, each its own query parameter "
        "(`year__gte=2000`): `col` or `col__op`; repeated filters are ANDed. Every operator "
        "applies to every column; those listed are the ones that make sense for its type. "
        "Also accepted, not listed: `fk_column.col[__op]` (across a foreign key) and "
        "`col->key.0.key[__op]` (a value inside JSON text).",
        "properties": properties,
        "additionalProperties": False,
    }


def table_parameters(table: Table, base: str) -> dict[str, Json]:
    """A table's own parameters: its filters object, and `_select`/`_sort` listing its
    columns."""
    names = [c.name for c in table.columns]
    own = {
        f"{base}_filters": {
            "name": "filters",
            "in": "query",
            "style": "form",
            "explode": True,
            "schema": ref("schemas", f"{base}Filters"),
            "description": "the table's filters, each its own query parameter",
            "example": {},  # Swagger UI would otherwise fill in every filter
        },
        f"{base}_select": {
            "name": "_select",
            "in": "query",
            "style": "form",
            "explode": False,
            "schema": {"type": "array", "items": {"enum": names}},
            "description": "only these columns (the answer's rows then hold only these)",
            VARIANT: "a row with only the selected members",
        },
        f"{base}_sort": {
            "name": "_sort",
            "in": "query",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "items": {"enum": [p + n for n in names for p in ("", "-")]},
            },
            "description": "order by these columns; '-' for descending; the key breaks ties",
        },
    }
    return own | _relation_parameters(table, base) | _json_parameter(table, base)


_ALIAS = "(?:[A-Za-z_][A-Za-z0-9_]*:)?"


def _relation_parameters(table: Table, base: str) -> dict[str, Json]:
    """`_expand` listing the table's foreign keys, `_embed` the tables that refer to it."""
    own: dict[str, Json] = {}
    alias = _ALIAS
    if table.foreign_keys:
        keys = "|".join(pattern_text(k.columns[0]) for k in table.foreign_keys)
        own[f"{base}_expand"] = _list_parameter(
            "_expand", f"^{alias}(?:{keys})(?:\\(.+\\))?$",
            "add the row each foreign key refers to: `[alias:]fk_column[(col,...)]`, under "
            "the alias or the referenced table's name (`null` when there is none); keys: "
            + ", ".join(k.columns[0] for k in table.foreign_keys),
        )  # fmt: skip
    if table.referenced_by:
        children = "|".join(
            pattern_text(n)
            for r in table.referenced_by
            for n in (r.table, f"{r.table}.{r.columns[0]}")
        )
        own[f"{base}_embed"] = _list_parameter(
            "_embed", f"^{alias}(?:{children})(?:\\(.+\\))?$",
            "add the rows of another table that refer to each row (at most _embed_limit, "
            "with a next_url): `[alias:]child_table[.fk_column][(col,...)]`; tables: "
            + ", ".join(sorted({r.table for r in table.referenced_by})),
        )  # fmt: skip
    return own


def _json_parameter(table: Table, base: str) -> dict[str, Json]:
    own: dict[str, Json] = {}
    texts = [c.name for c in table.columns if c.json_type in ("string", "any")]
    if texts:
        own[f"{base}_json"] = {
            "name": "_json", "in": "query", "style": "form", "explode": False,
            "schema": {"type": "array", "items": {"enum": texts}},
            "description": "send these columns' JSON text as JSON values (text that is not "
            "valid JSON stays a string)",
            VARIANT: "members as JSON values",
        }  # fmt: skip
    return own


def _list_parameter(name: str, pattern: str, description: str) -> Json:
    return {
        "name": name, "in": "query", "style": "form", "explode": True,
        "schema": {"type": "array", "items": {"type": "string", "pattern": pattern}},
        "description": description,
        VARIANT: "related members, under an alias or with some columns",
    }  # fmt: skip


def key_parameter(table: Table) -> Json:
    keys = table.key_columns
    if len(keys) == 1:
        return _path_param("pk", filter_schema(keys[0], None), f"the row's {keys[0].name}")
    names = ", ".join(c.name for c in keys)
    pattern = "^" + ",".join(_KEY_PATTERNS.get(c.json_type, "[^,]*") for c in keys) + "$"
    return _path_param(
        "pk",
        {"type": "string", "pattern": pattern},
        f"the row's ({names}) joined by ','; in each value ',' is ~2C and '~' is ~7E",
    )
