"""The oracle the tests share: SQLite itself, read with Python's sqlite3 on the same file,
and the conversion of a stored value to what the API's JSON carries."""

from __future__ import annotations

import base64
import math
import re
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

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


class Refused(Exception):
    """sqlapi must answer this request with a 400."""


_TRUE, _FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off")


def typed(declared: str, value: str) -> object:
    """A query-string value as sqlapi must bind it for a column of this declared type
    (SQLite's affinity rules), or Refused where it must answer 400."""
    upper = declared.upper()
    if "INT" in upper:
        if not re.fullmatch(r"[+-]?[0-9]+", value.strip()) or len(value) > 30:
            raise Refused(value)
        number = int(value)
        if not -(2**63) <= number < 2**63:
            raise Refused(value)
        return number
    if any(t in upper for t in ("CHAR", "CLOB", "TEXT")):
        return value
    if any(t in upper for t in ("REAL", "FLOA", "DOUB")):
        try:
            real = float(value)  # sqlapi reads numbers as Python does
        except ValueError:
            raise Refused(value) from None
        if math.isnan(real):
            raise Refused(value)
        return real
    if is_boolean(declared):
        return int(truth(value))
    return value  # NUMERIC affinity converts a bound string itself


def truth(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise Refused(value)


_COMPARISONS = {"exact": "=", "not": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def value_test(
    operand: str, op: str, value: str, convert: Callable[[str], object]
) -> tuple[str, list[object]]:
    """A filter `op` with `value` on `operand`, written by hand as its contract reads (not
    as sqlapi writes it): patterns by `instr`/`substr` on lowered text, lists split at
    commas, each value converted by `convert` (which raises Refused for a 400)."""
    if op in ("isnull", "notnull"):
        null = truth(value) == (op == "isnull")
        return f"{operand} IS {'' if null else 'NOT '}NULL", []
    if op == "contains":
        return f"instr(lower({operand}), lower(?)) > 0", [value]
    if op == "startswith":
        return f"substr(lower({operand}), 1, length(?)) = lower(?)", [value, value]
    if op == "endswith":  # substr(x, -0) is all of x
        test = f"(length(?) = 0 OR substr(lower({operand}), -length(?)) = lower(?))"
        return f"({operand} IS NOT NULL AND {test})", [value, value, value]
    if op in ("like", "glob"):
        return f"{operand} {op.upper()} ?", [value]
    if op in ("in", "notin"):  # an empty value is the empty list: no row matches
        items = [convert(v) for v in (value.split(",") if value else [])]
        negate = "NOT " if op == "notin" else ""
        return f"{operand} {negate}IN ({', '.join('?' * len(items))})", items
    return f"{operand} {_COMPARISONS[op]} ?", [convert(value)]


def merged_in_lists(filters: Sequence[tuple[T, str, str]]) -> list[tuple[T, str, str]]:
    """(key, op, value) filters as sqlapi reads them: `col__in` given several times is one
    list (API.md: "`col__in=a,b,c` (or repeated)"); every other repeated filter is ANDed."""
    merged: list[tuple[T, str, str]] = []
    for key, op, value in filters:
        earlier = next((n for n, f in enumerate(merged) if f[:2] == (key, "in")), None)
        if op == "in" and earlier is not None:
            joined = ",".join(v for v in (merged[earlier][2], value) if v)
            merged[earlier] = (key, "in", joined)
        else:
            merged.append((key, op, value))
    return merged
