"""Introspection: read a SQLite file's schema into the frozen model of `schema`, through
table-valued pragmas with bound names (no SQL text built from names)."""

from __future__ import annotations

import dataclasses
import re
import sqlite3
from collections.abc import Mapping
from typing import Any, Literal

from sqlapi.model.schema import (
    ROWID_ALIASES,
    Column,
    Content,
    ForeignKey,
    FullText,
    Index,
    Schema,
    Skipped,
    Table,
    fold,
    json_type_of,
)
from sqlapi.store.functions import ALLOWED_MODULES

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

_MODULE = re.compile(r"\busing\s+([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*;?\s*$", re.I | re.S)
_FTS_OPTION = re.compile(
    r"""\b(content|content_rowid)\s*=\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|`[^`]*`|\[[^\]]*\]|[^\s,)]+)""",
    re.IGNORECASE,
)
FULL_TEXT = frozenset({"fts3", "fts4", "fts5"})
SPATIAL = frozenset({"rtree", "rtree_i32"})
_NO_MODULE = re.compile(r"no such module: (.+)")


def _unquote(token: str) -> str:
    if len(token) >= 2 and token[0] in "'\"`[":
        closing = "]" if token[0] == "[" else token[0]
        inner = token[1:-1]
        return inner.replace(closing * 2, closing) if closing != "]" else inner
    return token


def parse_module(create_sql: str) -> tuple[str, list[str]] | None:
    """The module (lower case) and arguments of a CREATE VIRTUAL TABLE, or None."""
    match = _MODULE.search(create_sql)
    if match is None:
        return None
    return match.group(1).lower(), _arguments(match.group(2) or "")


_ARGUMENT = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|\(|\)|,|[^'"`\[(),]+"""
)


def _arguments(text: str) -> list[str]:
    """A module's arguments: split at the commas outside quotes and parentheses."""
    found, current, depth = [], "", 0
    for piece in _ARGUMENT.findall(text):
        if piece == "," and depth == 0:
            found.append(current.strip())
            current = ""
            continue
        depth += {"(": 1, ")": -1}.get(piece, 0)
        current += piece
    found.append(current.strip())
    return [a for a in found if a]


def parse_fts_options(create_sql: str) -> dict[str, str] | None:
    """The content options of an FTS3/4/5 CREATE VIRTUAL TABLE, or None if it is not FTS."""
    parsed = parse_module(create_sql)
    if parsed is None or parsed[0] not in FULL_TEXT:
        return None
    options = {"module": parsed[0]}
    for key, value in _FTS_OPTION.findall(_MODULE.search(create_sql).group(2) or ""):  # type: ignore[union-attr]
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


def _kind(row: Mapping[str, Any]) -> Literal["table", "view", "virtual table"]:
    return {"view": "view", "virtual": "virtual table"}.get(row["type"], "table")  # type: ignore[return-value]


def _reason(error: BaseException) -> str:
    """SQLite's error, said as why an object is not served."""
    if isinstance(error, MemoryError):
        return "SQLite runs out of memory describing it"
    text = str(error)
    missing = _NO_MODULE.fullmatch(text)
    return f"module {missing.group(1)!r} is not available" if missing else text


def _spatial(columns: list[Column], module: str, arguments: list[str]) -> list[Column]:
    """An R*Tree's first column is its key (the rowid), its coordinates are REALs (32-bit
    integers for rtree_i32); auxiliary columns (`+name`) have no type."""
    auxiliary = {fold(_unquote(a[1:].split()[0])) for a in arguments if a.startswith("+")}
    coordinate = "INTEGER" if module == "rtree_i32" else "REAL"
    typed = []
    for position, column in enumerate(columns):
        if position == 0:
            column = dataclasses.replace(
                column, type="INTEGER", json_type="integer", nullable=False, primary_key=1,
                is_rowid=True,
            )  # fmt: skip
        elif fold(column.name) not in auxiliary:
            column = dataclasses.replace(
                column, type=coordinate, json_type=json_type_of(coordinate), nullable=False
            )
        typed.append(column)
    return typed


_LISTING = (
    "SELECT t.name, t.type, t.wr, t.strict, s.sql FROM pragma_table_list{one} AS t "
    "LEFT JOIN sqlite_schema AS s ON s.name = t.name "
    "WHERE t.schema = 'main' AND t.type IN ('table', 'view', 'virtual', 'shadow') "
    "AND t.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY t.name"
)
UNREADABLE = (sqlite3.Error, MemoryError)  # MemoryError: SQLite's SQLITE_NOMEM


def _listed(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Every object of the main schema. Listing them all at once describes every view,
    and one SQLite cannot describe would fail the whole list: then each is listed on its
    own, and one that fails is kept for `_table` to fail on (and be skipped, with why)."""
    try:
        return [dict(row) for row in _rows(conn, _LISTING.format(one=""))]
    except UNREADABLE:
        pass
    listed: list[dict[str, Any]] = []
    for name, kind, sql in conn.execute(
        "SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view') "
        "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
    ):
        try:
            listed += [dict(row) for row in _rows(conn, _LISTING.format(one="(?)"), name)]
        except UNREADABLE:
            virtual = str(sql or "").upper().startswith("CREATE VIRTUAL")
            kind = "virtual" if virtual else kind
            listed.append({"name": name, "type": kind, "wr": 0, "strict": 0, "sql": sql})
    return listed


def introspect(conn: sqlite3.Connection) -> Schema:
    """Read the schema of the main database of `conn`: every table, view and virtual
    table SQLite can describe; the others in `skipped`, with SQLite's reason."""
    listed = _listed(conn)
    shadow = frozenset(fold(r["name"]) for r in listed if r["type"] == "shadow")
    tables: list[Table] = []
    skipped: list[Skipped] = []
    unavailable: dict[str, str] = {}  # virtual table -> its module, which is missing
    for row in listed:
        if row["type"] == "shadow":
            continue
        try:
            table = _table(conn, row)
        except UNREADABLE as error:
            reason = _reason(error)
            skipped.append(Skipped(row["name"], _kind(row), reason))
            parsed = parse_module(row["sql"] or "") if row["type"] == "virtual" else None
            if parsed is not None and _NO_MODULE.fullmatch(str(error)):
                unavailable[fold(row["name"])] = parsed[0]
            continue
        if table.module is not None and table.module not in ALLOWED_MODULES:
            reason = f"module {table.module!r} is not served: no rule governs what it reads"
            skipped.append(Skipped(table.name, "virtual table", reason))
            continue
        tables.append(table)
    kept = []
    for table in tables:  # a missing module's own tables cannot be told from others but by name
        owner = next((v for v in unavailable if fold(table.name).startswith(v + "_")), None)
        if owner is None or table.virtual:
            kept.append(table)
            continue
        why = f"a table of virtual table {owner!r}, whose module is not available"
        skipped.append(Skipped(table.name, "table", why))
    version = conn.execute("SELECT sqlite_version()").fetchone()[0]
    return Schema(
        tables=tuple(_with_search(kept)),
        sqlite_version=version,
        skipped=tuple(sorted(skipped, key=lambda s: s.name)),
        shadow=shadow,
    )


def _table(conn: sqlite3.Connection, row: Mapping[str, Any]) -> Table:
    """One object of the file as a Table; sqlite3.Error if SQLite cannot describe it."""
    name, sql = row["name"], row["sql"] or ""
    is_view = row["type"] == "view"
    without_rowid = bool(row["wr"])
    parsed = parse_module(sql) if row["type"] == "virtual" else None
    module = parsed[0] if parsed is not None else None
    columns = _columns(conn, name, without_rowid)
    if parsed is not None and module in SPATIAL:
        columns = _spatial(columns, parsed[0], parsed[1])
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
    fts, content = None, None
    if module in FULL_TEXT:
        fts = FullText(name, tuple(c.name for c in columns if not c.is_rowid), None)
        options = parse_fts_options(sql) or {}
        if options.get("content"):
            content = Content(options["content"], options.get("content_rowid", "rowid"))
    return Table(
        name=name,
        kind="view" if is_view else "table",
        columns=tuple(columns),
        primary_key=() if is_view else primary_key,
        foreign_keys=() if is_view else _foreign_keys(conn, name),
        indexes=() if is_view else _indexes(conn, name),
        fts=fts,
        without_rowid=without_rowid,
        strict=bool(row["strict"]),
        virtual=module is not None,
        module=module,
        content=content,
        tie_breaker=tie_breaker,
    )


# What a current SQLite calls a view column with no declared type of its own (an untyped
# origin: BLOB; an expression: its affinity, e.g. CAST(x AS INTEGER) is INT), where
# SQLite 3.40 and older say "". Told apart from a declared type by the origin's name.
_AFFINITY_NAMES = frozenset({"BLOB", "INT", "TEXT", "REAL", "NUM"})


def settle_view_types(schema: Schema, sources: Mapping[str, frozenset[str]]) -> Schema:
    """View columns typed as every SQLite version types them: a type that only a current
    one would give (an affinity's name, see _AFFINITY_NAMES) is kept only where a table
    the view reads declares a column of that name with that type; otherwise the column
    is untyped, as SQLite 3.40 says."""
    declared = {(fold(t.name), fold(c.name)): c.type for t in schema.tables for c in t.columns}
    settled = []
    for table in schema.tables:
        if table.kind != "view":
            settled.append(table)
            continue
        read = sources.get(fold(table.name), frozenset())
        columns = tuple(
            c
            if c.type.upper() not in _AFFINITY_NAMES
            or any(declared.get((t, fold(c.name))) == c.type for t in read)
            else dataclasses.replace(c, type="", json_type=json_type_of(""))
            for c in table.columns
        )
        settled.append(dataclasses.replace(table, columns=columns, _by_name={}))
    return dataclasses.replace(schema, tables=tuple(settled), _by_name={})


def _with_search(tables: list[Table]) -> list[Table]:
    """Each table's `_search` index: the first full-text index (by name) whose content it
    is and whose columns it has."""
    chosen: dict[str, FullText] = {}
    for table in tables:
        content, fts = table.content, table.fts
        if content is None or fts is None or fold(content.table) in chosen:
            continue
        target = next((t for t in tables if fold(t.name) == fold(content.table)), None)
        if target is not None and all(target.column(c) is not None for c in fts.columns):
            chosen[fold(content.table)] = FullText(table.name, fts.columns, content.key)
    return [
        dataclasses.replace(t, fts=chosen[fold(t.name)], _by_name={})
        if fold(t.name) in chosen and t.fts is None
        else t
        for t in tables
    ]
