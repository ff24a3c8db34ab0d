"""Reading query-string arguments: repeated keys grouped, one value where one is meant,
a choice among fixed words, booleans, integers and numbers. Every mistake is a 400."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

from sqlapi.model.errors import bad_request
from sqlapi.model.values import INT64_RANGE, Value
from sqlapi.request.reserved import MULTI_VALUED

_INTEGER = re.compile(r"[+-]?[0-9]+")


_TRUE = frozenset({"true", "1", "yes", "on"})


_FALSE = frozenset({"false", "0", "no", "off"})


def parse_bool(value: str, parameter: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_request(f"{parameter} must be true or false, not {value!r}")


def parse_int(
    value: str, parameter: str, low: int = INT64_RANGE[0], high: int = INT64_RANGE[1]
) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise bad_request(f"{parameter} must be an integer, not {value[:100]!r}")
    number = int(value) if len(value) < 40 else INT64_RANGE[1] + 1  # no 5,000-digit conversions
    if not low <= number <= high:
        raise bad_request(
            f"{parameter} must be between {low} and {high}", minimum=low, maximum=high
        )
    return number


def parse_query_value(kind: str, value: str, parameter: str) -> Value:
    """A named query's declared parameter type: integer, number or string."""
    if kind == "integer":
        return parse_int(value, parameter)
    if kind == "number":
        return parse_number(value, parameter)
    return value


def parse_number(value: str, parameter: str) -> float:
    """A float; ±inf are allowed (SQLite stores them), NaN is not, nor Python's own
    spellings ("1_0")."""
    try:
        number = float(value) if "_" not in value else math.nan
    except ValueError:
        number = math.nan
    if math.isnan(number):
        raise bad_request(f"{parameter} must be a number, not {value[:100]!r}")
    return number


def split_list(value: str) -> list[str]:
    return value.split(",") if value else []


def group(pairs: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for key, value in pairs:
        grouped.setdefault(key, []).append(value)
    return grouped


def single(args: dict[str, list[str]], name: str) -> str | None:
    values = args.get(name)
    if not values:
        return None
    if len(values) > 1 and name not in MULTI_VALUED:
        raise bad_request(f"{name} is given {len(values)} times; give it once")
    return values[0]


def choice(args: dict[str, list[str]], name: str, choices: tuple[str, ...]) -> str | None:
    value = single(args, name)
    if value is not None and value not in choices:
        raise bad_request(f"{name} must be one of {', '.join(choices)}", allowed=list(choices))
    return value
