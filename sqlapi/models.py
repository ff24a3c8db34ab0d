"""Pydantic response models: fixed ones for the generic endpoints, and one row model per
table, created at startup from the introspected columns.

They document; they do not validate. Rows are never passed through pydantic on the hot
path (see docs/benchmarks.md for why that matters).
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, create_model

from sqlapi.schema import Column, ForeignKey, Index, JsonType, Schema, Table

INT64_SCHEMA = {"type": "integer", "format": "int64", "minimum": -(2**63), "maximum": 2**63 - 1}
INT_STRING = {
    "type": "string",
    "pattern": "^-?[0-9]+$",
    "description": "an integer beyond ±(2^53-1), sent as a string when _ints=string",
}
_JSON_SCHEMAS: dict[JsonType, dict[str, Any]] = {
    "integer": {"anyOf": [INT64_SCHEMA, INT_STRING]},
    "number": {"type": "number"},
    "string": {"type": "string"},
    "boolean": {"type": "boolean"},
    "blob": {"type": "string", "format": "byte", "description": "base64"},
    "any": {},
}
_PYTHON_TYPES: dict[JsonType, Any] = {
    "integer": int | str,
    "number": float,
    "string": str,
    "boolean": bool,
    "blob": str,
    "any": Any,
}


def value_schema(column: Column) -> dict[str, Any]:
    """The JSON Schema of one column's values. REAL is always nullable: NaN and ±Inf
    are sent as null."""
    schema = dict(_JSON_SCHEMAS[column.json_type])
    nullable = column.nullable or column.json_type == "number"
    if nullable and schema:
        schema = {"anyOf": [schema, {"type": "null"}]}
    declared = column.type or "no declared type"
    schema["description"] = f"{declared}" + (", generated" if column.generated else "")
    return schema


def value_type(column: Column) -> Any:
    python: Any = _PYTHON_TYPES[column.json_type]
    if column.nullable or column.json_type == "number":
        python = python | None
    return Annotated[python, WithJsonSchema(value_schema(column))]


_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def component_names(tables: tuple[Table, ...]) -> dict[str, str]:
    """A valid, unique component/operation base name for every table, whatever its name.

    Names that are not plain ASCII words get a short hash of the real name, so that
    'a b', 'a_b', 'A B' and 'ä b' never meet.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for table in tables:
        base = safe_name(table.name, taken)
        taken.add(base.lower())
        names[table.name] = base
    return names


def safe_name(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """CamelCase ASCII for `name`, with a short hash of it when that loses anything."""
    words = [w for w in _UNSAFE.split(name) if w]
    base = "".join(w[:1].upper() + w[1:] for w in words) or "Table"
    if base[0].isdigit():
        base = "T" + base
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or base.lower() in taken:
        base += "_" + hashlib.blake2s(name.encode(), digest_size=3).hexdigest()
    return base


def _optional_properties(schema: dict[str, Any]) -> None:
    """Row properties are optional (`_select` may leave any out) but have no default."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
        prop.pop("title", None)


def row_model(table: Table, base: str) -> type[BaseModel]:
    """One row of `table`, its properties typed from the declared column types."""
    fields: dict[str, Any] = {
        f"c{i}": (value_type(column), Field(default=None, alias=column.name))
        for i, column in enumerate(table.columns)
    }
    config = ConfigDict(
        extra="forbid",
        title=f"{base}Row",
        populate_by_name=True,
        json_schema_extra=_optional_properties,
    )
    return create_model(f"{base}Row", __config__=config, **fields)


def page_model(row: type[BaseModel], base: str) -> type[BaseModel]:
    """A page of rows: objects by default, arrays with `_shape=arrays`."""
    return create_model(
        f"{base}Page",
        __config__=ConfigDict(title=f"{base}Page"),
        rows=(list[Union[row, list[Any]]], ...),  # type: ignore[valid-type]  # noqa: UP007
        next=(str | None, Field(..., description="cursor of the next page; null on the last")),
        next_url=(str | None, Field(..., description="this request with _after=next")),
        count=(int | None, Field(None, description="matching rows; only with _count=true")),
        columns=(
            list[str] | None,
            Field(None, description="column names; only with _shape=arrays"),
        ),
    )


def one_row_model(row: type[BaseModel], base: str) -> type[BaseModel]:
    return create_model(
        f"{base}RowResponse", __config__=ConfigDict(title=f"{base}RowResponse"), row=(row, ...)
    )


class Problem(BaseModel):
    """An RFC 9457 problem: every error sqlapi sends."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    allowed: list[str] | None = Field(None, description="valid names, where a name was wrong")


class DatabaseSummary(BaseModel):
    name: str
    tables: list[str]
    views: list[str]
    sqlite_version: str


class ApiIndex(BaseModel):
    """The database and where to go next."""

    database: DatabaseSummary
    links: dict[str, str]


class TableSummary(BaseModel):
    name: str
    kind: str = Field(description="table or view")
    columns: list[str]
    primary_key: list[str]
    fts: bool
    url: str
    rows_url: str


class TableList(BaseModel):
    """Every exposed table and view."""

    tables: list[TableSummary]


class ColumnInfo(BaseModel):
    name: str
    type: str = Field(description='declared SQL type, "" if none')
    json_type: str = Field(description="integer, number, string, boolean, blob or any")
    nullable: bool
    primary_key: int = Field(description="position in the primary key, 0 if not in it")
    generated: bool


class ForeignKeyInfo(BaseModel):
    columns: list[str]
    table: str
    references: list[str | None]


class IndexInfo(BaseModel):
    name: str
    columns: list[str | None]
    unique: bool


class FullTextInfo(BaseModel):
    table: str
    columns: list[str]


class TableDescription(BaseModel):
    """One table or view as introspected (and configured)."""

    name: str
    kind: str
    columns: list[ColumnInfo]
    primary_key: list[str]
    foreign_keys: list[ForeignKeyInfo]
    indexes: list[IndexInfo]
    fts: FullTextInfo | None


class TableDetail(TableDescription):
    """One table or view in detail, with its exact row count."""

    count: int
    rows_url: str


class SchemaDescription(BaseModel):
    """What `sqlapi inspect` prints: the schema that would be exposed."""

    sqlite_version: str
    tables: list[TableDescription]


def _column_info(column: Column) -> ColumnInfo:
    return ColumnInfo(
        name=column.name,
        type=column.type,
        json_type=column.json_type,
        nullable=column.nullable,
        primary_key=column.primary_key,
        generated=column.generated,
    )


def _foreign_key_info(key: ForeignKey) -> ForeignKeyInfo:
    return ForeignKeyInfo(
        columns=list(key.columns), table=key.table, references=list(key.references)
    )


def _index_info(index: Index) -> IndexInfo:
    return IndexInfo(name=index.name, columns=list(index.columns), unique=index.unique)


def describe_table(table: Table) -> TableDescription:
    fts = table.fts
    return TableDescription(
        name=table.name,
        kind=table.kind,
        columns=[_column_info(c) for c in table.columns],
        primary_key=list(table.primary_key),
        foreign_keys=[_foreign_key_info(k) for k in table.foreign_keys],
        indexes=[_index_info(i) for i in table.indexes],
        fts=None if fts is None else FullTextInfo(table=fts.table, columns=list(fts.columns)),
    )


def table_detail(table: Table, count: int, rows_url: str) -> dict[str, object]:
    described = describe_table(table)
    return TableDetail(**dict(described), count=count, rows_url=rows_url).model_dump()


def table_summary(table: Table, url: str, rows_url: str) -> dict[str, object]:
    return TableSummary(
        name=table.name,
        kind=table.kind,
        columns=table.column_names,
        primary_key=list(table.primary_key),
        fts=table.fts is not None,
        url=url,
        rows_url=rows_url,
    ).model_dump()


def describe_schema(schema: Schema) -> dict[str, object]:
    return SchemaDescription(
        sqlite_version=schema.sqlite_version, tables=[describe_table(t) for t in schema.tables]
    ).model_dump()


class ValueCount(BaseModel):
    value: Any
    count: int


class ColumnValues(BaseModel):
    """Distinct values of a column with their counts, most frequent first."""

    table: str
    column: str
    values: list[ValueCount]
    next: str | None
    next_url: str | None


class ColumnData(BaseModel):
    """The values of one column, in key order (or _sort)."""

    table: str
    column: str
    values: list[Any]
    next: str | None
    next_url: str | None
    count: int | None = None


class DataQuery(BaseModel):
    table: str | None = Field(
        None, alias="_table", description="the table, when several have the column"
    )
    sort: list[str] | None = Field(None, alias="_sort", description="order; '-' for descending")
    limit: int | None = Field(None, alias="_limit", ge=1, description="page size")
    after: str | None = Field(None, alias="_after", description="the `next` of the previous page")
    offset: int | None = Field(None, alias="_offset", ge=0, le=2**63 - 1, description="skip rows")
    search: str | None = Field(None, alias="_search", description="full-text search")
    ints: Literal["number", "string"] | None = Field(
        None, alias="_ints", description="big integers as strings"
    )


class Health(BaseModel):
    status: str
