"""Opaque page cursors: where the next page starts, bound to the ordering it was made
for, and nothing a client can forge into another ordering's."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
from dataclasses import dataclass

import orjson

from sqlapi.model.values import INT64_RANGE, MAX_OFFSET, Value

MAX_CURSOR = 65_536  # characters of a cursor; keys hold sort values, not whole rows


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
