"""SQLite values -> JSON: 64-bit integers exact, NaN/Inf as null, BLOBs as base64.

orjson already writes NaN and infinities as null and integers exactly; bytes go
through `_default`. Pure: imports neither quart nor aiosqlite.
"""

from __future__ import annotations

import base64
import csv
import io
import secrets
from collections.abc import Callable, Iterable, Sequence
from itertools import chain
from typing import Any

import orjson

from sqlapi.model.schema import Column

JS_SAFE_INTEGER = 2**53 - 1
# sqlite_json_value, as SQL on sqlapi's own connections: under a name of this process's own,
# which no file's schema can know to call (docs/security.md, "What a schema may call")
JSON_VALUE = f"sqlapi_json_value_{secrets.token_hex(6)}"
AS_BOOLEAN, INTS_AS_STRINGS = 1, 2  # its flags
Values = Sequence[Any]  # one row's values, as a tuple from SQLite or a list once converted
Convert = Callable[[Values], Values]


def _default(value: object) -> object:
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(document: object) -> bytes:
    return orjson.dumps(document, default=_default)


def encoded_size(rows: Sequence[Values]) -> int:
    """About the bytes `rows` take in memory and in a response: their JSON size, with each
    BLOB counted at its length. orjson measures 50 rows in a few microseconds."""
    blobs = 0

    def blob(value: object) -> None:
        nonlocal blobs
        if not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"cannot encode {type(value).__name__} as JSON")
        blobs += len(value)

    return len(orjson.dumps(rows, default=blob)) + blobs


def _int_as_string(value: object) -> object:
    if type(value) is int and not -JS_SAFE_INTEGER <= value <= JS_SAFE_INTEGER:
        return str(value)
    return value


def _as_boolean(value: object) -> object:
    return bool(value) if type(value) is int and value in (0, 1) else value


def _as_json(value: object) -> object:
    """A column's text as the JSON value it holds; anything else as it is."""
    if isinstance(value, str):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return value
    return value


def sqlite_json_value(value: object, flags: int) -> str:
    """One value as JSON text, converted as `value_converter` converts it: what SQLite's
    own JSON cannot write exactly (a REAL, a BLOB) or does not know to convert (a boolean
    column, `_ints=string`). Called by SQLite (query.json_rows)."""
    if flags & AS_BOOLEAN:
        value = _as_boolean(value)
    if flags & INTS_AS_STRINGS:
        value = _int_as_string(value)
    return orjson.dumps(value, default=_default).decode("utf-8")


def json_text(text: str) -> orjson.Fragment:
    """JSON text SQLite wrote, spliced into a response as it is."""
    return orjson.Fragment(text)


def value_converter(
    columns: Sequence[Column], ints_as_strings: bool, json: Sequence[Column] = ()
) -> Convert | None:
    """A per-row conversion for boolean columns, `_ints=string` and `_json` columns, or None
    when rows pass as is."""
    booleans = [i for i, c in enumerate(columns) if c.json_type == "boolean"]
    parsed = [i for i, c in enumerate(columns) if c in json]
    if not booleans and not ints_as_strings and not parsed:
        return None

    def convert(row: Values) -> Values:
        values = list(row)
        for i in booleans:
            values[i] = _as_boolean(values[i])
        if ints_as_strings:
            values = [_int_as_string(v) for v in values]
        for i in parsed:
            values[i] = _as_json(values[i])
        return values

    return convert


def unique_names(names: Sequence[str]) -> list[str]:
    """Result column names made unique as SQLite names a subquery's: a repeated `id` becomes
    `id:1`, `id:2`... so that no value is lost when rows become objects."""
    taken = set(names)  # a suffixed name never takes a name the result has itself
    seen: set[str] = set()
    unique = []
    for name in names:
        candidate, n = name, 0
        while candidate in seen or (n and candidate in taken):
            n += 1
            candidate = f"{name}:{n}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


def shape_rows(
    names: Sequence[str], rows: Iterable[Values], shape: str, convert: Convert | None
) -> list[Any]:
    """Rows as objects (default) or as arrays, already trimmed to the requested columns
    (so each row has exactly one value per name)."""
    if convert is not None:
        rows = map(convert, rows)
    if shape == "arrays":
        return [list(r) for r in rows]
    return [dict(zip(names, r)) for r in rows]  # noqa: B905 (trimmed: same length)


def ndjson_lines(
    names: Sequence[str] | None, rows: Iterable[Values], convert: Convert | None
) -> bytes:
    """Rows as newline-delimited JSON: objects, or arrays when `names` is None."""
    if convert is not None:
        rows = map(convert, rows)
    dump, option = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    if names is None:
        return b"".join(dump(list(r), default=_default, option=option) for r in rows)
    return b"".join(
        dump(dict(zip(names, r)), default=_default, option=option)  # noqa: B905 (trimmed)
        for r in rows
    )


def ndjson_values(values: Iterable[object]) -> bytes:
    """Values already shaped (rows with their related members) as newline-delimited JSON."""
    option = orjson.OPT_APPEND_NEWLINE
    return b"".join(orjson.dumps(value, default=_default, option=option) for value in values)


def _csv_cell(value: object) -> object:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, bool):
        return "true" if value else "false"
    return value  # None is written as an empty field; ±Inf as inf/-inf


def _plain_csv(rows: Sequence[Values]) -> bytes | None:
    """The records by plain joins when no field needs quoting or converting (no NULL, no
    BLOB or boolean, no text with a quote, comma or line break, two fields or more): what
    csv.writer writes, for about two thirds of its cost (it examines every character of
    every text in a loop; `in` searches a whole batch's texts at once). None otherwise."""
    if not rows or len(rows[0]) < 2:
        return None  # csv.writer quotes a lone empty field
    values = list(chain.from_iterable(rows))
    if not set(map(type, values)) <= _PLAIN:
        return None
    texts = "".join([v for v in values if type(v) is str])
    if '"' in texts or "," in texts or "\n" in texts or "\r" in texts:
        return None
    return ("\r\n".join([",".join(map(str, row)) for row in rows]) + "\r\n").encode("utf-8")


_PLAIN = frozenset({int, float, str})


def csv_lines(
    rows: Iterable[Values],
    convert: Convert | None,
    columns: Sequence[Column] | None = None,
) -> bytes:
    """Rows as RFC 4180 CSV records (CRLF line ends, quoted where needed). Only columns
    that can hold BLOBs or booleans pass through a per-value conversion."""
    batch = list(map(convert, rows) if convert is not None else rows)
    plain = _plain_csv(batch)
    if plain is not None:
        return plain
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if columns is not None and not any(c.json_type in ("blob", "any", "boolean") for c in columns):
        writer.writerows(batch)
    else:
        writer.writerows([_csv_cell(v) for v in r] for r in batch)
    return buffer.getvalue().encode("utf-8")
