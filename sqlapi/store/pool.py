"""The read-only connection pool: hardened connections (`readonly`), each on its own
thread (aiosqlite), in generations; a time limit per step; retries while a writer holds
the file; and connections of their own, bounded in number, for exports and client SQL.

A connection is counted as busy until its thread is free: a step SQLite cannot
interrupt (one `LIKE` over a huge value) keeps its connection out of the pool, and
its place under `max_own`, until it ends, even when its client has long gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from sqlapi.model.errors import Unavailable
from sqlapi.model.values import Row
from sqlapi.store.budget import Budget
from sqlapi.store.errors import Origin, is_busy, problem_from_sqlite
from sqlapi.store.readonly import Authorizer, Limits, connect_readonly, file_identity
from sqlapi.store.stopped_statements import StoppedStatements

T = TypeVar("T")

# While a writer holds the file (rollback journal: its whole commit), SQLite's own busy
# handler waits BUSY_WAIT_S, then `timed` tries again every BUSY_PAUSE_S until the time
# limit. SQLite's handler backs off to 100 ms sleeps and, against a writer that commits
# back to back, wakes up to a locked file every time: readers starved (503s).
BUSY_WAIT_S = 0.002
BUSY_PAUSE_S = 0.001
# OverflowError: an int SQLite cannot bind; MemoryError: SQLite's SQLITE_NOMEM (a program
# past what SQLite will allocate, e.g. views nested thousands deep)
STATEMENT_ERRORS = (sqlite3.Error, OverflowError, MemoryError)
STOPPING_EVERY_S = 0.01  # how often a query nobody waits for is interrupted until it ends


@dataclass
class Connection:
    """One read connection: `conn` runs steps on its thread, `raw` is interrupted from the
    loop. `leases` counts the steps run so far: a late timer must not interrupt the next."""

    conn: aiosqlite.Connection
    raw: sqlite3.Connection
    identity: tuple[int, int]  # the file (device, inode) it opened
    generation: int
    leases: int = 0
    stopped: StoppedStatements = field(default_factory=StoppedStatements)
    closing: asyncio.Future[None] | None = None  # one close, however many ask for it

    def close(self) -> asyncio.Future[None]:
        """Close it (once: aiosqlite waits forever for a second close begun meanwhile)."""
        if self.closing is None:
            self.closing = asyncio.ensure_future(self.conn.close())
        return self.closing


def _consume(future: asyncio.Future[Any]) -> None:
    """Retrieve the outcome of a task nobody awaits any more (no 'never retrieved')."""
    if not future.cancelled():
        future.exception()


class Pool:
    """`size` connections of the current generation; a new schema or file starts a new
    generation (`renew`), and connections of the old one finish what they run and close
    when returned. `unavailable` says why no query may run (the watcher sets it)."""

    def __init__(
        self,
        path: Path,
        *,
        immutable: bool,
        size: int,
        time_limit_ms: int,
        max_own: int,
        limits: Limits,
        authorizer: Authorizer,
    ) -> None:
        self.path = path
        self.immutable = immutable
        self.size = size
        self.time_limit_ms = time_limit_ms
        self.max_own = max_own
        self.limits = limits
        self.authorizer = authorizer
        self.generation = 0
        self.unavailable: str | None = None
        self.own_open = 0  # connections of their own (exports, SQL) whose thread is busy
        self.observe: Callable[[float], None] | None = None  # time per step, for metrics
        self._own = asyncio.Semaphore(max_own)
        self._idle: asyncio.Queue[Connection] = asyncio.Queue()
        self._current: list[Connection] = []
        self._closing: set[asyncio.Future[Any]] = set()

    @property
    def ready(self) -> bool:
        return bool(self._current) and self.unavailable is None

    def check_available(self) -> None:
        if not self._current:
            raise Unavailable("The database is not open.")
        if self.unavailable is not None:
            raise Unavailable(self.unavailable)

    async def connect(
        self, authorizer: Authorizer | None = None, limits: Limits | None = None
    ) -> Connection:
        """A connection on its own thread; a problem (503) if the file cannot be opened."""
        opened: list[sqlite3.Connection] = []
        chosen = authorizer or self.authorizer
        bounds = limits or self.limits
        with opening(self.time_limit_ms):
            identity = file_identity(self.path)  # before connecting: a swap shows at the next look

            def connector() -> sqlite3.Connection:
                connection = connect_readonly(
                    self.path, self.immutable, BUSY_WAIT_S, chosen, bounds
                )
                opened.append(connection)
                return connection

            conn = await aiosqlite.Connection(connector, 64)
        return Connection(conn, opened[0], identity, self.generation)

    async def renew(self, authorizer: Authorizer | None = None) -> None:
        """A new generation of connections, to the file now at `path`, under these rules.
        If they cannot all be opened, the current generation serves on."""
        fresh: list[Connection] = []
        try:
            for _ in range(self.size):
                fresh.append(await self.connect(authorizer))
        except BaseException:
            for connection in fresh:
                await connection.close()
            raise
        self.generation += 1
        for connection in fresh:
            connection.generation = self.generation
        self.authorizer = authorizer or self.authorizer
        while not self._idle.empty():
            self.retire(self._idle.get_nowait())
        self._current = fresh
        for connection in fresh:
            self._idle.put_nowait(connection)

    def retire(self, connection: Connection) -> None:
        self._later(connection.close())

    def _later(self, work: Awaitable[Any]) -> asyncio.Future[Any]:
        task = asyncio.ensure_future(work)
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)
        task.add_done_callback(_consume)
        return task

    async def close(self) -> None:
        current, self._current = self._current, []
        for connection in current:
            await connection.close()
        await asyncio.gather(*self._closing, return_exceptions=True)

    @asynccontextmanager
    async def lease(self) -> AsyncIterator[Connection]:
        """A connection of the current generation, back in the pool once its thread is free."""
        self.check_available()
        connection = await self._idle.get()
        free = True
        try:
            yield connection
        except asyncio.CancelledError:
            free = False  # a step may still run on its thread: wait for it before reuse
            raise
        finally:
            connection.leases += 1
            if free:
                self._give_back(connection)
            else:
                self._later(self._when_free(connection))

    async def _when_free(self, connection: Connection) -> None:
        try:
            await _stopping(connection, _drained(connection))
        finally:
            self._give_back(connection)

    def _give_back(self, connection: Connection) -> None:
        if connection.generation == self.generation and connection in self._current:
            self._idle.put_nowait(connection)
        else:
            self.retire(connection)

    def _expire(self, connection: Connection, leases: int) -> None:
        if connection.leases == leases:  # still running the step this timer was set for
            connection.raw.interrupt()

    async def timed(
        self, connection: Connection, step: Callable[[], Awaitable[T]], origin: Origin = "built"
    ) -> T:
        """One step on the connection's thread, interrupted past the time limit, retried
        while a writer keeps the file busy, and interrupted at once if the request is
        cancelled (the client went away): nothing keeps running for nobody."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.time_limit_ms / 1000
        timer = loop.call_at(deadline, self._expire, connection, connection.leases)
        started = loop.time()
        try:
            while True:
                try:
                    return await step()
                except STATEMENT_ERRORS as error:
                    if not is_busy(error) or loop.time() + BUSY_PAUSE_S >= deadline:
                        raise problem_from_sqlite(error, origin, self.time_limit_ms) from error
                await asyncio.sleep(BUSY_PAUSE_S)
        except asyncio.CancelledError:
            connection.raw.interrupt()
            raise
        finally:
            timer.cancel()
            if self.observe is not None:
                self.observe(loop.time() - started)

    @asynccontextmanager
    async def own(
        self, authorizer: Authorizer | None = None, limits: Limits | None = None
    ) -> AsyncIterator[Connection]:
        """A connection of the caller's own, for exports and client SQL (a long export must
        not hold a pool connection). At most `max_own` at once, counted until their thread
        has ended: past that, wait up to the time limit for one to end, then a 503.
        Leaving interrupts whatever still runs on it and closes it."""
        self.check_available()
        try:
            await asyncio.wait_for(self._own.acquire(), self.time_limit_ms / 1000)
        except TimeoutError:
            raise Unavailable(
                f"{self.max_own} exports or SQL queries are running; try again later."
            ) from None
        self.own_open += 1
        connection: Connection | None = None
        try:
            connection = await self.connect(authorizer, limits)
            yield connection
        finally:
            closing = self._later(self._close_own(connection))
            await asyncio.shield(closing)

    async def _close_own(self, connection: Connection | None) -> None:
        """Close (once its thread is free), then give the place back."""
        try:
            if connection is not None:
                await _stopping(connection, connection.close())
        finally:
            self.own_open -= 1
            self._own.release()


async def _drained(connection: Connection) -> None:
    """Once whatever runs on the connection's thread has ended: a statement, then one that
    returns nothing. aiosqlite's thread keeps the last value a call returned until another
    call returns; a cursor kept there (a cancelled statement's) keeps its statement
    active, and SQLite clears an interrupt only when a statement starts with none active:
    every later statement on the connection would be interrupted."""
    with contextlib.suppress(sqlite3.Error):  # (interrupted too, perhaps)
        await connection.conn.execute_fetchall("SELECT 1")
    await connection.conn.commit()  # returns None: the thread holds no cursor any more


async def _stopping(connection: Connection, queued: Awaitable[Any]) -> None:
    """Await `queued` (work queued on the connection's thread behind whatever still runs
    there), interrupting that meanwhile. Once is not enough: an interrupt that comes while
    a statement is still being compiled finds nothing running, and SQLite forgets it
    when the statement's first step begins."""
    behind = asyncio.ensure_future(queued)
    behind.add_done_callback(_consume)  # (should this wait itself be cancelled)
    while not behind.done():
        with contextlib.suppress(sqlite3.ProgrammingError):  # `queued` closed it meanwhile
            connection.raw.interrupt()
        await asyncio.wait({behind}, timeout=STOPPING_EVERY_S)
    with contextlib.suppress(sqlite3.Error):  # (the interrupt may stop `queued` too)
        await behind


@asynccontextmanager
async def executing(
    connection: Connection, sql: str, params: Sequence[object] | Mapping[str, object]
) -> AsyncIterator[aiosqlite.Cursor]:
    """`sql` running on `connection`, its cursor closed after; a statement stopped while
    its rows are read is noted (see stopped_statements)."""
    async with connection.conn.execute(connection.stopped.text(sql), params) as cursor:
        try:
            yield cursor
        except BaseException as error:
            if isinstance(error, asyncio.CancelledError):
                with contextlib.suppress(sqlite3.ProgrammingError):  # closed at shutdown
                    connection.raw.interrupt()  # now: closing the cursor waits for its step
            connection.stopped.stopped(sql, error)
            raise


async def fetch_rows(cursor: aiosqlite.Cursor, budget: Budget) -> list[Row]:
    """The cursor's rows, read in chunks until the end or the budget's bound."""
    rows: list[Row] = []
    while size := budget.chunk():
        chunk = cast("list[Row]", await cursor.fetchmany(size))
        rows += chunk
        if not budget.take(chunk):
            break
    return rows


@contextmanager
def opening(time_limit_ms: int) -> Iterator[None]:
    """Opening a connection: a file that cannot be opened is a problem (503)."""
    try:
        yield
    except OSError as error:
        raise Unavailable(f"The database file cannot be opened: {error.strerror}") from error
    except sqlite3.Error as error:
        raise problem_from_sqlite(error, "built", time_limit_ms) from error
