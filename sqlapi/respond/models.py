"""Pydantic models of the generic answers (the database, its tables, one table), which
both document them and build them, so each shape is written once; and the component
names of tables in the OpenAPI document."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from sqlapi.model.schema import Column, ForeignKey, Index, Schema, Table


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


class SkippedObject(BaseModel):
    """An object of the file that is not served, and why."""

    name: str
    kind: Literal["table", "view", "virtual table"]
    reason: str


class ApiIndex(BaseModel):
    """The database, what of it is not served and why, and where to go next."""

    database: DatabaseSummary
    skipped: list[SkippedObject]
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


class ReferenceInfo(BaseModel):
    """Another table's key onto this one: embed its rows with `_embed=table[.column]`."""

    table: str
    columns: list[str]
    references: list[str]


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
    referenced_by: list[ReferenceInfo]
    indexes: list[IndexInfo]
    fts: FullTextInfo | None


class TableDetail(TableDescription):
    """One table or view in detail, with its exact row count."""

    count: int
    rows_url: str


class SchemaDescription(BaseModel):
    """What `sqlapi inspect` prints: the schema that would be exposed, and what would not
    be, with why."""

    sqlite_version: str
    tables: list[TableDescription]
    skipped: list[SkippedObject]


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
        referenced_by=[
            ReferenceInfo(table=r.table, columns=list(r.columns), references=list(r.references))
            for r in table.referenced_by
        ],
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
        sqlite_version=schema.sqlite_version,
        tables=[describe_table(t) for t in schema.tables],
        skipped=[SkippedObject(name=s.name, kind=s.kind, reason=s.reason) for s in schema.skipped],
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
