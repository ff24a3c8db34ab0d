"""The two types every stage shares, one SQLite value and one row of them, and what SQLite
makes of text: as a number where a column has no type (`loose_value`), as NUMERIC
affinity converts it (`numeric_affinity`)."""

from __future__ import annotations

import math
import re
from typing import Any

Value = None | int | float | str | bytes
Row = tuple[Any, ...]  # as SQLite returns it
INT64_RANGE = (-(2**63), 2**63 - 1)
MAX_OFFSET = 2**62  # an offset plus any page size stays a 64-bit integer
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_WHOLE = re.compile(r"[+-]?[0-9]+")


def loose_value(text: str) -> Value:
    """Text compared with values of no declared type (a column without one, a value in
    JSON): the integer or finite number it spells in SQL's notation, else the text
    itself ("1_0", " 7", "nan" and "0x10" stay text)."""
    whole = _WHOLE.fullmatch(text) and len(text) < 40  # no 5,000-digit conversions
    if whole and INT64_RANGE[0] <= int(text) <= INT64_RANGE[1]:
        return int(text)
    if _DECIMAL.fullmatch(text):
        number = float(text)
        if math.isfinite(number):
            return number
    return text


_SPACE = " \t\n\v\f\r"  # what SQLite skips around a number
_NUMERIC = re.compile(rf"[{_SPACE}]*({_DECIMAL.pattern})[{_SPACE}]*")


def numeric_affinity(text: str) -> Value:
    """What SQLite's NUMERIC affinity makes of text (as a column with INTEGER, REAL or
    NUMERIC affinity compares or stores it): a well-formed number, spaces around it
    allowed, is an INTEGER when it is a 64-bit integer or an integral REAL within that
    range, else a REAL; anything else stays the text itself."""
    match = _NUMERIC.fullmatch(text)
    if match is None:
        return text
    spelled = match.group(1)
    if _WHOLE.fullmatch(spelled) and len(spelled) < 40:
        whole = int(spelled)
        if INT64_RANGE[0] <= whole <= INT64_RANGE[1]:
            return whole
    number = float(spelled)
    if number.is_integer() and INT64_RANGE[0] < number < INT64_RANGE[1]:
        return int(number)
    return number
