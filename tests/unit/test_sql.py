"""The SQL builder on its own: no server, SQLite as the oracle."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sqlapi.model.cursors import Cursor
from sqlapi.request.rows import parse_rows
from sqlapi.request.types import (
    EVERY_ROW,
    Filter,
    RequestContext,
    RequestLimits,
    RowsRequest,
    SortKey,
)
from sqlapi.sql.clauses import after_clause, quote
from sqlapi.sql.rows import build_count_query, build_rows_query
from sqlapi.store.introspect import introspect

small = st.one_of(st.none(), st.integers(-2, 2))


def test_quoted_names_round_trip_and_an_unknown_one_is_an_error_never_a_string() -> None:
    conn = sqlite3.connect(":memory:")
    names = ['a"b', "back`tick", "x; DROP TABLE t --", "[br]", "ü 表"]
    conn.execute(f"CREATE TABLE t ({', '.join(quote(n) for n in names)})")
    conn.execute("INSERT INTO t VALUES (1, 2, 3, 4, 5)")
    assert [d[0] for d in conn.execute("SELECT * FROM t").description] == names
    assert conn.execute(f"SELECT {quote('back`tick')} FROM t").fetchall() == [(2,)]
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        conn.execute(f"SELECT {quote('gone')} FROM t")  # "gone" would be the string 'gone'
    with pytest.raises(sqlite3.OperationalError, match="no such column"):
        conn.execute(f"SELECT 1 FROM t WHERE {quote('gone')} IS NOT NULL")


@settings(deadline=None)
@given(
    rows=st.lists(st.tuples(small, small, small), min_size=1, max_size=25),
    directions=st.lists(st.booleans(), min_size=3, max_size=3),
    order=st.permutations(["a", "b", "c"]),
    width=st.integers(1, 3),
    pick=st.integers(0, 24),
)
def test_after_clause_returns_exactly_the_rows_after_the_cursor(
    rows: list[tuple[int | None, ...]],
    directions: list[bool],
    order: list[str],
    width: int,
    pick: int,
) -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a INTEGER, b INTEGER, c INTEGER)")
    conn.executemany("INSERT INTO t (a, b, c) VALUES (?, ?, ?)", rows)
    names = [*order[:width], "id"]
    descending = [*directions[:width], False]
    order_by = ", ".join(
        f"{n} {'DESC' if d else 'ASC'}" for n, d in zip(names, descending, strict=True)
    )
    full = conn.execute(f"SELECT {', '.join(names)} FROM t ORDER BY {order_by}").fetchall()
    position = pick % len(full)
    terms = [(n, d, n != "id") for n, d in zip(names, descending, strict=True)]
    after = after_clause(terms, full[position])
    got = conn.execute(
        f"SELECT {', '.join(names)} FROM t WHERE {after.sql} ORDER BY {order_by}", after.params
    )
    assert got.fetchall() == full[position + 1 :]


def _books() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute('CREATE TABLE "my books" (id INTEGER PRIMARY KEY, "ti""tle" TEXT, year INTEGER)')
    conn.executemany(
        'INSERT INTO "my books" VALUES (?, ?, ?)',
        [(1, "a%b", 2000), (2, "a_b", None), (3, "axb", 1999)],
    )
    return conn


def test_rows_query_quotes_names_and_binds_every_value() -> None:
    conn = _books()
    table = introspect(conn).tables[0]
    title, year = table.columns[1], table.columns[2]
    request = RowsRequest(
        table=table,
        select=(title,),
        scope=EVERY_ROW,
        filters=(Filter(title, "contains", "%"), Filter(year, "gte", 1990)),
        sort=(SortKey(year, descending=True),),
        limit=10,
    )
    query = build_rows_query(request)
    assert "%" not in query.sql and "1990" not in query.sql
    assert conn.execute(query.sql, query.params).fetchall() == [
        ("a%b", 2000, 1)
    ]  # % matched literally
    count = build_count_query(request)
    assert conn.execute(count.sql, count.params).fetchone() == (1,)


def test_next_page_query_uses_the_key_not_offset() -> None:
    conn = _books()
    table = introspect(conn).tables[0]
    query = build_rows_query(
        RowsRequest(table, table.columns, EVERY_ROW, limit=1, after=Cursor(key=(1,)))
    )
    assert "OFFSET ?" in query.sql and query.params[-1] == 0
    assert "`id` > ?" in query.sql
    plan = " ".join(row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + query.sql, query.params))
    assert "USING INTEGER PRIMARY KEY" in plan  # a seek, so deep pages cost what the first does


def test_an_or_group_of_indexed_terms_searches_the_index_as_in_does() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, category INTEGER, name TEXT)")
    conn.execute("CREATE INDEX items_category ON items (category)")
    conn.executemany(
        "INSERT INTO items (category, name) VALUES (?, ?)", [(n % 50, f"n{n}") for n in range(2000)]
    )
    conn.execute("ANALYZE")
    table = introspect(conn).tables[0]
    context = RequestContext(introspect(conn), RequestLimits())
    plans = {}
    for name, pairs in {
        "in": [("category__in", "7,8,9")],
        "or": [("_or", "(category__exact.7,category.8,category__exact.9)")],
    }.items():
        rows, _ = parse_rows(table, pairs, context)
        query = build_rows_query(rows)
        plans[name] = " ".join(
            r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + query.sql, query.params)
        )
        found = [row[0] for row in conn.execute(query.sql, query.params)]
        assert found == [n + 1 for n in range(2000) if n % 50 in (7, 8, 9)][: len(found)]
    assert "USING INDEX items_category" in plans["in"], plans
    assert "USING INDEX items_category" in plans["or"], plans  # not a SCAN of the table


def test_a_key_that_may_be_null_is_settled_by_the_rowid_only_where_rows_can_tie() -> None:
    """A nullable TEXT key is ordered by key then rowid; a cursor after a non-NULL key
    needs no rowid (the key is unique) and keeps the seek on the key's index."""
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY, v)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(None, 1), (None, 2), ("a", 3), ("b", 4)])
    table = introspect(conn).tables[0]
    assert table.tie_breaker is not None
    ordered = conn.execute("SELECT k, v, rowid FROM t ORDER BY k, rowid").fetchall()
    for i, (k, _, rowid) in enumerate(ordered):
        query = build_rows_query(
            RowsRequest(table, table.columns, EVERY_ROW, limit=10, after=Cursor(key=(k, rowid)))
        )
        condition = query.sql.split(" WHERE ")[1].split(" ORDER BY ")[0]
        assert ("rowid" in condition) == (k is None), condition
        rows = conn.execute(query.sql, query.params).fetchall()
        assert [r[:2] for r in rows] == [r[:2] for r in ordered[i + 1 :]]
        if k is not None:
            plan = " ".join(
                r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + query.sql, query.params)
            )
            assert "USING INDEX" in plan and "TEMP B-TREE" not in plan, plan
