"""Results of queries that scan (exact counts, a column's distinct values), kept until the
database changes. Pure: no I/O.

Such a query costs time in proportion to the table (a GROUP BY over a million rows takes
tens of milliseconds) and a UI asks it again on every page view; its answer changes only
when the file does. Page and key queries are index seeks, cheaper to run than to keep.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

Row = tuple[Any, ...]
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
