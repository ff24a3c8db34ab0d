"""Statements stopped mid-way stay cached (a workaround needed on Python 3.11 only).

Python 3.11's sqlite3 marks a cached statement in use while it runs and clears the mark
in `sqlite3_reset`, which, after a step that failed (the inline budget's or the time
limit's interrupt, SQLITE_BUSY, a client gone), returns that step's error: the mark
stays, the cache entry is never used again, and every later run of the same text is
compiled anew. For the embedding statement of a 50-row page that is 18 authorizer calls
and a tenth of a millisecond on every request, for good, once one run was stopped under
load. Python 3.12 asks SQLite whether the statement is busy instead (no such mark).

A text stopped while its rows were read is sent from then on with one more trailing
space, which SQLite ignores: a new cache entry. The old one leaves the cache in its
turn (least recently used).
"""

from __future__ import annotations

import sys

AFFECTED = sys.version_info < (3, 12)


class StoppedStatements:
    """For one connection (each has its own statement cache)."""

    MOST = 1024  # texts remembered (a client's SQL can be anything): then forgotten
    SPACES = 64  # then from one space again (that entry has most likely left the cache)

    def __init__(self) -> None:
        self._spaces: dict[str, int] = {}

    def text(self, sql: str) -> str:
        """What to send for `sql`."""
        spaces = self._spaces.get(sql) if self._spaces else None
        return sql if spaces is None else sql + " " * spaces

    def stopped(self, sql: str) -> None:
        """`sql` failed or was stopped after its first step."""
        if not AFFECTED:
            return
        if len(self._spaces) >= self.MOST and sql not in self._spaces:
            self._spaces.clear()
        self._spaces[sql] = self._spaces.get(sql, 0) % self.SPACES + 1
