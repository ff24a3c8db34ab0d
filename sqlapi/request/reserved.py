"""The reserved (`_`) parameters, and which ones each endpoint takes: the one place they
are listed."""

from __future__ import annotations

RESERVED = (
    "_select", "_sort", "_limit", "_after", "_offset", "_count", "_search",
    "_shape", "_format", "_ints", "_or", "_expand", "_embed", "_embed_limit", "_json",
    "_table",
)  # fmt: skip


ROWS = frozenset(RESERVED) - {"_table"}


DATA = frozenset({"_table", "_sort", "_limit", "_after", "_offset", "_search", "_ints", "_or"})


VALUES = frozenset({"_limit", "_after", "_search", "_ints", "_or"})


ONE_ROW = frozenset({"_ints", "_expand", "_embed", "_embed_limit", "_json"})


EVENTS = frozenset({"_select", "_ints", "_or", "_json"})


NAMED_QUERY = frozenset({"_limit", "_after", "_shape", "_ints"})


SQL = frozenset({"_limit", "_shape", "_ints"})


MULTI_VALUED = frozenset({"_select", "_sort", "_or", "_expand", "_embed", "_json"})
FORMATS = ("json", "ndjson", "csv")  # `_format`
