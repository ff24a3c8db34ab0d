"""What SQLite makes of text, as sqlapi computes it without asking SQLite: NUMERIC
affinity (row policies compare claims by it; an embedding's next_url judges by it),
checked against SQLite itself storing the same text in a NUMERIC column."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqlapi.model.values import loose_value, numeric_affinity

PIECES = ["0", "1", "9", "00", ".", "e", "E", "-", "+", " ", "\t", "x", "5", "1e3",
          "2251799813685248", "9223372036854775807", "9223372036854775808", "1e19"]  # fmt: skip


@pytest.fixture(scope="module")
def numeric() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (v NUMERIC)")
    yield conn
    conn.close()


def stored(conn: sqlite3.Connection, text: str) -> object:
    conn.execute("DELETE FROM t")
    conn.execute("INSERT INTO t VALUES (?)", (text,))
    return conn.execute("SELECT v FROM t").fetchone()[0]


@given(st.lists(st.sampled_from(PIECES), max_size=5).map("".join))
def test_numeric_affinity_is_what_sqlite_stores_in_a_numeric_column(
    numeric: sqlite3.Connection, text: str
) -> None:
    expected, mine = stored(numeric, text), numeric_affinity(text)
    assert type(mine) is type(expected), (text, expected, mine)
    if isinstance(expected, float) and isinstance(mine, float):
        assert math.isclose(mine, expected, rel_tol=1e-15), text  # SQLite 3.40 rounds its own way
    else:
        assert mine == expected, text


@pytest.mark.parametrize(
    ("text", "value"),
    [(" 1001", 1001), ("+1001", 1001), ("01001", 1001), ("1001.0", 1001), ("1.001e3", 1001),
     ("abc", "abc"), ("0x10", "0x10"), ("1e20", 1e20), ("-0.0", 0)],
)  # fmt: skip
def test_numeric_affinity_of_the_spellings_of_one_number(text: str, value: object) -> None:
    assert numeric_affinity(text) == value and type(numeric_affinity(text)) is type(value)


@pytest.mark.parametrize(
    ("text", "value"), [("7", 7), ("7.5", 7.5), (" 7", " 7"), ("1_0", "1_0"), ("nan", "nan")]
)
def test_a_value_of_no_declared_type_is_a_number_only_as_sql_writes_one(
    text: str, value: object
) -> None:
    assert loose_value(text) == value
