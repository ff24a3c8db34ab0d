"""The only module that talks to SQLite at request time (through aiosqlite): a pool of
hardened read-only connections (`readonly`), a time limit that interrupts, and a watcher
that follows the file through commits, schema changes, replacement and absence.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from sqlapi.cache import ResultCache
from sqlapi.errors import ProblemError, QueryTimeout, SchemaChanged, Unavailable
from sqlapi.readonly import (
    WATCHER,
    Authorizer,
    FileVersion,
    connect_readonly,
    file_identity,
    make_authorizer,
)

Row = tuple[Any, ...]
T = TypeVar("T")
log = logging.getLogger("sqlapi")
_VERSIONS = "SELECT * FROM pragma_data_version, pragma_schema_version"

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


def _unreadable(error: Exception) -> str:
    """Why the file cannot be served, for the 503s while it lasts."""
    if isinstance(error, ProblemError):
        return error.detail
    if isinstance(error, OSError):
        missing = error.errno == errno.ENOENT
        return f"The database file is {'missing' if missing else (error.strerror or error)}."
    return f"The database file cannot be read: {error}."


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a task nobody awaits any more (no 'never retrieved')."""
    if not future.cancelled():
        future.exception()


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


@dataclass
class _Slot:
    conn: aiosqlite.Connection
    raw: sqlite3.Connection
    identity: tuple[int, int]  # the file it opened
    epoch: int  # the pool generation it belongs to
    generation: int = 0  # leases so far: a late timer must not interrupt the next lease


Refresher = Callable[[], Awaitable[FileVersion]]


@dataclass
class _Flight:
    """One scan being run for every request that asked for it meanwhile."""

    version: int
    task: asyncio.Future[list[Row]]
    waiters: int = 0


# While a writer holds the file (rollback journal: its whole commit), SQLite's own busy
# handler waits BUSY_WAIT_S, then `_timed` tries again every BUSY_PAUSE_S until the time
# limit. SQLite's handler backs off to 100 ms sleeps and, against a writer that commits
# back to back, wakes up to a locked file every time: readers starved (503s).
BUSY_WAIT_S = 0.002
BUSY_PAUSE_S = 0.001
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
# A query tried on the event loop gives way to the pool past this long; the clock is
# read every INLINE_CHECK_EVERY SQLite instructions (a 50-row page takes about 500).
INLINE_BUDGET_S = 0.002
INLINE_CHECK_EVERY = 1000


def _code(error: sqlite3.Error) -> int:
    """SQLite's primary result code (the extended code's low byte)."""
    return int(getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


def _is_busy(error: sqlite3.Error) -> bool:
    return _code(error) in _BUSY_CODES


class Database:
    """A small pool of read connections, a time limit per query, and a watcher that follows
    the file: a commit by another process bumps `version`; a new schema or a replaced file
    is re-introspected (by `refresher`) onto a new generation of connections; a file that
    is gone or unreadable makes the database unavailable until it is back."""

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
        expected: FileVersion | None = None,
        refresher: Refresher | None = None,
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
        self.expected = expected  # the file and schema version the exposed schema was read from
        self.refresher = refresher
        self.unavailable: str | None = None  # why requests get a 503, while they do
        self.open_streams = 0
        self._streams = asyncio.Semaphore(max_streams)
        self.version = 0
        self.epoch = 0
        self.tag = self._file_tag()
        self._changed = asyncio.Event()
        self._idle: asyncio.Queue[_Slot] = asyncio.Queue()
        self._slots: list[_Slot] = []
        self._watcher: asyncio.Task[None] | None = None
        self._watch_slot: _Slot | None = None
        self._looking = asyncio.Lock()
        self._marker: tuple[object, str] | None = None
        self._retired: set[asyncio.Task[None]] = set()
        self._scans = ResultCache()  # counts and distinct values, for this version
        self._flights: dict[tuple[object, ...], _Flight] = {}
        self._inline: sqlite3.Connection | None = None  # the event loop's own connection
        self._inline_deadline = 0.0

    @property
    def ready(self) -> bool:
        return bool(self._slots) and self.unavailable is None

    async def _open_slot(self, authorizer: Authorizer | None = None) -> _Slot:
        """A connection on its own thread; a problem (503) if the file cannot be opened."""
        opened: list[sqlite3.Connection] = []
        chosen = authorizer or self.authorizer
        with self._opening():
            identity = file_identity(self.path)  # before connecting: a swap shows at the next look

            def connector() -> sqlite3.Connection:
                opened.append(connect_readonly(self.path, self.immutable, BUSY_WAIT_S, chosen))
                return opened[0]

            conn = await aiosqlite.Connection(connector, 64)
        return _Slot(conn, opened[0], identity, self.epoch)

    @contextmanager
    def _opening(self) -> Iterator[None]:
        """Opening a connection: a file that cannot be opened is a problem (503)."""
        try:
            yield
        except OSError as error:
            raise Unavailable(f"The database file cannot be opened: {error.strerror}") from error
        except sqlite3.Error as error:
            raise self._problem(error) from error

    async def open(self) -> None:
        try:
            await self.reopen()
        except BaseException:
            await self.close()  # aiosqlite's threads would otherwise keep the process alive
            raise
        if not self.immutable:
            self._watcher = asyncio.create_task(self._watch())

    async def reopen(
        self, authorizer: Authorizer | None = None, sql_authorizer: Authorizer | None = None
    ) -> None:
        """A new generation of connections, to the file now at `path`, under these rules.
        Connections of the old generation finish what they run and close when returned."""
        fresh: list[_Slot] = []
        try:
            for _ in range(self.pool_size):
                fresh.append(await self._open_slot(authorizer))
            inline = self._open_inline(authorizer or self.authorizer)
        except BaseException:
            for slot in fresh:
                await slot.conn.close()
            raise  # the current generation serves on: retiring it now would drain the pool
        self.epoch += 1
        for slot in fresh:
            slot.epoch = self.epoch
        if self._inline is not None:
            self._inline.close()  # used only on this thread, between awaits: not in use now
        self._inline = inline
        self.authorizer = authorizer or self.authorizer
        self.sql_authorizer = sql_authorizer or self.sql_authorizer
        while not self._idle.empty():
            self._retire(self._idle.get_nowait())
        self._slots = fresh
        for slot in fresh:
            self._idle.put_nowait(slot)

    def _retire(self, slot: _Slot) -> None:
        task = asyncio.ensure_future(slot.conn.close())
        self._retired.add(task)
        task.add_done_callback(self._retired.discard)

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        slots, self._slots = self._slots, []
        if self._watch_slot is not None:
            slots.append(self._watch_slot)
            self._watch_slot = None
        for slot in slots:
            await slot.conn.close()
        await asyncio.gather(*self._retired, return_exceptions=True)

    def _file_tag(self) -> str:
        """What the database's content is, as far as the files tell: the same in every
        process and worker serving the file, and changed by every commit (it appends to
        the -wal file or rewrites the database file)."""
        stamps = []
        for suffix in ("", "-wal"):
            try:
                found = os.stat(f"{self.path}{suffix}")
            except OSError:
                continue
            stamps.append(f"{found.st_ino}:{found.st_size}:{found.st_mtime_ns}")
        return hashlib.blake2s("|".join(stamps).encode(), digest_size=8).hexdigest()

    async def _watch(self) -> None:
        """Look at the file every `poll_interval_s`, whatever happens to it."""
        while True:
            try:
                await self.look()
            except Exception:  # a watcher that dies would leave the API stale: log, go on
                log.exception("watching %s failed; trying again", self.path)
            await asyncio.sleep(self.poll_interval_s)

    async def look(self) -> None:
        """Follow the file now: gone or unreadable -> unavailable; replaced, back, or with a
        new schema -> re-introspect onto new connections; any commit -> a new `version`."""
        async with self._looking:
            try:
                identity = file_identity(self.path)
                if self._watch_slot is None or self._watch_slot.identity != identity:
                    if self._watch_slot is not None:
                        self._retire(self._watch_slot)
                    self._watch_slot = None
                    self._watch_slot = await self._open_slot(WATCHER)
                rows = await self._watch_slot.conn.execute_fetchall(_VERSIONS)
                data_version, schema_version = next(iter(rows))
            except (OSError, sqlite3.Error, ProblemError) as error:
                if isinstance(error, sqlite3.Error) and _is_busy(error):
                    return  # a writer holds the file for now: look again at the next poll
                return self._lost(_unreadable(error))
            current = FileVersion(identity, schema_version)
            self.expected = self.expected or current
            refreshed = False
            if self.unavailable is not None or current != self.expected:
                refreshed = await self._refresh(current)
                if not refreshed:
                    return
            marker = (data_version, self._file_tag())
            if refreshed or (self._marker is not None and marker != self._marker):
                self._changed_now(marker[1])
            self._marker = marker

    async def _refresh(self, current: FileVersion) -> bool:
        """Re-introspect (through `refresher`, which calls `reopen`) or just reopen."""
        try:
            if self.refresher is not None:
                self.expected = await self.refresher()
            else:
                await self.reopen()
                self.expected = current
        except (OSError, sqlite3.Error, ProblemError) as error:
            self._lost(_unreadable(error))
            return False
        if self.unavailable is not None:
            log.warning("%s: available again", self.path)
            self.unavailable = None
        return True

    def _lost(self, reason: str) -> None:
        if reason != self.unavailable:
            log.warning("%s: %s Answering 503 until it is back.", self.path, reason.rstrip("."))
        self.unavailable = reason

    def _changed_now(self, tag: str) -> None:
        self.version += 1
        self.tag = tag
        self._scans.clear()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    def change_signal(self) -> asyncio.Event:
        """Set at the next commit by another process. Take it *before* reading, then wait:
        a commit in between is not missed."""
        return self._changed

    def check_available(self) -> None:
        if not self._slots:
            raise Unavailable("The database is not open.")
        if self.unavailable is not None:
            raise Unavailable(self.unavailable)

    @asynccontextmanager
    async def _acquire(self) -> AsyncIterator[_Slot]:
        self.check_available()
        slot = await self._idle.get()
        try:
            yield slot
        finally:
            slot.generation += 1
            if slot.epoch == self.epoch:
                self._idle.put_nowait(slot)
            else:
                self._retire(slot)

    def _expire(self, slot: _Slot, generation: int) -> None:
        if slot.generation == generation:  # still running the query this timer was set for
            slot.raw.interrupt()

    async def _timed(
        self, slot: _Slot, step: Callable[[], Awaitable[T]], untrusted: bool = False
    ) -> T:
        """One step on `slot`'s thread, interrupted past the time limit, retried while a
        writer keeps the file busy, and interrupted at once if the request is cancelled
        (the client went away): nothing keeps running for nobody."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.time_limit_ms / 1000
        timer = loop.call_at(deadline, self._expire, slot, slot.generation)
        started = loop.time()
        try:
            while True:
                try:
                    return await step()
                except sqlite3.Error as error:
                    if not _is_busy(error) or loop.time() + BUSY_PAUSE_S >= deadline:
                        raise self._problem(error, untrusted) from error
                await asyncio.sleep(BUSY_PAUSE_S)
        except asyncio.CancelledError:
            slot.raw.interrupt()
            raise
        finally:
            timer.cancel()
            if self.observe is not None:
                self.observe(loop.time() - started)

    async def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, inline: bool = False
    ) -> list[Row]:
        """Run one query to completion within the time limit. An `inline` query (cheap by
        construction: see query.Query) is first tried right here on the event loop, within
        INLINE_BUDGET_S; past the budget, or on any SQLite error, it runs on the pool."""
        if inline:
            self.check_available()
            rows = self._run_inline(sql, params)
            if rows is not None:
                return rows
        async with self._acquire() as slot:
            return await self._timed(slot, lambda: self._run(slot, sql, params))

    def _run_inline(self, sql: str, params: Sequence[object]) -> list[Row] | None:
        """A query on the event loop's own connection: no thread, no GIL handed back and
        forth once per row (that costs more than a 50-row page itself). None when it
        could not finish within the budget or SQLite refused it: the pool path decides."""
        conn = self._inline
        if conn is None:
            return None
        started = time.perf_counter()
        self._inline_deadline = started + INLINE_BUDGET_S
        try:
            rows = cast("list[Row]", conn.execute(sql, params).fetchall())
        except sqlite3.Error:
            return None  # over budget, busy, text that is not UTF-8, a schema that moved
        if self.observe is not None:
            self.observe(time.perf_counter() - started)
        return rows

    def _over_budget(self) -> int:
        """SQLite's progress handler on the inline connection: non-zero stops the query."""
        return int(time.perf_counter() > self._inline_deadline)

    def _open_inline(self, authorizer: Authorizer) -> sqlite3.Connection:
        with self._opening():
            conn = connect_readonly(self.path, self.immutable, 0, authorizer)  # busy: at once
        conn.set_progress_handler(self._over_budget, INLINE_CHECK_EVERY)
        return conn

    @asynccontextmanager
    async def _own_connection(self, authorizer: Authorizer | None = None) -> AsyncIterator[_Slot]:
        """A connection of the caller's own, for exports and /api/sql (a long export must
        not hold a pool connection). At most `max_streams` at once: past that, wait up to
        the time limit for one to end (a burst is absorbed), then a 503. Leaving
        interrupts whatever still runs on it and closes it."""
        self.check_available()
        try:
            await asyncio.wait_for(self._streams.acquire(), self.time_limit_ms / 1000)
        except TimeoutError:
            raise Unavailable(f"{self.max_streams} exports are running; try again later.") from None
        self.open_streams += 1
        slot: _Slot | None = None
        try:
            slot = await self._open_slot(authorizer)
            yield slot
        finally:
            self.open_streams -= 1
            self._streams.release()
            if slot is not None:
                slot.raw.interrupt()  # stop a batch still running on the thread
                await slot.conn.close()

    async def stream(
        self, sql: str, params: Sequence[object], batch: int = 1000
    ) -> AsyncGenerator[list[Row], None]:
        """Every row of a query, in batches, on a connection of its own; the time limit
        applies to each batch. Closing the generator (the client went away) interrupts
        SQLite and closes the connection."""
        async with self._own_connection() as slot:
            sent, lenient = 0, False
            while True:
                try:
                    cursor = await self._timed(slot, lambda: slot.conn.execute(sql, params))
                    skip = sent  # a rerun (after a decoding error) resumes where it was
                    while rows := cast(
                        "list[Row]", await self._timed(slot, partial(cursor.fetchmany, batch))
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
                return await self._timed(
                    slot, lambda: self._columns_and_rows(slot, sql, params, limit)
                )
        async with self._own_connection(self.sql_authorizer) as slot:
            return await self._timed(
                slot, lambda: self._columns_and_rows(slot, sql, params, limit), untrusted=True
            )

    @staticmethod
    async def _columns_and_rows(
        slot: _Slot, sql: str, params: Sequence[object] | Mapping[str, object], limit: int
    ) -> tuple[list[str], list[Row]]:
        async with slot.conn.execute(sql, params) as cursor:
            rows = cast("list[Row]", await cursor.fetchmany(limit))
            names = [d[0] for d in cursor.description or ()]
        return names, rows

    async def fetch_one(
        self, sql: str, params: Sequence[object] = (), *, inline: bool = False
    ) -> Row | None:
        rows = await self.fetch_all(sql, params, inline=inline)
        return rows[0] if rows else None

    async def fetch_scan(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """The rows of a query that scans (a count, a column's distinct values), cached
        until the database version changes: repeating it is free until the file does.
        Identical scans asked at once share one query (after each commit a popular facet
        would otherwise be computed once per waiting request); it is interrupted if
        every request waiting for it goes away."""
        version, key = self.version, (sql, *params)
        rows = self._scans.get(key)
        if rows is not None:
            return rows
        flight = self._flights.get(key)
        if flight is None or flight.version != version:
            flight = self._flights[key] = _Flight(version, asyncio.ensure_future(
                self.fetch_all(sql, params)))  # fmt: skip
        flight.waiters += 1
        try:
            rows = await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if not flight.waiters:
                if not flight.task.done():
                    flight.task.cancel()  # nobody waits: its _timed interrupts SQLite
                flight.task.add_done_callback(_consume)
                if self._flights.get(key) is flight:
                    del self._flights[key]
        if version == self.version:  # not answered across a change
            self._scans.put(key, rows)
        return rows

    async def count(self, sql: str, params: Sequence[object]) -> int:
        rows = await self.fetch_scan(sql, params)
        return int(rows[0][0]) if rows else 0

    def _problem(self, error: sqlite3.Error, untrusted: bool = False) -> ProblemError:
        message = str(error)
        if message == "interrupted":
            return QueryTimeout(self.time_limit_ms)
        if not untrusted and message.startswith(("no such table", "no such column")):
            return SchemaChanged()  # names from the introspected schema are gone from the file
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
        if _is_busy(error) or "locked" in message or "busy" in message:
            return Unavailable(f"The database is busy: {message}. Try again.")
        if _code(error) in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            return Unavailable(
                f"The database file is damaged in the pages this request reads ({message}); "
                "other tables may still answer.",
                kind="database-corrupt",
                retry=False,
            )
        return Unavailable(f"The database could not be read: {message}")
