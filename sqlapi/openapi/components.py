"""What the OpenAPI document defines once and references everywhere: the reserved
parameters, the problem responses, the value types of columns, and which filters each
type documents. Plain dicts (JSON Schema 2020-12, OpenAPI 3.1): building them costs
microseconds per table, where a pydantic model per table cost milliseconds."""

from __future__ import annotations

from typing import Any

from sqlapi.model.schema import Column, JsonType
from sqlapi.request.operators import OPERATORS
from sqlapi.request.types import RequestLimits
from sqlapi.respond.formats import FORMATS

Json = dict[str, Any]
INT64: Json = {"type": "integer", "format": "int64"}
_TYPES: dict[JsonType, Json] = {
    "integer": INT64,
    "number": {"type": "number"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "blob": {"type": "string", "format": "byte"},
    "any": {},
}
PROBLEMS = {
    "400": ("BadRequest", "Bad request: the detail says which parameter"),
    "401": ("Unauthorized", "No API key or token, or not a valid one"),
    "403": ("Forbidden", "Not allowed: a table outside the caller's scope, or a refused statement"),
    "404": ("NotFound", "Not found"),
    "503": ("Unavailable", "The database is busy or unreadable; try again (Retry-After)"),
}
PUBLIC_ERRORS = ("400", "404", "503")
API_ERRORS = ("400", "401", "403", "404", "503")
STREAM = "x-sqlapi-stream"  # an endless response: tools that test or crawl should skip it
VARIANT = "x-sqlapi-variant"  # a parameter that changes the answer's shape (see variants)
CURSOR = "x-sqlapi-cursor"  # valid only as this API sent it (`_after`)
GRAMMAR = "x-sqlapi-grammar"  # valid when it parses by the grammar it names (`_or`)
DEPENDS_ON = "x-sqlapi-depends-on"  # valid values follow from other parameters' values


def pattern_text(text: str) -> str:
    """`text` matched literally in a JSON Schema (ECMA-262) pattern."""
    return "".join("\\" + c if c in "\\^$.*+?()[]{}|/" else c for c in text)


def ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def value_schema(column: Column, *, described: bool = True) -> Json:
    """One column's values in the default shape. REAL is always nullable (NaN and ±Inf
    are sent as null); a column with no declared type holds any JSON value."""
    schema = dict(_TYPES[column.json_type])
    if "type" in schema and (column.nullable or column.json_type == "number"):
        schema["type"] = [schema["type"], "null"]
    if described:
        schema["description"] = (column.type or "no declared type") + (
            ", generated" if column.generated else ""
        )
    return schema


_SCALAR: Json = {"type": ["string", "number", "boolean"]}  # a query value of an untyped column
_LISTS: dict[JsonType, str] = {  # the values of `col__in` and `col__notin`, by column type
    "integer": "IntegerList", "number": "NumberList", "string": "TextList",
    "boolean": "BooleanList", "blob": "BlobList", "any": "ValueList",
}  # fmt: skip


def filter_schema(column: Column, op: str | None) -> Json:
    """The type of the value of filter `column__op` (`op` None: the column itself)."""
    typed = _TYPES[column.json_type] or _SCALAR
    group = OPERATORS[op].group if op is not None else "comparison"
    if group == "list":
        return ref("schemas", _LISTS[column.json_type])  # defined once (shared_schemas)
    if group == "null":
        return {"type": "boolean"}
    if group in ("pattern", "array"):
        return {"type": "string"}
    return typed


def _param(name: str, schema: Json, description: str, **more: object) -> Json:
    return {"name": name, "in": "query", "schema": schema, "description": description, **more}


def shared_parameters(limits: RequestLimits) -> dict[str, Json]:
    """The reserved parameters every table shares, under components/parameters."""
    return _paging(limits) | _shaping()


def _paging(limits: RequestLimits) -> dict[str, Json]:
    return {
        "limit": _param(
            "_limit",
            {"type": "integer", "minimum": 1, "maximum": limits.max_limit},
            f"page size (default {limits.default_limit})",
        ),
        "after": _param(
            "_after",
            {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "maxLength": 65536},
            "the `next` cursor of the previous page, exactly as this API sent it (any other "
            "value is a 400); not together with _offset",
            **{CURSOR: True},
        ),
        "offset": _param(
            "_offset",
            {**INT64, "minimum": 0, "maximum": 2**62},
            "skip this many rows, for simple UIs; not together with _after",
        ),
        "count": _param("_count", {"type": "boolean"}, "add the exact count of matching rows"),
        "search": _param("_search", {"type": "string"}, "full-text search (words are ANDed)"),
    }


def _shaping() -> dict[str, Json]:
    return {
        "shape": _param(
            "_shape",
            {"enum": ["objects", "arrays"]},
            "arrays: rows as arrays, with their `columns` (the ArraysPage variant)",
            **{VARIANT: "ArraysPage"},
        ),
        "format": _param(
            "_format",
            {"enum": list(FORMATS)},
            "ndjson or csv stream every matching row (also chosen by Accept)",
        ),
        "ints": _param(
            "_ints",
            {"enum": ["number", "string"]},
            "string: integers beyond ±(2^53-1) are sent as decimal strings (the IntsAsStrings "
            "variant: any integer member may then be a string)",
            **{VARIANT: "IntsAsStrings"},
        ),
        "or": _param(
            "_or",
            {"type": "array", "items": {"type": "string"}},
            "a boolean group of filters, ANDed with the others: `(year__lt.1950,"
            "and(rating__gte.4.5,in_print__exact.true))`; each term `col__op.value`, "
            'a value with `,()"\\` double-quoted; an empty value is no group',
            style="form",
            explode=True,
            **{GRAMMAR: "API.md, Boolean groups"},  # a grammar no JSON schema states
        ),
        "embed_limit": _param(
            "_embed_limit",
            {"type": "integer", "minimum": 1, "maximum": 100},
            "rows per embedded list (default 10)",
        ),
        "LastEventID": {
            "name": "Last-Event-ID",
            "in": "header",
            "schema": {"type": "string", "pattern": "^[+-]?[0-9]+$"},
            "description": "resume after this row id (EventSource sends it on reconnect)",
        },
    }


def shared_schemas() -> dict[str, Json]:
    """Schemas every table shares: the problem, column values, and the variants."""
    lists = {
        name: {"type": "array", "items": _TYPES[kind] or _SCALAR} for kind, name in _LISTS.items()
    }
    return lists | _answers() | _variants()


_NULLABLE_STRING: Json = {"type": ["string", "null"]}


def _answers() -> dict[str, Json]:
    return {
        "Problem": {
            "type": "object",
            "description": "An RFC 9457 problem: every error sqlapi sends.",
            "required": ["type", "title", "status", "detail"],
            "properties": {
                "type": {"type": "string"},
                "title": {"type": "string"},
                "status": {"type": "integer"},
                "detail": {"type": "string"},
                "allowed": {
                    "type": "array",
                    "items": {"type": "string"},
                    "description": "valid names, where a name was wrong",
                },
            },
        },
        "ColumnValues": {
            "type": "object",
            "description": "Distinct values of a column with their counts, most frequent first.",
            "required": ["table", "column", "values", "next", "next_url"],
            "properties": {
                "table": {"type": "string"},
                "column": {"type": "string"},
                "values": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["value", "count"],
                        "properties": {"value": {}, "count": INT64},
                    },
                },
                "next": _NULLABLE_STRING,
                "next_url": _NULLABLE_STRING,
            },
        },
    }


def _variants() -> dict[str, Json]:
    return {
        "ArraysPage": {
            "type": "object",
            "description": "The answer with _shape=arrays: each row an array of values, in "
            "the order of `columns`.",
            "required": ["columns", "rows", "next", "next_url"],
            "properties": {
                "columns": {"type": "array", "items": {"type": "string"}},
                "rows": {"type": "array", "items": {"type": "array"}},
                "next": _NULLABLE_STRING,
                "next_url": _NULLABLE_STRING,
                "count": INT64,
            },
        },
        "IntsAsStrings": {
            "description": "With _ints=string any integer member of the default shape may be "
            "a decimal string (integers beyond ±(2^53-1), which JavaScript cannot hold).",
            "type": "string",
            "pattern": "^-?[0-9]+$",
        },
    }


def shared_responses() -> dict[str, Json]:
    return {
        name: {
            "description": description,
            "content": {"application/problem+json": {"schema": ref("schemas", "Problem")}},
        }
        for name, description in PROBLEMS.values()
    }


def problem_responses(statuses: tuple[str, ...]) -> Json:
    return {status: ref("responses", PROBLEMS[status][0]) for status in statuses}
