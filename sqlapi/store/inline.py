"""Queries cheap by construction, run on the event loop itself (no thread handoff).

On the pool each row fetched by aiosqlite's thread hands the GIL to and from the event
loop, and for a 50-row page those handoffs cost more than SQLite's work. A page or one
row of a real table reads by index or stops after `limit + 1` rows, so it is first run
here, on a read-only connection of the loop's own, under a progress handler that stops
it once it has run INLINE_BUDGET_S. Stopped, or refused by SQLite for any reason (busy,
text that is not UTF-8, a schema that moved), it returns None and the caller runs it on
the pool, where the time limit, busy retries and the schema-change replay apply.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from sqlapi.model.errors import ResponseTooLarge
from sqlapi.model.values import Row
from sqlapi.store.budget import Budget
from sqlapi.store.pool import STATEMENT_ERRORS, opening
from sqlapi.store.readonly import Authorizer, Limits, connect_readonly
from sqlapi.store.stopped_statements import StoppedStatements

# A query given way to the pool past this long; the clock is read every
# INLINE_CHECK_EVERY SQLite instructions (a 50-row page takes about 500).
INLINE_BUDGET_S = 0.002
INLINE_CHECK_EVERY = 1000


class InlineRunner:
    """The event loop's own connection; used only on the loop's thread, between awaits."""

    def __init__(
        self, path: Path, immutable: bool, limits: Limits, time_limit_ms: int, max_bytes: int
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.immutable = immutable
        self.limits = limits
        self.time_limit_ms = time_limit_ms
        self.observe: Callable[[float], None] | None = None
        self._conn: sqlite3.Connection | None = None
        self.stopped = StoppedStatements()
        self._deadline = 0.0

    def renew(self, authorizer: Authorizer) -> None:
        """Reconnect to the file now at `path`, under these rules."""
        with opening(self.time_limit_ms):
            conn = connect_readonly(self.path, self.immutable, 0, authorizer, self.limits)
        conn.set_progress_handler(self._over_budget, INLINE_CHECK_EVERY)
        self.close()  # not in use now: queries run here between awaits
        self._conn = conn
        self.stopped = StoppedStatements()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def run(self, sql: str, params: Sequence[object]) -> list[Row] | None:
        """The rows, or None when the query could not finish within the budget or SQLite
        refused it: the pool decides then."""
        conn = self._conn
        if conn is None:
            return None
        started = time.perf_counter()
        self._deadline = started + INLINE_BUDGET_S
        budget = Budget(self.max_bytes)
        rows: list[Row] = []
        try:
            cursor = conn.execute(self.stopped.text(sql), params)
        except STATEMENT_ERRORS:
            return None
        try:
            while size := budget.chunk():
                chunk = cast("list[Row]", cursor.fetchmany(size))
                rows += chunk
                if not budget.take(chunk):
                    break
        except STATEMENT_ERRORS as error:
            self.stopped.stopped(sql, error)
            return None
        finally:
            cursor.close()  # a statement left open would keep its snapshot
        if budget.over:
            raise ResponseTooLarge(self.max_bytes)
        if self.observe is not None:
            self.observe(time.perf_counter() - started)
        return rows

    def _over_budget(self) -> int:
        """SQLite's progress handler: non-zero stops the query."""
        return int(time.perf_counter() > self._deadline)
