"""Introspection: read a SQLite file's schema into the frozen model of `schema`, through
table-valued pragmas with bound names (no SQL text built from names)."""

from __future__ import annotations

import dataclasses
import re
import sqlite3

from sqlapi.schema import (
    ROWID_ALIASES,
    Column,
    ForeignKey,
    FullText,
    Index,
    Schema,
    Table,
    fold,
    json_type_of,
)

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
        # `INTEGER PRIMARY KEY DESC` in a column's definition is SQLite's exception: an
        # ordinary column (any value) with an index of its own, not the rowid
        and not _rows(conn, "SELECT 1 FROM pragma_index_list(?) WHERE origin = 'pk'", name)
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
        tie_breaker = None
        if not is_view and not without_rowid and any(c.nullable for c in columns if c.primary_key):
            unshadowed = _rowid_column(columns)
            if unshadowed is not None:
                tie_breaker = dataclasses.replace(unshadowed, primary_key=0)
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
                tie_breaker=tie_breaker,
            )
        )
    version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    return Schema(tables=tuple(tables), sqlite_version=version)
