"""The order of a request's rows: total, so that pages are stable and cursors exact; and
what a cursor is bound to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.model.schema import Column, Table
from sqlapi.request.types import SortKey


def key_order(table: Table) -> tuple[Column, ...]:
    """The columns that order a table's rows totally when no `_sort` is given: its key,
    then its tie breaker (the rowid, where the key may be NULL); none without a key."""
    if not table.key_columns or table.tie_breaker is None:
        return table.key_columns
    return (*table.key_columns, table.tie_breaker)


def row_identity(table: Table) -> tuple[Column, ...]:
    """What a page's rows are told apart by when their relations are fetched: the key, or
    the tie breaker (the rowid) where the key may be NULL: rows whose keys are NULL tie,
    and `key IN (...)` never matches NULL."""
    return (table.tie_breaker,) if table.tie_breaker is not None else table.key_columns


def ordering(table: Table, sort: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """The full ORDER BY: the requested sort, then the key (or, for keyless views that
    are sorted, every other column) so that the order is total and pages are stable."""
    named = {c.column.name for c in sort}
    # no rowid after a `_sort`: one more ORDER BY term can turn SQLite from an index scan
    # to a sort of the whole table. A table whose key is hidden is ordered by what it
    # shows, so that its rows' order tells nothing of the hidden key: rows that tie show
    # the same values (and a table whose rowid every alias shadows, by its columns too).
    keyless_table = table.kind == "table" and not table.key_columns
    tie_breakers = (
        (table.key_columns or table.columns) if sort or keyless_table else key_order(table)
    )
    return (*sort, *(SortKey(c) for c in tie_breakers if c.name not in named))


def cursor_scope(table: Table, sort: Sequence[SortKey]) -> str:
    """What a cursor is bound to: a cursor made under another ordering is refused."""
    return "\x1f".join([table.name, *(("-" if k.descending else "") + k.column.name for k in sort)])
