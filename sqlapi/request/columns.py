"""Columns as a request names them, and values as the column's type: every name is
looked up in the introspected table (an unknown one is a 400 listing the allowed names),
every value converted so that it compares as stored values do."""

from __future__ import annotations

import base64
import binascii
import contextlib

from sqlapi.model.errors import ProblemError, bad_request
from sqlapi.model.names import tilde_decode
from sqlapi.model.schema import Column, Table
from sqlapi.model.values import Value, loose_value
from sqlapi.request.arguments import parse_bool, parse_int, parse_number


def _allowed(table: Table) -> list[str]:
    return table.column_names


def find_column(table: Table, name: str, parameter: str) -> Column:
    column = table.column(name)
    if column is None and "~" in name:  # a name with "/" in a path segment: a~2Fb
        with contextlib.suppress(ValueError):
            column = table.column(tilde_decode(name))
    if column is None:
        raise ProblemError(
            400,
            f"{parameter}: {table.kind} {table.name!r} has no column {name!r}",
            problem_type="unknown-column",
            allowed=_allowed(table),
        )
    return column


def convert(column: Column, value: str, parameter: str) -> Value:
    """A query-string value as the column's type, so that it compares as stored values do."""
    if column.json_type == "boolean":
        return int(parse_bool(value, parameter))
    affinity = column.affinity
    if affinity == "INTEGER":
        return parse_int(value, parameter)
    if affinity == "REAL":
        return parse_number(value, parameter)
    if column.json_type == "blob":
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as error:
            raise bad_request(f"{parameter} must be base64, as BLOBs are shown") from error
    if column.json_type == "any":  # no declared type: no affinity to convert a string for us
        return loose_value(value)
    return value  # TEXT and NUMERIC affinity convert a bound string themselves
