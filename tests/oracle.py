"""The oracle the tests share: SQLite itself, read with Python's sqlite3 on the same file,
and the conversion of a stored value to what the API's JSON carries."""

from __future__ import annotations

import base64
import math
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_NOT_BOOLEAN = ("INT", "CHAR", "CLOB", "TEXT", "BLOB", "REAL", "FLOA", "DOUB")


def is_boolean(declared: str) -> bool:
    """A column whose 0 and 1 the API sends as false and true (`BOOLEAN`, `BOOL`)."""
    upper = declared.upper()
    return "BOOL" in upper and not any(o in upper for o in _NOT_BOOLEAN)


def shown(value: object, declared: str = "") -> object:
    """A stored value as the API's JSON carries it: BLOBs in base64, NaN and infinities as
    null, a boolean column's 0 and 1 as false and true."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if is_boolean(declared) and type(value) is int and value in (0, 1):
        return bool(value)
    return value


def connect(path: Path) -> sqlite3.Connection:
    """A read-only connection, as another program than sqlapi reads the file."""
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def rows_of(
    path: Path, name: str, columns: Sequence[str], declared: Sequence[str]
) -> list[list[Any]]:
    """Every row of a table or view, those columns, as the API shows them."""
    conn = connect(path)
    try:
        select = ", ".join(quoted(c) for c in columns)
        found = conn.execute(f"SELECT {select} FROM {quoted(name)}").fetchall()
    finally:
        conn.close()
    return [[shown(v, t) for v, t in zip(row, declared, strict=True)] for row in found]


def canonical(rows: Sequence[Sequence[Any]]) -> list[str]:
    """Rows as comparable text, in one order: a multiset (views have no order)."""
    return sorted(repr(list(row)) for row in rows)
