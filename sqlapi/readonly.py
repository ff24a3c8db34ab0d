"""Hardened read-only SQLite connections, synchronous: the authorizer, the connection
settings, and reading a file's schema. Used at startup and by `db`'s pool.

Read-only by construction, three times over: a `mode=ro` URI (the file is never
created), `PRAGMA query_only`, and an authorizer that allows only reads. On top of
that: `trusted_schema=OFF` and no extension loading.
"""

from __future__ import annotations

import errno
import logging
import os
import sqlite3
import stat
import urllib.parse
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlapi.encoding import JSON_VALUE, sqlite_json_value
from sqlapi.introspect import READ_PRAGMAS, introspect
from sqlapi.query import build_read_probe
from sqlapi.schema import Schema, fold

log = logging.getLogger("sqlapi")

_SQLITE_PRAGMA, _SQLITE_READ, _SQLITE_SELECT, _SQLITE_UPDATE = 19, 20, 21, 23
_SQLITE_FUNCTION, _SQLITE_RECURSIVE = 31, 33
_DENIED_FUNCTIONS = frozenset({"load_extension", "fts3_tokenizer", "readfile", "writefile", "edit"})


Authorizer = Callable[[int, "str | None", "str | None", "str | None", "str | None"], int]
_SCHEMA_TABLES = frozenset(
    {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}
)


def make_authorizer(
    denied: frozenset[str] = frozenset(),
    hidden: frozenset[tuple[str, str]] = frozenset(),
    pragmas: frozenset[str] = frozenset({"data_version"}),
    schema_text: bool = False,
    hidden_read: int = sqlite3.SQLITE_IGNORE,
) -> Authorizer:
    """Reads only, and not all of them: denied tables are refused, hidden columns read as
    NULL (through views and /api/sql too), and the schema text is blank (it would name
    them). Only the given read-only pragmas run; FTS5 itself asks for data_version.
    (FTS5 also announces an UPDATE of sqlite_master while it connects its virtual table;
    with a read-only file and query_only that can write nothing.)"""

    def authorize(
        action: int, arg1: str | None, arg2: str | None, _db: str | None, _source: str | None
    ) -> int:
        if action == _SQLITE_READ:
            table = fold(arg1 or "")
            if table in denied:
                return sqlite3.SQLITE_DENY
            if table in _SCHEMA_TABLES and not schema_text:
                return sqlite3.SQLITE_IGNORE
            if (table, fold(arg2 or "")) in hidden:
                return hidden_read
            return sqlite3.SQLITE_OK
        if action in (_SQLITE_SELECT, _SQLITE_RECURSIVE):
            return sqlite3.SQLITE_OK
        if action == _SQLITE_FUNCTION:
            denied_function = (arg2 or "").lower() in _DENIED_FUNCTIONS
            return sqlite3.SQLITE_DENY if denied_function else sqlite3.SQLITE_OK
        if action == _SQLITE_PRAGMA and (arg1 or "").lower() in pragmas:
            return sqlite3.SQLITE_OK
        if action == _SQLITE_UPDATE and arg1 == "sqlite_master":
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


INTROSPECTION = make_authorizer(pragmas=READ_PRAGMAS, schema_text=True)
WATCHER = make_authorizer(pragmas=frozenset({"data_version", "schema_version"}))


def database_uri(path: Path, immutable: bool) -> str:
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file:{urllib.parse.quote(str(path.resolve()))}?{query}"


@dataclass(frozen=True)
class Limits:
    """SQLite's own limits on what one statement may build or ask: they bound the work
    and memory of a single step, which neither a progress handler nor an interrupt can
    stop (a LIKE costs about a nanosecond per byte of the value per character of the
    pattern, and `instr`/`replace` the product of their arguments' lengths)."""

    value_bytes: int = 16 * 1024 * 1024  # any string or BLOB, stored or built
    pattern_length: int = 256  # a LIKE or GLOB pattern
    expression_depth: int = 1000
    program_steps: int = 250_000  # opcodes in one compiled statement
    statement_length: int = 1_000_000  # bytes of SQL text
    columns: int | None = None  # result columns; None: SQLite's default (2000)

    def apply(self, conn: sqlite3.Connection) -> None:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.value_bytes)
        conn.setlimit(sqlite3.SQLITE_LIMIT_LIKE_PATTERN_LENGTH, self.pattern_length)
        conn.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, self.expression_depth)
        conn.setlimit(sqlite3.SQLITE_LIMIT_VDBE_OP, self.program_steps)
        conn.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, self.statement_length)
        conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        if self.columns is not None:
            conn.setlimit(sqlite3.SQLITE_LIMIT_COLUMN, self.columns)


def connect_readonly(
    path: Path,
    immutable: bool,
    busy_timeout_s: float = 1.0,
    authorizer: Authorizer | None = None,
    limits: Limits | None = None,
) -> sqlite3.Connection:
    """A hardened read-only connection. Raises sqlite3.Error if the file is missing."""
    conn = sqlite3.connect(
        database_uri(path, immutable),
        uri=True,
        timeout=busy_timeout_s,
        isolation_level=None,
        check_same_thread=False,
        cached_statements=512,
    )
    try:
        conn.execute("PRAGMA query_only = 1")
        conn.execute("PRAGMA trusted_schema = OFF")
    except sqlite3.Error:
        conn.close()
        raise
    (limits or Limits()).apply(conn)
    conn.create_function(JSON_VALUE, 2, sqlite_json_value, deterministic=True)
    conn.set_authorizer(authorizer or make_authorizer())
    return conn


@dataclass(frozen=True)
class FileVersion:
    """Which file (device, inode) and which schema (SQLite's schema cookie) were read."""

    identity: tuple[int, int]
    schema_version: int


def file_identity(path: Path) -> tuple[int, int]:
    """(device, inode) of a readable regular file; OSError says why it is not one."""
    found = os.stat(path)
    if not stat.S_ISREG(found.st_mode):
        raise OSError(errno.EISDIR, "not a regular file")
    if not os.access(path, os.R_OK):
        raise OSError(errno.EACCES, "permission denied")
    return found.st_dev, found.st_ino


@contextmanager
def introspection(path: Path, immutable: bool) -> Iterator[tuple[sqlite3.Connection, FileVersion]]:
    """A connection that may read the schema, and which file and schema version it sees.
    The version is read first: a change during introspection then shows as a version that
    moved on. Raises OSError if the file is gone, sqlite3.DatabaseError if it is not SQLite."""
    identity = file_identity(path)
    conn = connect_readonly(path, immutable, authorizer=INTROSPECTION)
    try:
        version = conn.execute("PRAGMA schema_version").fetchone()[0]
        yield conn, FileVersion(identity, version)
    finally:
        conn.close()


def views_reading(
    conn: sqlite3.Connection, views: Sequence[str], tables: frozenset[str]
) -> set[str]:
    """The folded names of the `views` that read any of `tables` (folded), as SQLite's
    authorizer reports it while each view's SELECT is compiled."""
    found: set[str] = set()
    reads: set[str] = set()

    def record(
        action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None
    ) -> int:
        if action == _SQLITE_READ and source is not None:
            reads.add(fold(arg1 or ""))
        return INTROSPECTION(action, arg1, arg2, db, source)

    conn.set_authorizer(record)
    try:
        for view in views:
            reads.clear()
            try:
                conn.execute(build_read_probe(view)).fetchall()
            except sqlite3.Error:
                found.add(fold(view))  # unreadable anyway: withholding it costs nothing
                continue
            if reads & tables:
                found.add(fold(view))
    finally:
        conn.set_authorizer(INTROSPECTION)
    return found


def read_schema(path: Path, immutable: bool) -> tuple[Schema, FileVersion]:
    """Introspect the file, and say which file and schema version that was."""
    with introspection(path, immutable) as (conn, version):
        return introspect(conn), version


def read_file_version(path: Path, immutable: bool) -> FileVersion:
    """Which file and schema version are at `path` now."""
    identity = file_identity(path)
    conn = connect_readonly(path, immutable, authorizer=WATCHER)
    try:
        return FileVersion(identity, conn.execute("PRAGMA schema_version").fetchone()[0])
    finally:
        conn.close()


def load_schema(path: Path, immutable: bool) -> Schema:
    return read_schema(path, immutable)[0]


def probe_queries(
    path: Path,
    immutable: bool,
    authorizer: Authorizer,
    queries: Mapping[str, tuple[str, Sequence[str]]],
    strict: bool = True,
) -> dict[str, list[str]]:
    """The result columns of each configured query (probe SQL, parameter names), without
    running it; raises ValueError naming the query SQLite cannot prepare (or, not
    `strict`, logs it and leaves it out)."""
    conn = connect_readonly(path, immutable, authorizer=authorizer)
    columns = {}
    try:
        for name, (sql, params) in queries.items():
            try:
                cursor = conn.execute(sql, dict.fromkeys(params))
            except sqlite3.Error as error:
                problem = f"queries.{name}: SQLite cannot prepare it: {error}"
                if strict:
                    raise ValueError(problem) from error
                log.warning("%s", problem)
                continue
            columns[name] = [d[0] for d in cursor.description or ()]
    finally:
        conn.close()
    return columns
