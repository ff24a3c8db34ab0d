"""Statements of the rows endpoints: a page, a count, one row by key, a column's
distinct values; and cutting a fetched page into its rows and the next cursor."""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.model.cursors import Cursor
from sqlapi.model.schema import Column, Table
from sqlapi.model.values import Value
from sqlapi.request.operators import OPERATORS
from sqlapi.request.ordering import ordering, row_identity
from sqlapi.request.types import RowsRequest, Scope, SortKey
from sqlapi.sql.clauses import Query, RowsQuery, Where, after_clause, quote, search_clause
from sqlapi.sql.conditions import condition_sql, filters_in, scoped


def where_of(request: RowsRequest) -> Where:
    """The rows' filters and search, as a WHERE clause."""
    where = Where()
    for condition in request.filters:
        where.add(*condition_sql(condition, request.scope))
    if request.search is not None:
        search_clause(where, request.table, request.search, request.scope)
    return where


def _order_by(order: Sequence[SortKey]) -> str:
    if not order:
        return ""
    return " ORDER BY " + ", ".join(
        quote(k.column.name) + (" DESC" if k.descending else "") for k in order
    )


def _limit(fetch: int | None, offset: int) -> tuple[str, tuple[Value, ...]]:
    if fetch is None and not offset:
        return "", ()
    return " LIMIT ? OFFSET ?", (-1 if fetch is None else fetch, offset)


def _real_table(table: Table) -> bool:
    return table.kind == "table" and not table.virtual


def _cheap(request: RowsRequest) -> bool:
    """A page that may be tried on the event loop: a bounded read of a real table, with no
    full-text search and no pattern filter (one LIKE or GLOB step costs the product of
    the pattern's and the value's lengths, and no budget can stop a single step)."""
    return (
        _real_table(request.table)
        and request.search is None
        and request.limit is not None
        and not any(OPERATORS[f.op].costly for f in filters_in(request.filters))
    )


def _null_key(order: Sequence[SortKey], values: Sequence[Value]) -> bool:
    """The cursor's values hold NULL in a key column (where rows can tie)."""
    return any(v is None and k.column.primary_key for k, v in zip(order, values, strict=True))


def build_rows_query(request: RowsRequest) -> RowsQuery:
    table = request.table
    order = ordering(table, request.sort)
    keyset = bool(table.key_columns)
    columns = list(request.select)
    if keyset:
        columns += [k.column for k in order if k.column not in columns]
    related = bool(request.expand or request.embed)
    if related:  # relations are fetched by the rows' identities
        columns += [c for c in row_identity(table) if c not in columns]
    source = scoped(request.scope, table)
    where = where_of(request)
    offset = request.offset
    if request.after is not None and request.after.key is not None:
        terms = [(quote(k.column.name), k.descending, k.column.nullable) for k in order]
        values = request.after.key
        tie = table.tie_breaker is not None and order[-1].column == table.tie_breaker
        if tie and not _null_key(order, values):
            # a key without NULL is unique: the tie breaker only settles NULL keys, and
            # left out of the condition it keeps the plain key's plan
            terms, values = terms[:-1], values[:-1]
        after = after_clause(terms, values)
        where.add(after.sql, after.params)
    elif request.after is not None and request.after.offset is not None:
        offset = request.after.offset
    fetch = None if request.limit is None else request.limit + 1
    limit_sql, limit_params = _limit(fetch, offset)
    sql = (
        f"SELECT {', '.join(quote(c.name) for c in columns)} FROM {source.sql}"
        f"{where.sql()}{_order_by(order)}{limit_sql}"
    )
    return RowsQuery(
        sql=sql,
        params=(*source.params, *where.params, *limit_params),
        inline=_cheap(request),
        width=len(request.select),
        key_positions=tuple(columns.index(k.column) for k in order) if keyset else (),
        keyset=keyset,
        fetch=fetch,
        row_key=tuple(columns.index(c) for c in row_identity(table)) if related else (),
    )


def build_count_query(request: RowsRequest) -> Query:
    source = scoped(request.scope, request.table)
    where = where_of(request)
    return Query(f"SELECT count(*) FROM {source.sql}{where.sql()}", (*source.params, *where.params))


def build_row_query(table: Table, key: Sequence[Value], scope: Scope) -> Query:
    """One row by its key values, in `table.key_columns` order (none if the caller may
    not read it)."""
    source = scoped(scope, table)
    where = Where()
    for column, value in zip(table.key_columns, key, strict=True):
        where.add(f"{quote(column.name)} = ?", (value,))
    select = ", ".join(quote(c.name) for c in table.columns)
    sql = f"SELECT {select} FROM {source.sql}{where.sql()}"
    return Query(sql, (*source.params, *where.params), inline=_real_table(table))


def values_scope(table: Table, column: Column) -> tuple[str, int]:
    """Cursor scope and key length of a column's distinct values (keyed on count, value)."""
    return "\x1f".join(("values", table.name, column.name)), 2


def build_values_query(request: RowsRequest, column: Column) -> RowsQuery:
    """Distinct values of `column` with counts, most frequent first, keyset-paged on
    (count, value); the filters and search of `request` apply. Rows are (value, count)."""
    source = scoped(request.scope, request.table)
    where = where_of(request)
    name = quote(column.name)
    having = Where()
    if request.after is not None and request.after.key is not None:
        terms = [("count(*)", True, False), (name, False, True)]
        after = after_clause(terms, request.after.key)
        having.add(after.sql, after.params)
    fetch = None if request.limit is None else request.limit + 1
    limit_sql, limit_params = _limit(fetch, 0)
    sql = (
        f"SELECT {name}, count(*) FROM {source.sql}{where.sql()} "
        f"GROUP BY {name}{having.sql('HAVING')} ORDER BY count(*) DESC, {name}{limit_sql}"
    )
    params = (*source.params, *where.params, *having.params, *limit_params)
    return RowsQuery(sql, params, width=2, key_positions=(1, 0), keyset=True, fetch=fetch)


def split_page(
    query: RowsQuery, request: RowsRequest, fetched: Sequence[Sequence[Value]]
) -> tuple[Sequence[Sequence[Value]], Cursor | None]:
    """The page's rows and the cursor of the next page (None on the last page)."""
    if query.fetch is None or request.limit is None or len(fetched) < query.fetch:
        return fetched, None
    rows = fetched[: request.limit]
    if query.keyset:
        return rows, Cursor(key=tuple(rows[-1][i] for i in query.key_positions))
    start = (
        request.after.offset
        if request.after and request.after.offset is not None
        else request.offset
    )
    return rows, Cursor(offset=(start or 0) + request.limit)
