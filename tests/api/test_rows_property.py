"""Any combination of filters, sort, select and cursors either returns exactly the rows the
equivalent hand-written SQLite query returns, each once, in order, following `next` to the
end; or it is a 400. The oracle is plain sqlite3 on the same file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.oracle import Refused, merged_in_lists, typed, value_test

TABLES: dict[str, dict[str, str]] = {
    # table -> column -> kind; "key" lists the key the oracle orders by last
    "items": {"id": "int", "i": "int", "t": "text", "r": "real"},
    "pairs": {"k1": "text", "k2": "int", "v": "int"},
    "items_view": {"i": "int", "t": "text", "r": "real"},
}
KEYS = {"items": ["id"], "pairs": ["k1", "k2"], "items_view": []}
TEXTS = ["a", "b", "A", "ab", "a%", "_b", "x y", "ü", ""]


@pytest.fixture(scope="module")
def prop_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("prop") / "prop.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, i INTEGER, t TEXT, r REAL)")
    conn.execute(
        "CREATE TABLE pairs (k1 TEXT, k2 INTEGER, v INTEGER, PRIMARY KEY (k1, k2)) WITHOUT ROWID"
    )
    conn.execute("CREATE VIEW items_view AS SELECT i, t, r FROM items")
    rows = []
    for n in range(45):
        i = None if n % 7 == 0 else (n * 5) % 4 - 1
        t = None if n % 5 == 0 else TEXTS[n % len(TEXTS)]
        r = None if n % 6 == 0 else [0.5, -1.0, 2.25][n % 3]
        rows.append((i, t, r))
    conn.executemany("INSERT INTO items (i, t, r) VALUES (?, ?, ?)", rows)
    conn.executemany(
        "INSERT INTO pairs VALUES (?, ?, ?)",
        [(TEXTS[n % 5], n // 5, None if n % 4 == 0 else n % 3) for n in range(30)],
    )
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def live(prop_db: Path) -> Iterator[LiveApp]:
    app = LiveApp(Settings(database=prop_db))
    yield app
    app.close()


INTS = st.one_of(st.integers(-2, 3).map(str), st.sampled_from(["abc", "1.5", "", " 2"]))
REALS = st.one_of(st.sampled_from(["0.5", "-1", "2.25", "1e400"]), st.sampled_from(["abc", "nan"]))
PATTERN_OPS = ["contains", "startswith", "endswith"]
OPS = ["exact", "not", "gt", "gte", "lt", "lte", "in", "isnull", "notnull", *PATTERN_OPS]


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]], dict[str, Any]]:
    table = draw(st.sampled_from(list(TABLES)))
    columns = TABLES[table]
    names = list(columns)
    params: list[tuple[str, str]] = []
    spec: dict[str, Any] = {"filters": [], "sort": [], "select": names, "valid": True}
    for _ in range(draw(st.integers(0, 3))):
        column, op = draw(st.sampled_from(names)), draw(st.sampled_from(OPS))
        kind = columns[column]
        if op in ("isnull", "notnull"):
            value = draw(st.sampled_from(["true", "false"]))
        elif op in PATTERN_OPS:
            value = draw(st.sampled_from(["a", "%", "_", "b", "ü", "1"]))
        elif op == "in":
            source = (
                INTS if kind == "int" else REALS if kind == "real" else st.sampled_from(TEXTS[:-1])
            )
            value = ",".join(draw(st.lists(source, min_size=1, max_size=3)))
        else:
            value = draw(
                INTS if kind == "int" else REALS if kind == "real" else st.sampled_from(TEXTS)
            )
        params.append(
            (column if op == "exact" and draw(st.booleans()) else f"{column}__{op}", value)
        )
        spec["filters"].append((column, op, value))
    sort = draw(st.lists(st.sampled_from(names), unique=True, max_size=3))
    sort_spec = [(c, draw(st.booleans())) for c in sort]
    if sort_spec:
        params.append(("_sort", ",".join(("-" if d else "") + c for c, d in sort_spec)))
    spec["sort"] = sort_spec
    if draw(st.booleans()):
        spec["select"] = draw(st.lists(st.sampled_from(names), unique=True, min_size=1))
        params.append(("_select", ",".join(spec["select"])))
    params.append(("_limit", str(draw(st.integers(1, 7)))))
    return table, params, spec


DECLARED = {"int": "INTEGER", "real": "REAL", "text": "TEXT"}


def oracle(prop_db: Path, table: str, spec: dict[str, Any]) -> list[list[object]] | None:
    """The hand-written equivalent, or None when sqlapi must refuse with a 400."""
    columns, where, params = TABLES[table], [], []
    for column, op, value in merged_in_lists(spec["filters"]):
        declared = DECLARED[columns[column]]
        try:
            test, values = value_test(f'"{column}"', op, value, partial(typed, declared))
        except Refused:
            return None
        where.append(test)
        params += values
    order = [f'"{c}" {"DESC" if d else "ASC"}' for c, d in spec["sort"]]
    sorted_names = {c for c, _ in spec["sort"]}
    tie = KEYS[table] or (list(columns) if spec["sort"] else [])
    order += [f'"{c}"' for c in tie if c not in sorted_names]
    select = ", ".join(f'"{c}"' for c in spec["select"])
    sql = f"SELECT {select} FROM {table}" + (" WHERE " + " AND ".join(where) if where else "")
    sql += (" ORDER BY " + ", ".join(order)) if order else ""
    conn = sqlite3.connect(prop_db)
    try:
        return [list(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def follow(
    live: LiveApp, table: str, params: list[tuple[str, str]]
) -> tuple[int, list[list[object]]]:
    url = f"/api/tables/{table}/rows?" + urlencode([*params, ("_shape", "arrays")])
    rows: list[list[object]] = []
    for _ in range(200):
        response = live.get(url)
        if response.status != 200:
            assert response.status == 400, (url, response.status, response.body)
            assert response.content_type == "application/problem+json"
            return 400, []
        body = response.json()
        rows += body["rows"]
        if body["next"] is None:
            return 200, rows
        url = body["next_url"]
    raise AssertionError("next never ended")


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(requests())
def test_following_next_returns_exactly_the_oracle_rows(
    live: LiveApp, prop_db: Path, case: tuple[str, list[tuple[str, str]], dict[str, Any]]
) -> None:
    table, params, spec = case
    expected = oracle(prop_db, table, spec)
    status, rows = follow(live, table, params)
    if expected is None:
        assert status == 400
        return
    assert status == 200, params
    if table == "items_view" and not spec["sort"]:
        key = repr
        assert sorted(rows, key=key) == sorted(
            expected, key=key
        )  # a view without _sort has no defined order
    else:
        assert rows == expected
