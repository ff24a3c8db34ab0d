"""SQL that has SQLite write rows as JSON text, value for value what `encoding` writes for
the same rows: an embedded list of child rows travels as one string per parent, spliced
into the response as it is, instead of as hundreds of Python objects made and encoded.

SQLite's own JSON writes integers, text and NULL as orjson does (text may be escaped in
another form, never with another meaning). It writes a REAL with 15 significant digits,
refuses a BLOB, and knows nothing of boolean columns or `_ints=string`: those values are
handed to `encoding.sqlite_json_value`, registered on sqlapi's connections under
JSON_VALUE, which converts them as the rows endpoint does (never text, whose bytes may not
be UTF-8). A generated column's text could carry SQLite's JSON subtype (a virtual column
computed by `json_object` would come out nested, not quoted), so it is copied first.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.model.encoding import AS_BOOLEAN, INTS_AS_STRINGS, JS_SAFE_INTEGER, JSON_VALUE
from sqlapi.model.schema import Column
from sqlapi.sql.clauses import Query, quote

# json_object takes two arguments per member; SQLite's default cap on a function's
# arguments is 127, so wider rows are written in parts and joined.
MEMBERS_PER_CALL = 63


def selected(alias: str, columns: Sequence[Column]) -> str:
    """The select list `row_object` reads: each column under a short name of its own (a
    wide table's statement stays short; names are bound as parameters)."""
    return ", ".join(f"{alias}.{quote(c.name)} AS v{i}" for i, c in enumerate(columns))


def _value(value: str, column: Column, ints_as_strings: bool) -> str:
    """The column's value for json_object: as it is when SQLite writes it as orjson would
    (an integer, text, NULL), else the JSON text `encoding` makes of it (marked as JSON by
    `json()`). Every column but the rowid is tested, whatever its declared type or key:
    SQLite stores a REAL in an `INTEGER PRIMARY KEY DESC` and a BLOB anywhere."""
    flags = (AS_BOOLEAN if column.json_type == "boolean" else 0) | (
        INTS_AS_STRINGS if ints_as_strings else 0
    )
    # a rowid is an integer (introspect tells the rowid from an INTEGER PRIMARY KEY DESC)
    odd = [] if column.is_rowid else [f"typeof({value}) IN ('real', 'blob')"]
    if flags & AS_BOOLEAN:
        odd.append(f"(typeof({value}) = 'integer' AND {value} IN (0, 1))")
    if flags & INTS_AS_STRINGS:
        odd.append(
            f"(typeof({value}) = 'integer' "
            f"AND {value} NOT BETWEEN -{JS_SAFE_INTEGER} AND {JS_SAFE_INTEGER})"
        )
    if not odd:
        return value
    # a generated column's text could carry a JSON subtype: `|| ''` makes plain text
    as_is = f"CASE WHEN typeof({value}) = 'text' THEN {value} || '' ELSE {value} END"
    return (
        f"CASE WHEN {' OR '.join(odd)} THEN json({JSON_VALUE}({value}, {flags})) "
        f"ELSE {as_is if column.generated else value} END"
    )


def row_object(alias: str, columns: Sequence[Column], ints_as_strings: bool) -> Query:
    """An expression: the row of `alias` (read through `selected`) as one JSON object,
    the column names as its keys, in order."""
    members = [f"?, {_value(f'{alias}.v{i}', c, ints_as_strings)}" for i, c in enumerate(columns)]
    parts = [
        f"json_object({', '.join(members[i : i + MEMBERS_PER_CALL])})"
        for i in range(0, len(members), MEMBERS_PER_CALL)
    ]
    names = tuple(c.name for c in columns)
    if len(parts) == 1:
        return Query(parts[0], names)
    # Every value is a scalar, so each part ends in exactly one `}` and begins with one
    # `{`: trimming them joins the parts into one object, which json() marks as JSON.
    inner = [f"rtrim({parts[0]}, '}}')"]
    inner += [f"ltrim(rtrim({p}, '}}'), '{{')" for p in parts[1:-1]]
    inner.append(f"ltrim({parts[-1]}, '{{')")
    joined = " || ',' || ".join(inner)
    return Query(f"json({joined})", names)
