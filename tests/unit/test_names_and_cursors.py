from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sqlapi.model.cursors import Cursor, CursorError, decode_cursor, encode_cursor
from sqlapi.model.names import split_row_key, tilde_decode, tilde_encode

values = st.one_of(
    st.none(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.text(),
    st.binary(),
)


@given(st.lists(values, min_size=1, max_size=5), st.text(max_size=20))
def test_cursor_round_trips_every_sqlite_value_exactly(key: list[object], scope: str) -> None:
    token = encode_cursor(Cursor(key=tuple(key)), scope)  # type: ignore[arg-type]
    decoded = decode_cursor(token, scope, len(key))
    assert decoded.key == tuple(key)
    assert [type(v) for v in decoded.key] == [type(v) for v in key]


def test_cursor_is_refused_under_another_scope_or_length() -> None:
    token = encode_cursor(Cursor(key=(1, "a")), "books|-year")
    with pytest.raises(CursorError, match="different _sort"):
        decode_cursor(token, "books|year", 2)
    with pytest.raises(CursorError):
        decode_cursor(token, "books|-year", 3)


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", "WzEsMiwzXQ", "W10", "x" * 1000])
def test_garbage_cursors_raise_cursor_error(token: str) -> None:
    with pytest.raises(CursorError):
        decode_cursor(token, "t", 1)


def test_offset_cursor_round_trips() -> None:
    assert decode_cursor(encode_cursor(Cursor(offset=40), "v"), "v", 0) == Cursor(offset=40)


@given(st.text())
def test_tilde_encoding_round_trips_and_hides_commas(text: str) -> None:
    encoded = tilde_encode(text)
    assert "," not in encoded
    assert tilde_decode(encoded) == text


def test_compound_key_split() -> None:
    assert split_row_key("a~2Cb,1", 2) == ["a,b", "1"]
    assert split_row_key("a,b", 1) == ["a,b"]  # a single-column key is the value itself
    with pytest.raises(ValueError, match="2 parts"):
        split_row_key("a,b,c", 2)
    with pytest.raises(ValueError, match="hex"):
        split_row_key("a~zz,1", 2)
