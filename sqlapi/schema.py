"""Introspection: what the SQLite file holds, frozen once at startup.

Everything a request may name (tables, views, columns) is looked up here; nothing
from a URL reaches SQL without passing through these objects first.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Literal

JsonType = Literal["integer", "number", "string", "boolean", "blob", "any"]
Affinity = Literal["INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC"]

ROWID_ALIASES = ("rowid", "_rowid_", "oid")
# Pragmas that only read; every connection's authorizer allows exactly these.
READ_PRAGMAS = frozenset(
    {
        "data_version",
        "schema_version",
        "table_list",
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "index_xinfo",
        "foreign_key_list",
    }
)


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

    @property
    def affinity(self) -> Affinity:
        return "INTEGER" if self.is_rowid else affinity_of(self.type)

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "type": self.type,
            "json_type": self.json_type,
            "nullable": self.nullable,
            "primary_key": self.primary_key,
            "generated": self.generated,
        }


@dataclass(frozen=True)
class ForeignKey:
    columns: tuple[str, ...]
    table: str
    references: tuple[str | None, ...]

    def describe(self) -> dict[str, object]:
        return {
            "columns": list(self.columns),
            "table": self.table,
            "references": list(self.references),
        }


@dataclass(frozen=True)
class Index:
    name: str
    columns: tuple[str | None, ...]
    unique: bool

    def describe(self) -> dict[str, object]:
        return {"name": self.name, "columns": list(self.columns), "unique": self.unique}


@dataclass(frozen=True)
class FullText:
    """An FTS index: `table` is the FTS virtual table, `key` the column its rowid matches."""

    table: str
    columns: tuple[str, ...]
    key: str | None  # None: search the FTS table itself


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
    _by_name: dict[str, Column] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for column in self.columns:
            self._by_name.setdefault(fold(column.name), column)

    def column(self, name: str) -> Column | None:
        return self._by_name.get(fold(name))

    @property
    def column_names(self) -> list[str]:  # a new list: callers may keep or change it
        return [c.name for c in self.columns]

    @functools.cached_property
    def key_columns(self) -> tuple[Column, ...]:
        """The columns that identify one row; empty when rows have no stable key (views)."""
        return tuple(c for name in self.primary_key if (c := self.column(name)) is not None)

    def summary(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "columns": self.column_names,
            "primary_key": list(self.primary_key),
            "fts": self.fts is not None,
        }

    def describe(self) -> dict[str, object]:
        fts = None
        if self.fts is not None:
            fts = {"table": self.fts.table, "columns": list(self.fts.columns)}
        return {
            "name": self.name,
            "kind": self.kind,
            "columns": [c.describe() for c in self.columns],
            "primary_key": list(self.primary_key),
            "foreign_keys": [fk.describe() for fk in self.foreign_keys],
            "indexes": [ix.describe() for ix in self.indexes],
            "fts": fts,
        }


@dataclass(frozen=True)
class Schema:
    tables: tuple[Table, ...]
    sqlite_version: str
    _by_name: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for table in self.tables:
            self._by_name.setdefault(fold(table.name), table)

    def table(self, name: str) -> Table | None:
        return self._by_name.get(fold(name))

    def tables_with_column(self, column: str) -> list[Table]:
        return [t for t in self.tables if t.column(column) is not None]

    def describe(self) -> dict[str, object]:
        return {
            "sqlite_version": self.sqlite_version,
            "tables": [t.describe() for t in self.tables],
        }


_FTS_MODULE = re.compile(r"\busing\s+(fts[345])\s*\((.*)\)\s*$", re.IGNORECASE | re.DOTALL)
_FTS_OPTION = re.compile(
    r"""\b(content|content_rowid)\s*=\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^\s,)]+)""",
    re.IGNORECASE,
)


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] in "'\"`[":
        closing = "]" if token[0] == "[" else token[0]
        inner = token[1:-1]
        return inner.replace(closing * 2, closing) if closing != "]" else inner
    return token


def parse_fts_options(create_sql: str) -> dict[str, str] | None:
    """The content options of an FTS3/4/5 CREATE VIRTUAL TABLE, or None if it is not FTS."""
    match = _FTS_MODULE.search(create_sql)
    if match is None:
        return None
    options = {"module": match.group(1).lower()}
    for key, value in _FTS_OPTION.findall(match.group(2)):
        options[key.lower()] = _unquote(value)
    return options


def _rows(conn: sqlite3.Connection, sql: str, *params: object) -> list[sqlite3.Row]:
    cursor = conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, params).fetchall()


def _columns(conn: sqlite3.Connection, name: str, without_rowid: bool) -> list[Column]:
    infos = [
        r for r in _rows(conn, "SELECT * FROM pragma_table_xinfo(?)", name) if r["hidden"] != 1
    ]
    pk_infos = [r for r in infos if r["pk"]]
    rowid_alias = (
        not without_rowid
        and len(pk_infos) == 1
        and (pk_infos[0]["type"] or "").upper() == "INTEGER"
    )
    columns = []
    for info in infos:
        declared = info["type"] or ""
        in_key = info["pk"] > 0
        columns.append(
            Column(
                name=info["name"],
                type=declared,
                json_type=json_type_of(declared),
                nullable=not info["notnull"] and not (in_key and (rowid_alias or without_rowid)),
                primary_key=info["pk"],
                generated=info["hidden"] in (2, 3),
                is_rowid=in_key and rowid_alias,
            )
        )
    return columns


def _rowid_column(columns: list[Column]) -> Column | None:
    """Tables without a declared key expose SQLite's rowid, under the first unshadowed alias."""
    taken = {fold(c.name) for c in columns}
    for alias in ROWID_ALIASES:
        if alias not in taken:
            return Column(alias, "INTEGER", "integer", False, 1, False, is_rowid=True)
    return None


def _foreign_keys(conn: sqlite3.Connection, name: str) -> tuple[ForeignKey, ...]:
    grouped: dict[int, list[sqlite3.Row]] = {}
    for row in _rows(conn, "SELECT * FROM pragma_foreign_key_list(?) ORDER BY id, seq", name):
        grouped.setdefault(row["id"], []).append(row)
    return tuple(
        ForeignKey(
            columns=tuple(r["from"] for r in rows),
            table=rows[0]["table"],
            references=tuple(r["to"] for r in rows),
        )
        for rows in grouped.values()
    )


def _indexes(conn: sqlite3.Connection, name: str) -> tuple[Index, ...]:
    indexes = []
    for row in _rows(conn, "SELECT * FROM pragma_index_list(?) ORDER BY seq DESC", name):
        columns = _rows(conn, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", row["name"])
        indexes.append(Index(row["name"], tuple(c["name"] for c in columns), bool(row["unique"])))
    return tuple(indexes)


def introspect(conn: sqlite3.Connection) -> Schema:
    """Read the exposed schema of the main database of `conn`."""
    listed = _rows(
        conn,
        "SELECT t.name, t.type, t.wr, t.strict, s.sql FROM pragma_table_list AS t "
        "LEFT JOIN sqlite_schema AS s ON s.name = t.name "
        "WHERE t.schema = 'main' AND t.type IN ('table', 'view', 'virtual') "
        "AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY t.name",
    )
    fts_sources: dict[str, FullText] = {}
    fts_tables: set[str] = set()
    for row in listed:
        options = parse_fts_options(row["sql"] or "") if row["type"] == "virtual" else None
        if options is None:
            continue
        try:
            fts_columns = tuple(c.name for c in _columns(conn, row["name"], False))
        except sqlite3.Error:
            continue
        fts_tables.add(row["name"])
        content = options.get("content")
        if content:
            key = options.get("content_rowid", "rowid")
            fts_sources[fold(content)] = FullText(row["name"], fts_columns, key)
    tables = []
    for row in listed:
        name = row["name"]
        is_view = row["type"] == "view"
        without_rowid = bool(row["wr"])
        try:
            columns = _columns(conn, name, without_rowid)
        except sqlite3.Error:
            continue  # a broken view or a virtual table of a missing module: leave it out
        primary_key = tuple(
            c.name for c in sorted(columns, key=lambda c: c.primary_key) if c.primary_key
        )
        if not is_view and not primary_key and not without_rowid:
            rowid = _rowid_column(columns)
            if rowid is not None:
                columns.insert(0, rowid)
                primary_key = (rowid.name,)
        fts = fts_sources.get(fold(name))
        if name in fts_tables:
            fts = FullText(name, tuple(c.name for c in columns if not c.is_rowid), None)
        tables.append(
            Table(
                name=name,
                kind="view" if is_view else "table",
                columns=tuple(columns),
                primary_key=() if is_view else primary_key,
                foreign_keys=() if is_view else _foreign_keys(conn, name),
                indexes=() if is_view else _indexes(conn, name),
                fts=fts,
                without_rowid=without_rowid,
                strict=bool(row["strict"]),
                virtual=row["type"] == "virtual",
            )
        )
    version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    return Schema(tables=tuple(tables), sqlite_version=version)


class RestrictionError(ValueError):
    """A configured table or column that the database does not have."""


@dataclass(frozen=True)
class Restrictions:
    """What the configuration takes away: whole tables, and columns of tables."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    hidden: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> hidden columns
    columns_allow: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _check_names(schema: Schema, names: tuple[str, ...], where: str) -> None:
    for name in names:
        if schema.table(name) is None:
            raise RestrictionError(f"{where}: the database has no table or view {name!r}")


def _visible_columns(table: Table, rules: Restrictions, where: str) -> tuple[Column, ...]:
    hidden = {fold(n) for n in rules.hidden.get(table.name, ())}
    allowed = rules.columns_allow.get(table.name)
    for name in [*rules.hidden.get(table.name, ()), *(allowed or ())]:
        if table.column(name) is None:
            raise RestrictionError(
                f"{where}.{table.name}: {table.kind} {table.name!r} has no column {name!r}"
            )
    keep = {fold(n) for n in allowed} if allowed is not None else None
    return tuple(
        c
        for c in table.columns
        if fold(c.name) not in hidden and (keep is None or fold(c.name) in keep or c.is_rowid)
    )


def restrict(schema: Schema, rules: Restrictions, *, strict: bool = True) -> Schema:
    """The schema as configured: denied tables and hidden columns are gone from it, and so
    from everything built on it. An FTS index follows its content table: denied with it,
    its copies of hidden columns hidden too, and `_search` is off wherever it would
    match text in a hidden column.

    A configured name the file does not have is a RestrictionError; not `strict` (a file
    that changed while served), unknown table names are ignored and a table whose
    column rules name a column it lacks is withheld: never shown without its rules."""
    if strict:
        _check_names(schema, rules.allow or (), "tables_allow")
        _check_names(schema, rules.deny, "tables_deny")
        _check_names(schema, tuple(rules.hidden) + tuple(rules.columns_allow), "tables")
    allowed = {fold(n) for n in rules.allow} if rules.allow is not None else None
    denied = {fold(n) for n in rules.deny}
    owners = {
        fold(t.fts.table): t for t in schema.tables if t.fts is not None and t.fts.key is not None
    }
    tables = []
    for table in schema.tables:
        owner = owners.get(fold(table.name), table)  # an FTS index is governed by its content table
        if fold(owner.name) in denied or (allowed is not None and fold(owner.name) not in allowed):
            continue
        try:
            columns = _visible_columns(table, rules, "tables")
            visible = {fold(c.name) for c in _visible_columns(owner, rules, "tables")}
        except RestrictionError:
            if strict:
                raise
            continue
        columns = tuple(c for c in columns if c.is_rowid or fold(c.name) in visible)
        visible = {fold(c.name) for c in columns} if owner is table else visible
        fts = table.fts
        if fts is not None and any(fold(name) not in visible for name in fts.columns):
            fts = None
        names = {c.name for c in columns}
        key = table.primary_key if set(table.primary_key) <= names else ()
        indexes = tuple(
            ix for ix in table.indexes if all(c is None or c in names for c in ix.columns)
        )
        tables.append(
            dataclasses.replace(
                table, columns=columns, primary_key=key, fts=fts, indexes=indexes, _by_name={}
            )
        )
    exposed = Schema(tables=tuple(tables), sqlite_version=schema.sqlite_version)
    return Schema(
        tables=tuple(
            dataclasses.replace(t, foreign_keys=_visible_keys(exposed, t), _by_name={})
            for t in tables
        ),
        sqlite_version=schema.sqlite_version,
    )


def _visible_keys(exposed: Schema, table: Table) -> tuple[ForeignKey, ...]:
    """Foreign keys that name only visible columns of exposed tables."""
    kept = []
    for fk in table.foreign_keys:
        target = exposed.table(fk.table)
        if target is None or any(table.column(c) is None for c in fk.columns):
            continue
        if any(r is not None and target.column(r) is None for r in fk.references):
            continue
        kept.append(fk)
    return tuple(kept)


def hidden_from(full: Schema, exposed: Schema) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(denied tables, hidden (table, column) pairs), folded: what SQLite's authorizer must
    refuse or blank even when a view or /api/sql reaches for it."""
    tables = frozenset(fold(t.name) for t in full.tables if exposed.table(t.name) is None)
    columns = frozenset(
        (fold(t.name), fold(c.name))
        for t in full.tables
        if (kept := exposed.table(t.name)) is not None
        for c in t.columns
        if not c.is_rowid and kept.column(c.name) is None
    )
    return tables, columns
