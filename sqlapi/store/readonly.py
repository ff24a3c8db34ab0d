"""Hardened read-only SQLite connections, synchronous: the authorizer, the connection
settings, and reading a file's schema. Used at startup and by `db`'s pool.

Read-only by construction, three times over: a `mode=ro` URI (the file is never
created), `PRAGMA query_only`, and an authorizer that allows only reads. On top of
that: no extension loading, and only the functions and virtual tables of `functions`
(which is why the schema may be trusted).
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

from sqlapi.model.encoding import JSON_VALUE, sqlite_json_value
from sqlapi.model.schema import Schema, fold
from sqlapi.store.functions import allowed_function, trust_schema
from sqlapi.store.introspect import READ_PRAGMAS, introspect

log = logging.getLogger("sqlapi")

_SQLITE_DELETE, _SQLITE_INSERT, _SQLITE_PRAGMA, _SQLITE_READ = 9, 18, 19, 20
_SQLITE_SELECT, _SQLITE_UPDATE, _SQLITE_FUNCTION, _SQLITE_RECURSIVE = 21, 23, 31, 33
_SHADOW_WRITES = frozenset({_SQLITE_INSERT, _SQLITE_UPDATE, _SQLITE_DELETE})


Authorizer = Callable[[int, "str | None", "str | None", "str | None", "str | None"], int]
_SCHEMA_TABLES = frozenset(
    {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_temp_schema"}
)
ANY_TABLE = None  # `shadow`: writes to any table may be prepared (introspection only)


def make_authorizer(
    denied: frozenset[str] = frozenset(),
    hidden: frozenset[tuple[str, str]] = frozenset(),
    pragmas: frozenset[str] = frozenset({"data_version"}),
    schema_text: bool = False,
    hidden_read: int = sqlite3.SQLITE_IGNORE,
    shadow: frozenset[str] | None = frozenset(),
) -> Authorizer:
    """Reads only, and not all of them: denied tables are refused, hidden columns read as
    NULL (through views and /api/sql too), and the schema text is blank (it would name
    them). Only the functions of `functions.ALLOWED_FUNCTIONS` may be called, and
    sqlapi's own only by sqlapi's statements, never by a view. Only the given read-only
    pragmas run; FTS5 itself asks for data_version.

    Virtual tables prepare statements of their own when they connect: FTS5 an UPDATE of
    sqlite_master, R*Tree writes to its `shadow` tables (folded names). They may be
    prepared and can never run: the file is opened read-only and `query_only` is set."""

    def authorize(
        action: int, arg1: str | None, arg2: str | None, _db: str | None, source: str | None
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
            name = (arg2 or "").lower()
            ours = name == JSON_VALUE and source is None
            return sqlite3.SQLITE_OK if ours or allowed_function(name) else sqlite3.SQLITE_DENY
        if action == _SQLITE_PRAGMA and (arg1 or "").lower() in pragmas:
            return sqlite3.SQLITE_OK
        if action == _SQLITE_UPDATE and arg1 == "sqlite_master":
            return sqlite3.SQLITE_OK
        if action in _SHADOW_WRITES and (shadow is ANY_TABLE or fold(arg1 or "") in shadow):
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_DENY

    return authorize


INTROSPECTION = make_authorizer(pragmas=READ_PRAGMAS, schema_text=True, shadow=ANY_TABLE)
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
        # functions.py: on this library, trusting the schema reaches only allowed functions
        conn.execute(f"PRAGMA trusted_schema = {'ON' if trust_schema() else 'OFF'}")
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
