"""The model of what a SQLite file holds: frozen Schema, Table and Column objects, built
once by `introspect` and only read by requests.

Everything a request may name (tables, views, columns) is looked up here; nothing
from a URL reaches SQL without passing through these objects first.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Literal

JsonType = Literal["integer", "number", "string", "boolean", "blob", "any"]
Affinity = Literal["INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC"]

ROWID_ALIASES = ("rowid", "_rowid_", "oid")


def fold(name: str) -> str:
    """SQLite compares identifiers with ASCII-only case folding."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def affinity_of(declared: str) -> Affinity:
    """The column affinity rules of https://sqlite.org/datatype3.html section 3.1."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if "CHAR" in upper or "CLOB" in upper or "TEXT" in upper:
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if "REAL" in upper or "FLOA" in upper or "DOUB" in upper:
        return "REAL"
    return "NUMERIC"


def json_type_of(declared: str) -> JsonType:
    upper = declared.upper().strip()
    affinity = affinity_of(upper)
    if upper == "ANY" or not upper:
        return "any"
    if affinity == "INTEGER":
        return "integer"
    if affinity == "REAL":
        return "number"
    if affinity == "TEXT":
        return "string"
    if affinity == "BLOB":
        return "blob"
    if "BOOL" in upper:
        return "boolean"
    if "DATE" in upper or "TIME" in upper:
        return "string"
    return "number"


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    json_type: JsonType
    nullable: bool
    primary_key: int
    generated: bool
    is_rowid: bool = False

    @functools.cached_property
    def affinity(self) -> Affinity:
        return "INTEGER" if self.is_rowid else affinity_of(self.type)


@dataclass(frozen=True)
class ForeignKey:
    """`columns` of this table refer to `references` of `table` (None: its primary key, as
    SQLite reads them; the exposed schema always names them)."""

    columns: tuple[str, ...]
    table: str
    references: tuple[str | None, ...]


@dataclass(frozen=True)
class Reference:
    """A foreign key of another table that refers to this one: `table`'s `columns` hold
    values of this table's `references`."""

    table: str
    columns: tuple[str, ...]
    references: tuple[str, ...]


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str | None, ...]
    unique: bool


@dataclass(frozen=True)
class FullText:
    """An FTS index: `table` is the FTS virtual table, `key` the column its rowid matches."""

    table: str
    columns: tuple[str, ...]
    key: str | None  # None: search the FTS table itself


@dataclass(frozen=True)
class Content:
    """A full-text index's external content (`content=`): the table or view it indexes
    and the column of it that the index's rowids are."""

    table: str
    key: str


@dataclass(frozen=True)
class Skipped:
    """An object of the file that is not served, and why (`GET /api`'s `skipped`)."""

    name: str
    kind: Literal["table", "view", "virtual table"]
    reason: str


@dataclass(frozen=True)
class Table:
    name: str
    kind: Literal["table", "view"]
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...] = ()
    indexes: tuple[Index, ...] = ()
    fts: FullText | None = None
    without_rowid: bool = False
    strict: bool = False
    virtual: bool = False  # a virtual table (FTS5, R*Tree...): its module does the reading
    module: str | None = None  # a virtual table's module, lower case
    content: Content | None = None  # a full-text index's external content
    # The folded names of the objects whose data this one reveals (reads.py): itself for a
    # table; what a view's program opens; a full-text index's content; what the triggers
    # that fill a table read. Empty: only itself.
    reads: frozenset[str] = frozenset()
    referenced_by: tuple[Reference, ...] = ()  # the exposed keys of other tables onto this one
    # A rowid table whose key may be NULL (a non-INTEGER primary key without NOT NULL:
    # SQLite allows NULLs there, and they tie): its rowid, under a name no column shadows,
    # ordered after the key so that pages and cursors stay exact.
    tie_breaker: Column | None = None
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            self._by_name.setdefault(fold(column.name), column)

    def column(self, name: str) -> Column | None:
        return self._by_name.get(fold(name))

    @property
    def sources(self) -> frozenset[str]:
        """The folded names of the objects whose data this one reveals."""
        return self.reads or frozenset({fold(self.name)})

    def identified_by(self, name: str) -> bool:
        """Whether the column `name` tells this table's rows apart as its rowid does (the
        rowid itself, or an INTEGER PRIMARY KEY): what a full-text index's rowid may be
        mapped to for its rows to be this table's exactly."""
        column = self.column(name)
        if column is not None:
            return column.is_rowid
        return fold(name) in ROWID_ALIASES and not self.without_rowid

    @property
    def column_names(self) -> list[str]:  # a new list: callers may keep or change it
        return [c.name for c in self.columns]

    @functools.cached_property
    def key_columns(self) -> tuple[Column, ...]:
        """The columns that identify one row; empty when rows have no stable key (views)."""
        return tuple(c for name in self.primary_key if (c := self.column(name)) is not None)


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    sqlite_version: str
    skipped: tuple[Skipped, ...] = ()  # what the file holds and is not served, with why
    shadow: frozenset[str] = frozenset()  # folded names of virtual tables' own tables
    _by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for table in self.tables:
            self._by_name.setdefault(fold(table.name), table)

    def table(self, name: str) -> Table | None:
        return self._by_name.get(fold(name))

    def tables_with_column(self, column: str) -> list[Table]:
        return [t for t in self.tables if t.column(column) is not None]
