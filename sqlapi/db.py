"""The only module that talks to SQLite at request time (through aiosqlite).

Read-only by construction, three times over: a `mode=ro` URI (the file is never
created), `PRAGMA query_only`, and an authorizer that allows only reads. On top of
that: `trusted_schema=OFF`, no extension loading, and a time limit that interrupts.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sqlite3
import urllib.parse
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from sqlapi.errors import ProblemError, QueryTimeout, Unavailable
from sqlapi.schema import READ_PRAGMAS, Schema, fold, introspect

Row = tuple[Any, ...]
T = TypeVar("T")

_SQLITE_PRAGMA, _SQLITE_READ, _SQLITE_SELECT, _SQLITE_UPDATE = 19, 20, 21, 23
_SQLITE_FUNCTION, _SQLITE_RECURSIVE = 31, 33
_QUERY_MISTAKES = (
    "syntax error",
    "no such",
    "incomplete input",
    "unrecognized token",
    "wrong number of arguments",
    "ambiguous",
    "misuse",
    "no tables specified",
    "fts5:",
    "unterminated string",
)
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


def database_uri(path: Path, immutable: bool) -> str:
    query = "mode=ro&immutable=1" if immutable else "mode=ro"
    return f"file:{urllib.parse.quote(str(path.resolve()))}?{query}"


def connect_readonly(
    path: Path, immutable: bool, busy_timeout_s: float = 1.0, authorizer: Authorizer | None = None
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
    conn.execute("PRAGMA query_only = 1")
    conn.execute("PRAGMA trusted_schema = OFF")
    conn.set_authorizer(authorizer or make_authorizer())
    return conn


def load_schema(path: Path, immutable: bool) -> Schema:
    """Introspect the file once; raises sqlite3.DatabaseError if it is not SQLite."""
    conn = connect_readonly(path, immutable, authorizer=INTROSPECTION)
    try:
        return introspect(conn)
    finally:
        conn.close()


def probe_queries(
    path: Path,
    immutable: bool,
    authorizer: Authorizer,
    queries: Mapping[str, tuple[str, Sequence[str]]],
) -> dict[str, list[str]]:
    """The result columns of each configured query (probe SQL, parameter names), without
    running it; raises ValueError naming the query SQLite cannot prepare."""
    conn = connect_readonly(path, immutable, authorizer=authorizer)
    columns = {}
    try:
        for name, (sql, params) in queries.items():
            try:
                cursor = conn.execute(sql, dict.fromkeys(params))
            except sqlite3.Error as error:
                raise ValueError(f"queries.{name}: SQLite cannot prepare it: {error}") from error
            columns[name] = [d[0] for d in cursor.description or ()]
    finally:
        conn.close()
    return columns


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@dataclass
class _Slot:
    conn: aiosqlite.Connection
    raw: sqlite3.Connection
    generation: int = 0


class Database:
    """A small pool of read connections, a time limit per query, and the database version
    (bumped when another process commits) that keys caches."""

    def __init__(
        self,
        path: Path,
        *,
        immutable: bool = False,
        pool_size: int = 4,
        time_limit_ms: int = 1000,
        poll_interval_s: float = 0.1,
        max_streams: int = 16,
        authorizer: Authorizer | None = None,
        sql_authorizer: Authorizer | None = None,
    ) -> None:
        self.authorizer = authorizer or make_authorizer()
        self.observe: Callable[[float], None] | None = None  # query time, for metrics
        self.sql_authorizer = sql_authorizer or self.authorizer
        self.path = path
        self.immutable = immutable
        self.pool_size = pool_size
        self.time_limit_ms = time_limit_ms
        self.poll_interval_s = poll_interval_s
        self.max_streams = max_streams
        self.open_streams = 0
        self.version = 0
        self.tag = self._file_tag()
        self._changed = asyncio.Event()
        self._idle: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots: list[_Slot] = []
        self._watcher: asyncio.Task[None] | None = None
        self._counts: OrderedDict[tuple[object, ...], int] = OrderedDict()

    @property
    def ready(self) -> bool:
        return len(self._slots) == self.pool_size

    async def _open_slot(self, authorizer: Authorizer | None = None) -> _Slot:
        opened: list[sqlite3.Connection] = []
        chosen = authorizer or self.authorizer

        def connector() -> sqlite3.Connection:
            timeout = self.time_limit_ms / 1000
            opened.append(connect_readonly(self.path, self.immutable, timeout, chosen))
            return opened[0]

        conn = await aiosqlite.Connection(connector, 64)
        return _Slot(conn, opened[0])

    async def open(self) -> None:
        try:
            for _ in range(self.pool_size):
                slot = await self._open_slot()
                self._slots.append(slot)
                self._idle.put_nowait(slot)
        except BaseException:
            await self.close()  # aiosqlite's threads would otherwise keep the process alive
            raise
        if not self.immutable:
            self._watcher = asyncio.create_task(self._watch())

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        slots, self._slots = self._slots, []
        for slot in slots:
            await slot.conn.close()

    def _file_tag(self) -> str:
        """What the database's content is, as far as the files tell: the same in every
        process and worker serving the file, and changed by every commit (it appends to
        the -wal file or rewrites the database file)."""
        stamps = []
        for suffix in ("", "-wal"):
            try:
                stat = os.stat(f"{self.path}{suffix}")
            except OSError:
                continue
            stamps.append(f"{stat.st_ino}:{stat.st_size}:{stat.st_mtime_ns}")
        return hashlib.blake2s("|".join(stamps).encode(), digest_size=8).hexdigest()

    async def _watch(self) -> None:
        """Notice commits by other processes: `PRAGMA data_version` on a dedicated connection
        and the files' stamps, polled; a change bumps `version`, `tag` and wakes waiters."""
        watcher = await self._open_slot()
        try:
            last: tuple[object, str] | None = None
            while True:
                try:
                    rows = await watcher.conn.execute_fetchall("PRAGMA data_version")
                    data_version = next(iter(rows))[0]
                except sqlite3.Error:
                    data_version = None  # unreadable for now: a change when it is back
                marker = (data_version, self._file_tag())
                if marker != last:
                    if last is not None:
                        self._changed_now(marker[1])
                    last = marker
                await asyncio.sleep(self.poll_interval_s)
        finally:
            await watcher.conn.close()

    def _changed_now(self, tag: str) -> None:
        self.version += 1
        self.tag = tag
        self._counts.clear()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def change_signal(self) -> asyncio.Event:
        """Set at the next commit by another process. Take it *before* reading, then wait:
        a commit in between is not missed."""
        return self._changed

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[_Slot]:
        if not self._slots:
            raise Unavailable("The database is not open.")
        slot = await self._idle.get()
        try:
            yield slot
        finally:
            slot.generation += 1
            self._idle.put_nowait(slot)

    def _expire(self, slot: _Slot, generation: int) -> None:
        if slot.generation == generation:  # still running the query this timer was set for
            slot.raw.interrupt()

    async def _timed(self, slot: _Slot, step: Awaitable[T]) -> T:
        """One step on `slot`'s thread, interrupted past the time limit."""
        loop = asyncio.get_running_loop()
        timer = loop.call_later(self.time_limit_ms / 1000, self._expire, slot, slot.generation)
        started = loop.time()
        try:
            return await step
        except sqlite3.Error as error:
            raise self._problem(error) from error
        finally:
            timer.cancel()
            if self.observe is not None:
                self.observe(loop.time() - started)

    async def fetch_all(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """Run one query to completion within the time limit."""
        async with self._acquire() as slot:
            return await self._timed(slot, self._run(slot, sql, params))

    async def stream(
        self, sql: str, params: Sequence[object], batch: int = 1000
    ) -> AsyncIterator[list[Row]]:
        """Every row of a query, in batches, on a connection of its own (a long export must
        not hold a pool connection); the time limit applies to each batch. Closing the
        generator (the client went away) interrupts SQLite and closes the connection."""
        self.check_stream_capacity()
        self.open_streams += 1
        slot: _Slot | None = None
        try:
            slot = await self._open_slot()
            sent, lenient = 0, False
            while True:
                try:
                    cursor = await self._timed(slot, slot.conn.execute(sql, params))
                    skip = sent  # a rerun (after a decoding error) resumes where it was
                    while rows := cast(
                        "list[Row]", await self._timed(slot, cursor.fetchmany(batch))
                    ):
                        dropped = min(skip, len(rows))
                        rows, skip = rows[dropped:], skip - dropped
                        if rows:
                            sent += len(rows)
                            yield rows
                    return
                except Unavailable as problem:
                    if lenient or "decode" not in problem.detail:
                        raise
                    lenient = True
                    slot.conn.text_factory = _lenient_text
        finally:
            self.open_streams -= 1
            if slot is not None:
                slot.raw.interrupt()  # stop a batch still running on the thread
                await slot.conn.close()

    async def _run(self, slot: _Slot, sql: str, params: Sequence[object]) -> list[Row]:
        try:
            return cast("list[Row]", await slot.conn.execute_fetchall(sql, params))
        except sqlite3.OperationalError as error:
            if "decode" not in str(error):
                raise
        slot.conn.text_factory = _lenient_text  # TEXT that is not UTF-8: replace, stay valid JSON
        try:
            return cast("list[Row]", await slot.conn.execute_fetchall(sql, params))
        finally:
            slot.conn.text_factory = str

    async def fetch_columns(
        self,
        sql: str,
        params: Sequence[object] | Mapping[str, object],
        limit: int,
        *,
        untrusted: bool = False,
    ) -> tuple[list[str], list[Row]]:
        """(column names, at most `limit` rows) of one statement. `untrusted` SQL (from
        /api/sql) runs on a connection of its own whose authorizer refuses, rather than
        blanks, hidden columns: `SELECT *` cannot list them."""
        if not untrusted:
            async with self._acquire() as slot:
                return await self._timed(slot, self._columns_and_rows(slot, sql, params, limit))
        self.check_stream_capacity()
        self.open_streams += 1
        try:
            slot = await self._open_slot(self.sql_authorizer)
            try:
                return await self._timed(slot, self._columns_and_rows(slot, sql, params, limit))
            finally:
                await slot.conn.close()
        finally:
            self.open_streams -= 1

    @staticmethod
    async def _columns_and_rows(
        slot: _Slot, sql: str, params: Sequence[object] | Mapping[str, object], limit: int
    ) -> tuple[list[str], list[Row]]:
        async with slot.conn.execute(sql, params) as cursor:
            rows = cast("list[Row]", await cursor.fetchmany(limit))
            names = [d[0] for d in cursor.description or ()]
        return names, rows

    def check_stream_capacity(self) -> None:
        if self.open_streams >= self.max_streams:
            raise Unavailable(f"{self.max_streams} exports are running; try again later.")

    async def fetch_one(self, sql: str, params: Sequence[object] = ()) -> Row | None:
        rows = await self.fetch_all(sql, params)
        return rows[0] if rows else None

    async def count(self, sql: str, params: Sequence[object]) -> int:
        """An exact count, cached until the database version changes."""
        key = (self.version, sql, *params)
        if key in self._counts:
            self._counts.move_to_end(key)
            return self._counts[key]
        row = await self.fetch_one(sql, params)
        value = int(row[0]) if row else 0
        if key[0] == self.version:
            self._counts[key] = value
            if len(self._counts) > 1024:
                self._counts.popitem(last=False)
        return value

    def _problem(self, error: sqlite3.Error) -> ProblemError:
        message = str(error)
        if message == "interrupted":
            return QueryTimeout(self.time_limit_ms)
        if "too many SQL variables" in message or "too big" in message or "too long" in message:
            return ProblemError(400, f"The request is too large for SQLite: {message}")
        if (
            "not authorized" in message
            or "authorization denied" in message
            or "prohibited" in message
        ):
            return ProblemError(
                403,
                "SQLite refused the statement: sqlapi only reads, and not hidden columns or "
                "tables the configuration denies.",
                kind="not-authorized",
            )  # SQLite's own message would name the hidden column
        if isinstance(error, sqlite3.ProgrammingError) or any(
            m in message for m in _QUERY_MISTAKES
        ):
            return ProblemError(400, f"SQLite cannot run this statement: {message}", kind="bad-sql")
        if "locked" in message or "busy" in message:
            return Unavailable(f"The database is busy: {message}. Try again.")
        return Unavailable(f"The database could not be read: {message}")
