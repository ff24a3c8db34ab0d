"""The database as the routes see it: run a query (on the event loop when it is cheap by
construction, else on the pool), stream an export, run a client's SQL, keep scans
per version. The pieces are `pool`, `inline`, `watcher` and `scans`; this is the facade.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from sqlapi.model.errors import ProblemError, ResponseTooLarge
from sqlapi.model.values import Row
from sqlapi.store.budget import Budget
from sqlapi.store.clientsql import ClientRules, run_client_sql
from sqlapi.store.errors import is_undecodable
from sqlapi.store.inline import InlineRunner
from sqlapi.store.pool import Connection, Pool, executing, fetch_rows
from sqlapi.store.readonly import (
    Authorizer,
    FileVersion,
    Limits,
    make_authorizer,
    read_file_version,
)
from sqlapi.store.scans import Scans
from sqlapi.store.watcher import Refresher, Watcher

Params = Sequence[object] | Mapping[str, object]
BATCH_BYTES = 4 * 1024 * 1024  # an export batch ends at this size, or at its row count


def _lenient_text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


class Database:
    """A pool of read connections and the event loop's own, a time limit per query, scans
    cached per version, and a watcher that follows the file (see `watcher`)."""

    def __init__(
        self,
        path: Path,
        *,
        immutable: bool = False,
        pool_size: int = 4,
        time_limit_ms: int = 1000,
        poll_interval_s: float = 0.1,
        max_streams: int = 16,
        max_response_bytes: int = 16 * 1024 * 1024,
        limits: Limits | None = None,
        authorizer: Authorizer | None = None,
        exposed_from: FileVersion | None = None,
        refresher: Refresher | None = None,
    ) -> None:
        self.path = path
        self.immutable = immutable
        self.time_limit_ms = time_limit_ms
        self.max_response_bytes = max_response_bytes
        self.limits = limits or Limits()
        self.authorizer = authorizer or make_authorizer()
        self.pool = Pool(
            path,
            immutable=immutable,
            size=pool_size,
            time_limit_ms=time_limit_ms,
            max_own=max_streams,
            limits=self.limits,
            authorizer=self.authorizer,
        )
        self.inline = InlineRunner(path, immutable, self.limits, time_limit_ms, max_response_bytes)
        self.scans = Scans()
        self.refresher = refresher
        self.watcher = Watcher(
            path,
            self.pool,
            self._refresh,
            exposed_from=exposed_from,
            poll_interval_s=poll_interval_s,
            on_change=self.scans.changed,
        )

    # -- the file and its state -------------------------------------------------------

    @property
    def ready(self) -> bool:
        return self.pool.ready

    @property
    def version(self) -> int:
        """The number of changes to the file seen so far."""
        return self.watcher.version

    @property
    def stamp(self) -> str:
        """The file's current stamp (see `watcher.file_stamp`): the base of every ETag."""
        return self.watcher.stamp

    @property
    def open_streams(self) -> int:
        return self.pool.own_open

    def set_observer(self, observe: Callable[[float], None]) -> None:
        """Report the time of every query (or export batch), for metrics."""
        self.pool.observe = self.inline.observe = observe

    def check_available(self) -> None:
        self.pool.check_available()

    def change_signal(self) -> asyncio.Event:
        return self.watcher.change_signal()

    async def look(self) -> None:
        await self.watcher.look()

    async def open(self) -> None:
        try:
            await self.reopen()
        except BaseException:
            await self.close()  # aiosqlite's threads would otherwise keep the process alive
            raise
        if not self.immutable:
            await self.watcher.start()

    async def reopen(self, authorizer: Authorizer | None = None) -> None:
        """New connections, to the file now at `path`, under these rules. Connections of
        the old generation finish what they run and close when returned."""
        authorizer = authorizer or self.authorizer
        await self.pool.renew(authorizer)
        self.inline.renew(authorizer)
        self.authorizer = authorizer

    async def _refresh(self) -> FileVersion:
        if self.refresher is not None:
            return await self.refresher()
        await self.reopen()
        return await asyncio.to_thread(read_file_version, self.path, self.immutable)

    async def close(self) -> None:
        await self.watcher.stop()
        self.inline.close()
        await self.pool.close()

    # -- queries ----------------------------------------------------------------------

    async def fetch_all(
        self, sql: str, params: Sequence[object] = (), *, inline: bool = False
    ) -> list[Row]:
        """Run one query to completion within the time limit. An `inline` query (cheap by
        construction: see query.Query) is first tried on the event loop (`inline`)."""
        if inline:
            self.check_available()
            rows = self.inline.run(sql, params)
            if rows is not None:
                return rows
        async with self.pool.lease() as connection:
            return await self.pool.timed(connection, partial(self._run, connection, sql, params))

    async def fetch_one(
        self, sql: str, params: Sequence[object] = (), *, inline: bool = False
    ) -> Row | None:
        rows = await self.fetch_all(sql, params, inline=inline)
        return rows[0] if rows else None

    async def _run(
        self, connection: Connection, sql: str, params: Params, max_rows: int | None = None
    ) -> list[Row]:
        """The rows of one statement, within the response budget; TEXT that is not UTF-8
        is read again with the bad bytes replaced (the output stays valid JSON)."""
        try:
            return await self._read(connection, sql, params, max_rows)
        except sqlite3.OperationalError as error:
            if not is_undecodable(error):
                raise
        connection.conn.text_factory = _lenient_text
        try:
            return await self._read(connection, sql, params, max_rows)
        finally:
            connection.conn.text_factory = str

    async def _read(
        self, connection: Connection, sql: str, params: Params, max_rows: int | None
    ) -> list[Row]:
        budget = Budget(self.max_response_bytes, max_rows)
        async with executing(connection, sql, params) as cursor:
            rows = await fetch_rows(cursor, budget)
        if budget.over:
            raise ResponseTooLarge(self.max_response_bytes)
        return rows

    async def fetch_columns(
        self, sql: str, params: Params, limit: int
    ) -> tuple[list[str], list[Row]]:
        """(column names, at most `limit` rows) of a named query (trusted SQL)."""
        async with self.pool.lease() as connection:
            return await self.pool.timed(
                connection,
                partial(self._columns_and_rows, connection, sql, params, limit),
                "trusted",
            )

    async def _columns_and_rows(
        self, connection: Connection, sql: str, params: Params, limit: int
    ) -> tuple[list[str], list[Row]]:
        budget = Budget(self.max_response_bytes, limit)
        async with executing(connection, sql, params) as cursor:
            rows = await fetch_rows(cursor, budget)
            names = [d[0] for d in cursor.description or ()]
        if budget.over:
            raise ResponseTooLarge(self.max_response_bytes)
        return names, rows

    async def run_client_sql(
        self, rules: ClientRules, sql: str, params: Mapping[str, object], limit: int
    ) -> tuple[list[str], list[Row]]:
        """A client's own SQL (see `clientsql`): what `rules` allow, or a 403 problem."""
        return await run_client_sql(self.pool, rules, sql, params, limit, self.max_response_bytes)

    def stream(
        self, sql: str, params: Sequence[object], batch: int = 1000
    ) -> AsyncGenerator[list[Row], None]:
        """Every row of a query, in batches, on a connection of its own (`streams`)."""
        return batches(self.pool, sql, params, batch)

    async def fetch_scan(self, sql: str, params: Sequence[object] = ()) -> list[Row]:
        """The rows of a query that scans (a count, a column's distinct values), cached
        until the database version changes; identical scans asked at once share one query."""
        return await self.scans.get((sql, *params), partial(self.fetch_all, sql, params))

    async def count(self, sql: str, params: Sequence[object]) -> int:
        rows = await self.fetch_scan(sql, params)
        return int(rows[0][0]) if rows else 0


async def batches(
    pool: Pool, sql: str, params: Sequence[object], batch: int = 1000
) -> AsyncGenerator[list[Row], None]:
    """Every row of a query, in batches, on a connection of its own; the time limit
    applies to each batch. Closing the generator (the client went away) interrupts SQLite
    and closes the connection. TEXT that is not UTF-8 makes it run again leniently and
    skip the rows already sent."""
    async with pool.own() as connection:
        sent, lenient = 0, False
        while True:
            try:
                cursor = await pool.timed(connection, partial(connection.conn.execute, sql, params))
                skip = sent  # a rerun (after a decoding error) resumes where it was
                while rows := await pool.timed(
                    connection, partial(fetch_rows, cursor, Budget(BATCH_BYTES, batch))
                ):
                    dropped = min(skip, len(rows))
                    rows, skip = rows[dropped:], skip - dropped
                    if rows:
                        sent += len(rows)
                        yield rows
                return
            except ProblemError as problem:
                if lenient or not is_undecodable(problem.__cause__ or problem):
                    raise
                lenient = True
                connection.conn.text_factory = _lenient_text
