"""CSV records: the fast path for plain batches writes exactly what csv.writer writes."""

from __future__ import annotations

import base64
import csv
import io
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from sqlapi.model.encoding import csv_lines

SPECIAL = st.sampled_from(['"', ",", "\r", "\n", "\r\n", "", " ", "\x00", "é", "a"])
TEXT = st.lists(st.one_of(SPECIAL, st.text(max_size=8)), max_size=4).map("".join)
VALUE = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    TEXT,
    st.none(),
    st.booleans(),
    st.binary(max_size=4),
)
PLAIN = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1), st.floats(), st.text(max_size=12), TEXT
)  # what the joined fast path takes, and texts that make it step aside


def batches(value: st.SearchStrategy[object]) -> st.SearchStrategy[list[tuple[object, ...]]]:
    rows = st.integers(1, 4).map(lambda width: st.tuples(*[value] * width))
    return rows.flatmap(lambda row: st.lists(row, max_size=6))


def reference(rows: list[tuple[object, ...]]) -> bytes:
    """csv.writer on the values as sqlapi shows them in CSV (NULL empty, BLOB base64,
    booleans true/false): the slow path, record by record."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(shown_in_csv(row) for row in rows)
    return buffer.getvalue().encode("utf-8")


def shown_in_csv(row: tuple[object, ...]) -> list[object]:
    cells: list[object] = []
    for value in row:
        if isinstance(value, bytes):
            cells.append(base64.b64encode(value).decode("ascii"))
        elif isinstance(value, bool):
            cells.append("true" if value else "false")
        else:
            cells.append(value)
    return cells


@settings(deadline=None)
@given(st.one_of(batches(VALUE), batches(PLAIN)))
def test_every_batch_is_written_exactly_as_csv_writer_writes_it(
    rows: list[tuple[object, ...]],
) -> None:
    assert csv_lines(rows, None) == reference(rows)


def test_a_plain_batch_reads_back_as_its_values() -> None:
    rows = [(1, 2.5, "plain text", -(2**63), math.inf), (2, -0.0, "", 0, 1e-300)]
    text = csv_lines(rows, None).decode()  # the joined fast path: no field needs quoting
    assert text.encode() == reference(rows)
    assert list(csv.reader(io.StringIO(text))) == [[str(v) for v in row] for row in rows]
