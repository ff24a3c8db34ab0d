"""The OpenAPI document: quart-schema's provider, taught that one generic route is one
path per table. Built once per schema and cached (as JSON bytes too)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from quart import Quart, Response, request
from quart_schema import QuartSchema, hide
from quart_schema.openapi import Info, OpenAPIProvider
from werkzeug.routing import Rule

from sqlapi import __version__, models
from sqlapi.encoding import dumps
from sqlapi.keys import path_segment
from sqlapi.params import Limits
from sqlapi.query import OPERATORS
from sqlapi.schema import Schema, Table

REF = "#/components/schemas/{model}"
PER_TABLE_ENDPOINTS = frozenset({"rows.rows", "rows.row", "columns.column_values", "events.events"})
PROBLEM_STATUSES = {
    "400": "Bad request: the detail says which parameter",
    "401": "No API key, or not a valid one",
    "403": "Not allowed: a table outside the key's scope, or a refused statement",
    "404": "Not found",
    "503": "The database is busy or unreadable",
}
_FILTER_TYPES: dict[str, dict[str, Any]] = {
    "integer": models.INT64,
    "number": {"type": "number"},
    "boolean": {"type": "boolean"},
    "blob": {"type": "string", "format": "byte"},
}
_PATTERN_OPS = ("contains", "startswith", "endswith", "like", "glob")
ROWS_RESERVED = ("_select", "_sort", "_limit", "_after", "_offset", "_count", "_search",
                 "_shape", "_format", "_ints")  # fmt: skip
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
    table: Table, limits: Limits, which: tuple[str, ...]
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
        "_offset": _param("_offset", {**models.INT64, "minimum": 0}, "skip this many rows"),
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
        self, schema: Schema, limits: Limits, errors: tuple[str, ...] = ("400", "404", "503")
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
        rows_reserved = reserved_parameters(table, self.limits, ROWS_RESERVED)
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


Built = tuple[object, dict[str, Any], bytes]  # (the exposure it describes, document, JSON)


class SqlapiOpenAPIProvider(OpenAPIProvider):
    """Generic routes as quart-schema documents them (plus problem responses); the
    per-table routes expanded into one path per table; the result cached."""

    _built: Built | None = None
    _pending: tuple[object, asyncio.Future[Built]] | None = None

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        gateway = self._app.extensions["sqlapi"]
        if rule.endpoint in PER_TABLE_ENDPOINTS or rule.endpoint == "queries.named_query":
            return {}, {}  # one path per table / per query, added in schema()
        if rule.endpoint == "sql.run_sql" and not gateway.settings.enable_sql:
            return {}, {}
        paths, components = super().build_paths(rule)
        for operations in paths.values():
            for operation in operations.values():
                responses = {str(k): v for k, v in operation["responses"].items()}
                if rule.rule.startswith("/api"):
                    responses |= _problems(
                        API_ERRORS if gateway.settings.api_keys else PUBLIC_ERRORS
                    )
                elif gateway.settings.api_keys:
                    operation["security"] = []  # probes and docs need no key
                operation["responses"] = responses
                self._enumerate_names(operation)
        return paths, components

    def _enumerate_names(self, operation: dict[str, Any]) -> None:
        """Path and query parameters that name a table or column list the exposed names."""
        tables = self._app.extensions["sqlapi"].schema.tables
        enums = {
            "table_name": [path_segment(t.name) for t in tables],
            "_table": [t.name for t in tables],
            "column_name": sorted({path_segment(c.name) for t in tables for c in t.columns}),
        }
        for param in operation["parameters"]:
            if param["name"] in enums:
                param["schema"] = {"enum": enums[param["name"]]}

    def schema(self) -> dict[str, Any]:
        return self._current()[1]

    def _current(self) -> Built:
        """The document of what is exposed now, built once per exposure (the file's schema
        is read anew when it changes) and kept as JSON bytes too."""
        exposure = self._app.extensions["sqlapi"].exposure
        if self._built is None or self._built[0] is not exposure:
            self._built = self._make(exposure)
        return self._built

    async def encoded(self) -> bytes:
        """The document as JSON, built in a worker thread so that the event loop keeps
        answering meanwhile (a thousand tables take seconds); requests that arrive during
        a build wait for that build."""
        exposure = self._app.extensions["sqlapi"].exposure
        if self._built is not None and self._built[0] is exposure:
            return self._built[2]
        if self._pending is None or self._pending[0] is not exposure:
            self._pending = (
                exposure,
                asyncio.ensure_future(asyncio.to_thread(self._make, exposure)),
            )
        built = await asyncio.shield(self._pending[1])
        if built[0] is self._app.extensions["sqlapi"].exposure:
            self._built = built
        return built[2]

    def _make(self, exposure: Any) -> Built:
        document = super().schema()
        gateway = self._app.extensions["sqlapi"]
        keyed = bool(gateway.settings.api_keys)
        errors = API_ERRORS if keyed else PUBLIC_ERRORS
        paths, components = TableDocument(exposure.schema, gateway.limits, errors).build()
        columns = exposure.query_columns
        paths |= query_paths(gateway.settings.queries, columns, gateway.limits, errors)
        document["paths"] = {**dict(document["paths"]), **paths}
        document["components"]["schemas"].update(components)
        if keyed:
            document["components"]["securitySchemes"] = {"bearer": BEARER}
            document["security"] = [{"bearer": []}]
        return exposure, document, dumps(document)


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
    limits: Limits,
    errors: tuple[str, ...],
) -> dict[str, Any]:
    """One path per named query, its parameters typed as configured."""
    types: dict[str, dict[str, Any]] = {
        "integer": models.INT64,
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


class SqlapiSchema(QuartSchema):
    """QuartSchema serving the cached document as bytes."""

    openapi_provider_class = SqlapiOpenAPIProvider
    openapi_provider: SqlapiOpenAPIProvider

    def init_app(self, app: Quart) -> None:
        super().init_app(app)
        # Every handler here builds its own Response: quart-schema's wrapper, which looks
        # for models to convert in every return value, would find none. Back to Quart's.
        del app.make_response

    @hide
    async def openapi(self) -> Response:
        return Response(await self.openapi_provider.encoded(), content_type="application/json")


def document(app: Quart) -> dict[str, Any]:
    """The app's OpenAPI document, without serving a request."""
    extension: SqlapiSchema = app.extensions["QUART_SCHEMA"]
    return extension.openapi_provider.schema()


# /assets/<name> -> its file under sqlapi/docs_assets/ (written by scripts/refresh_docs_assets.py).
ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui/swagger-ui.css",
    "swagger-ui-standalone-preset.js": "swagger-ui/swagger-ui-standalone-preset.js",
    "favicon-32x32.png": "swagger-ui/favicon-32x32.png",
    "redoc.standalone.js": "redoc/redoc.standalone.js",
}


# The docs pages may load and fetch only from sqlapi itself (ReDoc would otherwise fetch
# its logo from a CDN); inline scripts and styles are the UI templates'.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def install(app: Quart, database_name: str) -> QuartSchema:
    """Document the app; Swagger UI and ReDoc load their files from /assets, never a CDN."""
    app.config["QUART_SCHEMA_SWAGGER_JS_URL"] = "/assets/swagger-ui-bundle.js"
    app.config["QUART_SCHEMA_SWAGGER_CSS_URL"] = "/assets/swagger-ui.css"
    app.config["QUART_SCHEMA_REDOC_JS_URL"] = "/assets/redoc.standalone.js"
    info = Info(
        title=f"sqlapi: {database_name}",
        version=__version__,
        description="A read-only JSON API over the SQLite database "
        f"`{database_name}`. Every table and view has its own typed paths.",
    )
    extension = SqlapiSchema(app, info=info, scalar_ui_path=None)

    @app.before_serving
    async def build_document() -> None:
        """Start building the document in the background, so /docs opens at once (the
        reference keeps the task from being collected)."""
        app.extensions["sqlapi.document"] = asyncio.ensure_future(
            extension.openapi_provider.encoded()
        )

    @app.after_request
    async def protect_docs(response: Response) -> Response:
        if request.endpoint in ("swagger_ui", "redoc_ui"):
            response.headers["Content-Security-Policy"] = DOCS_CSP
        return response

    return extension
