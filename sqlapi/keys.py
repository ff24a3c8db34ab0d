"""Pure codecs for what travels in URLs: opaque page cursors and compound row keys; and
the two types every layer shares: one SQLite value, one row of them."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import re
import urllib.parse
from dataclasses import dataclass
from typing import Any

import orjson

Value = None | int | float | str | bytes
Row = tuple[Any, ...]  # as SQLite returns it
INT64_RANGE = (-(2**63), 2**63 - 1)
MAX_OFFSET = 2**62  # an offset plus any page size stays a 64-bit integer
MAX_CURSOR = 65_536  # characters of a cursor; keys hold sort values, not whole rows
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


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after `key` (keyset) or at `offset` rows (views)."""

    key: tuple[Value, ...] | None = None
    offset: int | None = None


class CursorError(ValueError):
    pass


def _tag(value: Value) -> object:
    if isinstance(value, float):
        return {"f": repr(value)}
    if isinstance(value, bytes):
        return {"b": base64.b64encode(value).decode("ascii")}
    return value


def _untag(item: object) -> Value:
    if item is None or isinstance(item, str):
        return item
    if isinstance(item, int) and not isinstance(item, bool):
        if not INT64_RANGE[0] <= item <= INT64_RANGE[1]:
            raise CursorError("malformed cursor value")
        return item
    if isinstance(item, dict) and len(item) == 1:
        ((tag, payload),) = item.items()
        if tag == "f" and isinstance(payload, str):
            number = float(payload)
            if not math.isnan(number):
                return number
        if tag == "b" and isinstance(payload, str):
            return base64.b64decode(payload, validate=True)
    raise CursorError("malformed cursor value")


@functools.lru_cache(maxsize=1024)
def _fingerprint(scope: str) -> str:
    return hashlib.blake2s(scope.encode(), digest_size=6).hexdigest()


def encode_cursor(cursor: Cursor, scope: str) -> str:
    """An opaque token; `scope` ties it to the ordering it was made for."""
    if cursor.key is not None:
        body: list[object] = [_fingerprint(scope), "k", [_tag(v) for v in cursor.key]]
    else:
        body = [_fingerprint(scope), "o", cursor.offset]
    raw = orjson.dumps(body)  # what json.dumps(separators=(",", ":")) writes, faster
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(token: str, scope: str, key_length: int) -> Cursor:
    """Inverse of encode_cursor; raises CursorError for anything it did not make."""
    if len(token) > MAX_CURSOR:
        raise CursorError("not a cursor from this API")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        body = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError) as error:
        raise CursorError("not a cursor from this API") from error
    if not (isinstance(body, list) and len(body) == 3 and isinstance(body[0], str)):
        raise CursorError("not a cursor from this API")
    if body[0] != _fingerprint(scope):
        raise CursorError("this cursor belongs to a different _sort or table")
    kind, payload = body[1], body[2]
    if kind == "k" and isinstance(payload, list) and len(payload) == key_length:
        try:
            return Cursor(key=tuple(_untag(item) for item in payload))
        except (binascii.Error, ValueError) as error:
            raise CursorError("malformed cursor value") from error
    if kind == "o" and type(payload) is int and 0 <= payload <= MAX_OFFSET:
        return Cursor(offset=payload)
    raise CursorError("not a cursor from this API")


_TILDE = re.compile(r"~([0-9A-Fa-f]{2})")
_NEEDS_TILDE = re.compile(r"[,~/%]")


def tilde_encode(text: str) -> str:
    """Encode `,` and `~` (and `/`, `%`, which trip URL handling) as ~XX."""
    return _NEEDS_TILDE.sub(lambda m: f"~{ord(m.group()):02X}", text)


def tilde_decode(text: str) -> str:
    if "~" in _TILDE.sub("", text):
        raise ValueError(f"{text!r} has a '~' that is not followed by two hex digits")
    raw = bytearray()
    position = 0
    for match in _TILDE.finditer(text):
        raw += text[position : match.start()].encode()
        raw.append(int(match.group(1), 16))
        position = match.end()
    raw += text[position:].encode()
    return raw.decode("utf-8")


def path_segment(name: str) -> str:
    """A table or column name as one URL path segment: "/" cannot travel even
    percent-encoded, so such names are tilde-encoded first."""
    return urllib.parse.quote(tilde_encode(name) if "/" in name else name, safe="")


def split_row_key(segment: str, parts: int) -> list[str]:
    if parts == 1:
        return [segment]
    pieces = segment.split(",")
    if len(pieces) != parts:
        raise ValueError(f"this table's key has {parts} parts joined by ',', got {len(pieces)}")
    return [tilde_decode(p) for p in pieces]
