"""Embedded lists are written as JSON by SQLite (query.json_rows), everything else by
Python (encoding). The two must agree value for value: a child row embedded in its
parent reads exactly as the same row from the child's own rows endpoint."""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlapi.config import Settings
from sqlapi.model.encoding import JSON_VALUE, dumps, shape_rows, value_converter
from sqlapi.sql.json_rows import MEMBERS_PER_CALL, row_object, selected
from sqlapi.store.readonly import connect_readonly, load_schema
from tests.fixtures import LiveApp


def canon(value: object) -> str:
    """Compared as JSON text: true is not 1, 1.0 is not 1, -0.0 is not 0.0."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


DECLARED = ["INTEGER", "REAL", "TEXT", "BLOB", "BOOLEAN", "NUMERIC", "", "DATETIME", "ANY"]
VALUES = st.one_of(
    st.none(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, 2**53 - 1, 2**53, -(2**53), 2**63 - 1]),
    st.floats(allow_nan=False),
    st.sampled_from([0.1, -0.0, 1e20, 1e16, 5e-324, 1.0, 123456789.12345679, math.inf]),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.sampled_from(['"', "\\", "\x00", "\x1f", "\u2028", "é", "😀", "{}", "}", "a},{"]),
    st.binary(max_size=8),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    declared=st.lists(st.sampled_from(DECLARED), min_size=1, max_size=4),
    rows=st.lists(st.lists(VALUES, min_size=4, max_size=4), min_size=0, max_size=6),
    ints_as_strings=st.booleans(),
)
def test_sqlite_writes_rows_as_the_rows_endpoint_does(
    tmp_path_factory: pytest.TempPathFactory,
    declared: list[str],
    rows: list[list[Any]],
    ints_as_strings: bool,
) -> None:
    path = tmp_path_factory.mktemp("json") / "t.db"
    names = [f"c{i}" for i in range(len(declared))]
    setup = sqlite3.connect(path)
    setup.execute(
        "CREATE TABLE t (id INTEGER PRIMARY KEY, "
        + ", ".join(f"{n} {d}" for n, d in zip(names, declared, strict=True))
        + ")"
    )
    setup.executemany(
        f"INSERT INTO t ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
        [row[: len(names)] for row in rows],
    )
    setup.commit()
    setup.close()
    table = next(t for t in load_schema(path, False).tables if t.name == "t")
    conn = connect_readonly(path, False)
    try:
        columns = table.columns
        row = row_object("c", columns, ints_as_strings)
        (text,) = conn.execute(
            f"SELECT json_group_array({row.sql}) "
            f"FROM (SELECT {selected('t', columns)} FROM t ORDER BY id) AS c",
            row.params,
        ).fetchone()
        stored = conn.execute("SELECT * FROM t ORDER BY id").fetchall()
    finally:
        conn.close()
    by_python = shape_rows(
        [c.name for c in columns], stored, "objects", value_converter(columns, ints_as_strings)
    )
    assert canon(orjson.loads(text)) == canon(orjson.loads(dumps(by_python)))


WIDE = MEMBERS_PER_CALL * 2 + 5  # three json_object calls joined into one object


@pytest.fixture(scope="module")
def odd_children(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    path = tmp_path_factory.mktemp("embedded") / "odd.db"
    conn = sqlite3.connect(path)
    wide = ", ".join(f"w{i} INTEGER" for i in range(WIDE))
    conn.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE kid (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),"
        " price REAL, label TEXT, flag BOOLEAN, big INTEGER, data BLOB,"
        " short TEXT AS (substr(label, 1, 3)) VIRTUAL);"
        # not the rowid: SQLite's exception, an ordinary column that holds any value
        "CREATE TABLE desckid (id INTEGER PRIMARY KEY DESC, parent_id INTEGER"
        " REFERENCES parent(id));"
        "INSERT INTO desckid VALUES (0.30000000000000004, 1), (9e999, 1), (-9e999, 1),"
        " (1e300, 1), (X'0102', 1), (7, 1);"
        f"CREATE TABLE wide (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),"
        f" {wide});"
        "INSERT INTO parent VALUES (1), (2);"
    )
    conn.executemany(
        "INSERT INTO kid (parent_id, price, label, flag, big, data) VALUES (1, ?, ?, ?, ?, ?)",
        [
            (0.1, 'say "hi"\\\n', 1, 2**53 + 1, b"\x00\xff"),
            (1e20, "ü😀\x00", 0, -(2**63), None),
            (-0.0, b"a blob in a TEXT column", 2, 7, "text in a BLOB column"),
            (float("inf"), None, "yes", 2**63 - 1, b""),
            (3, "}", None, None, 1.5),
        ],
    )
    conn.execute(
        "INSERT INTO kid (parent_id, label) VALUES (2, CAST(X'6F6BFF' AS TEXT))"
    )  # not UTF-8
    conn.execute(
        f"INSERT INTO wide VALUES (1, 1, {', '.join(str(i * 1000003) for i in range(WIDE))})"
    )
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path))
    yield live
    live.close()


@pytest.mark.parametrize("ints", ["", "&_ints=string"])
@pytest.mark.parametrize(("child", "parent"), [("kid", 1), ("kid", 2), ("wide", 1), ("desckid", 1)])
def test_an_embedded_list_reads_as_the_childs_own_rows(
    odd_children: LiveApp, child: str, parent: int, ints: str
) -> None:
    own = odd_children.json(f"/api/tables/{child}/rows?parent_id={parent}{ints}")["rows"]
    assert own  # the case is not empty
    row = odd_children.json(f"/api/tables/parent/rows/{parent}?_embed={child}{ints}")["row"]
    assert canon(row[child]["rows"]) == canon(own)
    assert row[child]["next_url"] is None


def test_client_sql_cannot_call_sqlapis_own_function(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    sqlite3.connect(path).close()
    live = LiveApp(Settings(database=path, enable_sql=True))
    try:
        assert live.get("/api/sql?sql=SELECT%201").status == 200
        for name in (JSON_VALUE, "sqlapi_json_value"):  # even one who learnt its name
            response = live.get(f"/api/sql?sql=SELECT%20{name}(1.5,%200)")
            assert response.status in (400, 403), response.body[:300]
            assert response.content_type == "application/problem+json"
    finally:
        live.close()


def test_a_list_longer_than_the_value_limit_is_a_400_and_the_rows_still_read(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE kid (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),"
        " note TEXT);"
        "INSERT INTO parent VALUES (1);"
    )
    conn.executemany("INSERT INTO kid VALUES (NULL, 1, ?)", [("x" * 600,)] * 3)
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path, max_value_bytes=1024))
    try:
        assert len(live.json("/api/tables/kid/rows?parent_id=1")["rows"]) == 3
        response = live.get("/api/tables/parent/rows/1?_embed=kid")
        assert response.status == 400, response.body[:300]
        assert response.json()["type"].endswith("too-large")
        assert (
            len(
                live.json("/api/tables/parent/rows/1?_embed=kid&_embed_limit=1")["row"]["kid"][
                    "rows"
                ]
            )
            == 1
        )
    finally:
        live.close()


def test_a_child_of_a_thousand_long_named_columns_embeds(tmp_path: Path) -> None:
    """The statement names each column twice, not once per test of its value: SQLite's
    1,000,000-byte statement limit holds a thousand columns of 120-character names."""
    path = tmp_path / "t.db"
    names = [f"{'c' * 116}{i:04d}" for i in range(1000)]
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE kid (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), "
        + ", ".join(f"{n} INTEGER" for n in names)
        + ")"
    )
    conn.execute("INSERT INTO parent VALUES (1)")
    conn.execute(f"INSERT INTO kid (id, parent_id, {names[-1]}) VALUES (1, 1, 7)")
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path))
    try:
        own = live.json("/api/tables/kid/rows?parent_id=1&_ints=string")["rows"]
        row = live.json("/api/tables/parent/rows/1?_embed=kid&_ints=string")["row"]
        assert row["kid"]["rows"] == own and own[0][names[-1]] == 7
    finally:
        live.close()
