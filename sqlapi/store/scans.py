"""Queries that scan (exact counts, a column's distinct values, aggregates): their results
kept until the database changes, and identical ones asked at once run once.

Such a query costs time in proportion to the table (a GROUP BY over a million rows takes
tens of milliseconds) and a UI asks it again on every page view; its answer changes only
when the file does. Page and key queries are index seeks, cheaper to run than to keep.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlapi.model.values import Row

MAX_ENTRIES = 1024
MAX_BYTES = 32 * 1024 * 1024  # about; an entry larger than a tenth of this is not kept


def _size(rows: Sequence[Row]) -> int:
    return sum(64 + sum(len(v) if isinstance(v, str | bytes) else 8 for v in row) for row in rows)


class ResultCache:
    """Least recently used first out, bounded in entries and (approximate) bytes; emptied
    whenever the database version changes, so it never answers for another version."""

    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.bytes = 0
        self._entries: OrderedDict[tuple[object, ...], tuple[list[Row], int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: tuple[object, ...]) -> list[Row] | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: tuple[object, ...], rows: list[Row]) -> None:
        size = _size(rows)
        if size > self.max_bytes // 10 or key in self._entries:
            return
        self._entries[key] = (rows, size)
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped

    def clear(self) -> None:
        self._entries.clear()
        self.bytes = 0


@dataclass
class _Flight:
    """One scan being run for every request that asked for it meanwhile."""

    epoch: int
    task: asyncio.Future[list[Row]]
    waiters: int = 0


def _consume(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class Scans:
    """Scan results for the current database version (`changed()` forgets them all), and
    one query in flight per distinct scan. A scan nobody waits for any more is cancelled
    (its step is interrupted)."""

    def __init__(self, cache: ResultCache | None = None) -> None:
        self.cache = cache or ResultCache()
        self.epoch = 0  # bumped by every change: no answer is kept across one
        self._flights: dict[tuple[object, ...], _Flight] = {}

    def changed(self) -> None:
        self.epoch += 1
        self.cache.clear()

    async def get(
        self, key: tuple[object, ...], run: Callable[[], Awaitable[list[Row]]]
    ) -> list[Row]:
        epoch = self.epoch
        rows = self.cache.get(key)
        if rows is not None:
            return rows
        flight = self._flights.get(key)
        if flight is None or flight.epoch != epoch:
            flight = self._flights[key] = _Flight(epoch, asyncio.ensure_future(run()))
        flight.waiters += 1
        try:
            rows = await asyncio.shield(flight.task)
        finally:
            flight.waiters -= 1
            if not flight.waiters:
                if not flight.task.done():
                    flight.task.cancel()  # nobody waits: the pool interrupts SQLite
                flight.task.add_done_callback(_consume)
                if self._flights.get(key) is flight:
                    del self._flights[key]
        if epoch == self.epoch:  # not answered across a change
            self.cache.put(key, rows)
        return rows
