"""Reading rows within a byte budget: what one response may hold in memory."""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.model.encoding import Values, encoded_size


class Budget:
    """Reading rows in chunks sized to stay within `max_bytes` (then `over` is set and
    reading stops). Each chunk is as many rows as the bytes left allow: at `largest_row`
    when a row's size is bounded in advance (a client's statement: its columns times
    SQLite's value limit), so that a request never holds more than twice `max_bytes`;
    otherwise (the file's own rows) at the average row so far, after a first chunk of
    one row, so that it holds `max_bytes` and at most one chunk of the file's rows more."""

    FIRST = 1
    MOST = 256

    def __init__(
        self, max_bytes: int, max_rows: int | None = None, largest_row: int | None = None
    ) -> None:
        self.max_bytes = max_bytes
        self.max_rows = max_rows
        self.largest_row = largest_row
        self.bytes = 0
        self.rows = 0
        self.over = False  # the bytes ran out before the rows

    def chunk(self) -> int:
        """How many rows to read next; 0 when done."""
        if self.over:
            return 0
        left = self.MOST if self.max_rows is None else self.max_rows - self.rows
        row = self.largest_row or (self.rows and max(self.bytes // self.rows, 1))
        if not row:
            return min(self.FIRST, left)
        return max(1, min(left, self.MOST, (self.max_bytes - self.bytes) // row))

    def take(self, rows: Sequence[Values]) -> bool:
        """Count rows read; False when there is no more to read (the end, or no room)."""
        if not rows:
            return False
        self.rows += len(rows)
        self.bytes += encoded_size(rows)
        self.over = self.bytes > self.max_bytes
        full = self.max_rows is not None and self.rows >= self.max_rows
        return not self.over and not full
