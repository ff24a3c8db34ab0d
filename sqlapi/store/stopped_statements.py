"""Statements stopped mid-way stay cached (a workaround needed on Python 3.11 only).

Python 3.11's sqlite3 marks a cached statement in use while it runs and clears the mark
in `sqlite3_reset`, which, after a step that failed (the inline budget's or the time
limit's interrupt, SQLITE_BUSY, a client gone), returns that step's error: the mark
stays, the cache entry is never used again, and every later run of the same text is
compiled anew. For the embedding statement of a 50-row page that is 18 authorizer calls
and a tenth of a millisecond on every request, for good, once one run was stopped under
load. Python 3.12 asks SQLite whether the statement is busy instead (no such mark).

A text stopped while its rows were read is sent from then on after a comment that
numbers the stop (`-- 7` and a newline), which SQLite ignores: a new cache entry. (Before
the text, not after: SQLite names an unaliased last column of a SELECT without FROM by
its text up to the end of the statement.) Numbers are never reused, so a stuck entry is
never asked for again and leaves the cache (least recently used; 512 per connection
here): memory stays bounded however often a statement is stopped.
"""

from __future__ import annotations

import itertools
import sys
from collections import OrderedDict

from sqlapi.store.errors import is_undecodable

AFFECTED = sys.version_info < (3, 12)


class StoppedStatements:
    """For one connection (each has its own statement cache)."""

    # What is remembered stays small whatever a client sends: at most MOST texts (the
    # least recently sent forgotten first, so a text in use stays) of at most LONGEST
    # characters (a longer one compiles anew).
    MOST = 64
    LONGEST = 8192

    def __init__(self) -> None:
        self._stops: OrderedDict[str, str] = OrderedDict()
        self._numbers = itertools.count(1)

    def text(self, sql: str) -> str:
        """What to send for `sql`."""
        if not self._stops:
            return sql
        sent = self._stops.get(sql)
        if sent is None:
            return sql
        self._stops.move_to_end(sql)
        return sent

    def stopped(self, sql: str, error: BaseException) -> None:
        """`sql` raised `error` after its first step."""
        if not AFFECTED or len(sql) > self.LONGEST or is_undecodable(error):
            return  # (Python's decoding fails after a step that succeeded: nothing stuck)
        self._stops[sql] = f"-- {next(self._numbers)}\n{sql}"
        self._stops.move_to_end(sql)
        if len(self._stops) > self.MOST:
            self._stops.popitem(last=False)
