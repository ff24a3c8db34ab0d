"""Boolean groups (`_or`), filters on values inside JSON text (`col->path__op=v`),
`arraycontains`/`arraynotcontains` and `_json`, differentially: every answer holds exactly
the rows a hand-written SQLite query selects on the same file (JSON looked into only where
`json_valid` says the text is JSON, with `json_extract` / `json_each`), or it is a 400."""

from __future__ import annotations

import csv
import io
import json
import math
import random
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.oracle import Refused, typed, value_test

TEXTS = ["a", "A", "ab", "a,b", "x(y)", 'q"uote', "back\\slash", "ü", "Ü", "日本", "🎉", "",
    "%", "_", "a_b", "a%b", " lead", "trail ", "1", "10", "-1.5", "(", ")", '"', "\\",
    'ünï,("\\)']  # fmt: skip

HANDMADE = [
    '{"a": 1, "b": {"c": "x", "d": [1, 2, "3"]}, "s": "1", "f": 1.5, "t": true, "n": null}',
    '{"a": 2, "b": {"c": "y,z"}, "s": "abc", "f": -0.5, "t": false}',
    '{"a": "1", "b": {"c": "X"}, "s": "a(b)"}',
    '{"a": 1.0, "arr": [1, "1", 2.5, "red", null, true, [1], {"x": 1}]}',
    "[1, 2, 3]",
    '["a", "b,c", "q\\"uote", "ü", "x(y)"]',
    '[10, "10", 1e1, -0.5]',
    "[]",
    "{}",
    "[[1, 2], [3]]",
    '[{"a": 1}, {"a": 2}]',
    '{"a": [1, 2], "b": [{"c": 1}, {"c": "1"}]}',
    '{"a": "[1,2]", "s": "[\\"x\\"]"}',  # strings that look like arrays
    '"just a string"',
    "12",
    '"12"',
    "true",
    "null",
    "-0",
    " [1, 2] ",
    '{"a": 1, "a": 2}',
    '{"a": {"a": {"a": 3}}}',
    '{"0": "zero", "b": ["p", "q"], "arr": ["1", "2"]}',
    '{"a": "ünï", "s": "%_", "f": 1e2}',
    '{"a": 9007199254740993, "f": 0.1}',
    "not json",
    "{bad",
    "[1, 2",
    "{'a': 1}",
    "",
    "NaN",
    "[1,]",
    None,
]


def random_json(rng: random.Random, depth: int = 0) -> Any:
    """A JSON value over the keys and values the filters below ask for."""
    kind = rng.choice(["scalar", "scalar", "array", "object"] if depth < 3 else ["scalar"])
    if kind == "array":
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    if kind == "object":
        keys = rng.sample(["a", "b", "c", "s", "f", "t", "arr", "0"], rng.randint(0, 4))
        return {k: random_json(rng, depth + 1) for k in keys}
    return rng.choice(
        [
            0,
            1,
            2,
            3,
            10,
            -1,
            1.5,
            2.5,
            -0.5,
            "1",
            "2",
            "x",
            "X",
            "red",
            "y,z",
            "a(b)",
            "ü",
            "",
            True,
            False,
            None,
        ]
    )


def build_filters_db(path: Path) -> Path:
    rng = random.Random(20261125)
    documents: list[str | None] = list(HANDMADE)
    for _ in range(45):
        value = random_json(rng)
        text = json.dumps(value, ensure_ascii=rng.random() < 0.5)
        documents.append(text if rng.random() < 0.9 else text[:-1])  # some cut short
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, i INTEGER, r REAL, t TEXT, j TEXT)")
    rows = []
    for n, document in enumerate(documents):
        i = None if n % 7 == 0 else (n * 5) % 9 - 3
        r = None if n % 6 == 0 else [0.5, -1.0, 2.25, 10.0][n % 4]
        t = None if n % 8 == 0 else TEXTS[n % len(TEXTS)]
        rows.append((n + 1, i, r, t, document))
    conn.executemany("INSERT INTO things VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def filters_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_filters_db(tmp_path_factory.mktemp("filters") / "filters.db")


@pytest.fixture(scope="module")
def live(filters_path: Path) -> Iterator[LiveApp]:
    app = LiveApp(Settings(database=filters_path))
    yield app
    app.close()


# ---------------------------------------------------------------------------------------
# Terms and trees

COLUMNS = {"id": "int", "i": "int", "r": "real", "t": "text", "j": "text"}
PATHS = ["a", "b.c", "b.d.1", "s", "f", "t", "n", "arr", "arr.0", "arr.3", "0", "0.a", "1",
    "a.a.a", "b.0.c", "b.1.c", "zz", "2"]  # fmt: skip
JSON_VALUES = ["1", "2", "3", "10", "1.0", "1.5", "-0.5", "0.1", "1e1", "100", "x", "X", "y,z",
    "a(b)", "red", "abc", "ü", "ünï", "zero", "p", "", " 1", "true", "null", "[1]", "%_", "b,c",
    'q"uote', "9007199254740993"]  # fmt: skip
PATTERNS = ["a", "A", "%", "_", "a%", "%b", "a_b", "*", "a*", "*b*", "[ab]*", "?", "ü", ","]
COMPARISONS = ["exact", "not", "gt", "gte", "lt", "lte"]
COLUMN_OPS = [*COMPARISONS, "contains", "startswith", "endswith", "like", "glob", "in", "notin",
    "isnull", "notnull", "arraycontains", "arraynotcontains"]  # fmt: skip
PATH_OPS = [*COMPARISONS, "startswith", "in", "notin", "isnull", "notnull"]
# A path with these fails today (see test_path_pattern_and_array_operators_*):
BROKEN_PATH_OPS = ["contains", "endswith", "arraycontains", "arraynotcontains"]


@dataclass(frozen=True)
class Term:
    column: str
    path: str | None
    op: str
    value: str

    @property
    def key(self) -> str:
        return self.column + (f"->{self.path}" if self.path else "") + f"__{self.op}"


@dataclass(frozen=True)
class Group:
    kind: str  # "and" | "or"
    members: tuple[Group | Term, ...]


def values_for(column: str, op: str, path: str | None) -> st.SearchStrategy[str]:
    if op in ("isnull", "notnull"):
        return st.sampled_from(["true", "false", "1", "no"])
    if op in ("like", "glob") or (op in ("contains", "startswith", "endswith") and path is None):
        return st.sampled_from(PATTERNS + TEXTS[:12])
    if path is not None or op in ("arraycontains", "arraynotcontains"):
        return st.sampled_from(JSON_VALUES)
    kind = COLUMNS[column]
    if kind == "int":
        return st.sampled_from(["-3", "0", "1", "2", "5", " 2", "+1", "abc", "1.5"])
    if kind == "real":
        return st.sampled_from(["0.5", "-1", "2.25", "10", "1e1", "abc", "nan"])
    return st.sampled_from(TEXTS)


@st.composite
def terms(
    draw: st.DrawFn, ops: list[str] = COLUMN_OPS, path_ops: list[str] = PATH_OPS, paths: int = 3
) -> Term:
    """A filter on a column, or (about one in `paths`; always with 1) on a path of its JSON."""
    if draw(st.integers(1, paths)) == 1:
        path = draw(st.sampled_from(PATHS))
        column, op = draw(st.sampled_from(["j", "j", "t", "i"])), draw(st.sampled_from(path_ops))
    else:
        path, column, op = None, draw(st.sampled_from(list(COLUMNS))), draw(st.sampled_from(ops))
    value = draw(values_for(column, op, path))
    if op in ("in", "notin"):
        value = ",".join(draw(st.lists(values_for(column, "exact", path), min_size=1, max_size=3)))
    return Term(column, path, op, value)


def trees(depth: int = 3) -> st.SearchStrategy[Group]:
    members: st.SearchStrategy[Group | Term] = terms()
    if depth > 1:
        members = st.one_of(terms(), terms(), trees(depth - 1))
    return st.builds(
        Group, st.sampled_from(["and", "or"]), st.lists(members, min_size=1, max_size=4).map(tuple)
    )


def quoted(value: str, always: bool) -> str:
    if always or re.search(r'[,()"\\]', value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


def format_members(group: Group, quote_all: bool) -> str:
    parts = []
    for member in group.members:
        if isinstance(member, Group):
            parts.append(member.kind + format_members(member, quote_all))
        else:
            parts.append(f"{member.key}.{quoted(member.value, quote_all)}")
    return "(" + ",".join(parts) + ")"


def format_or(group: Group, quote_all: bool = False) -> str:
    """The `_or` text: the top level is an OR, so a top AND is written `(and(...))`."""
    return format_members(group if group.kind == "or" else Group("or", (group,)), quote_all)


def count_terms(group: Group) -> int:
    return sum(count_terms(m) if isinstance(m, Group) else 1 for m in group.members)


# ---------------------------------------------------------------------------------------
# The oracle


DECLARED = {"int": "INTEGER", "real": "REAL", "text": "TEXT"}
NUMBER = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")  # no spaces


def loose(value: str) -> object:
    """A value compared with JSON's values: a number when it is written as one."""
    if not NUMBER.fullmatch(value):
        return value
    if re.fullmatch(r"[+-]?[0-9]+", value) and -(2**63) <= int(value) < 2**63:
        return int(value)
    number = float(value)
    return number if math.isfinite(number) else value


def json_path(path: str) -> str:
    return "$" + "".join(f"[{s}]" if s.isdigit() else f".{s}" for s in path.split("."))


def term_sql(term: Term) -> tuple[str, list[object]]:
    column, value, op = f'"{term.column}"', term.value, term.op
    if term.path is not None:
        path = json_path(term.path)
        at = f"json_extract({column}, '{path}')"
        if op in ("arraycontains", "arraynotcontains"):  # the array at the path, not a string
            exists = "EXISTS" if op == "arraycontains" else "NOT EXISTS"
            test = (
                f"json_type({column}, '{path}') = 'array' AND {exists} "
                f"(SELECT 1 FROM json_each({column}, '{path}') AS e WHERE e.value IN (?, ?))"
            )
            params: list[object] = [value, loose(value)]
        else:
            test, params = value_test(at, op, value, loose)
        return f"(CASE WHEN json_valid({column}) THEN {test} ELSE 0 END)", params
    if op in ("arraycontains", "arraynotcontains"):
        exists = "EXISTS" if op == "arraycontains" else "NOT EXISTS"
        test = (
            f"json_type({column}) = 'array' AND {exists} "
            f"(SELECT 1 FROM json_each({column}) AS e WHERE e.value IN (?, ?))"
        )
        return f"(CASE WHEN json_valid({column}) THEN {test} ELSE 0 END)", [value, loose(value)]
    return value_test(column, op, value, partial(typed, DECLARED[COLUMNS[term.column]]))


def group_sql(group: Group) -> tuple[str, list[object]]:
    parts = [group_sql(m) if isinstance(m, Group) else term_sql(m) for m in group.members]
    joiner = " AND " if group.kind == "and" else " OR "
    return "(" + joiner.join(f"({sql})" for sql, _ in parts) + ")", [
        v for _, values in parts for v in values
    ]


def oracle_ids(path: Path, conditions: list[tuple[str, list[object]]]) -> list[int]:
    where = " AND ".join(sql for sql, _ in conditions) or "1"
    params = [v for _, values in conditions for v in values]
    conn = sqlite3.connect(path)
    try:
        return [
            r[0] for r in conn.execute(f"SELECT id FROM things WHERE {where} ORDER BY id", params)
        ]
    finally:
        conn.close()


def api_ids(live: LiveApp, params: list[tuple[str, str]]) -> tuple[int, list[int]]:
    url = "/api/tables/things/rows?" + urlencode([*params, ("_select", "id"), ("_limit", "1000")])
    response = live.get(url)
    if response.status != 200:
        assert response.status == 400, (url, response.status, response.body[:500])
        assert response.content_type == "application/problem+json", url
        return 400, []
    body = response.json()
    assert body["next"] is None, url
    return 200, [row["id"] for row in body["rows"]]


def check(live: LiveApp, path: Path, params: list[tuple[str, str]], conditions: Any) -> None:
    try:
        expected: list[int] | None = oracle_ids(path, [c() for c in conditions])
    except Refused:
        expected = None
    status, ids = api_ids(live, params)
    event(f"{status}, {'no rows' if not ids else 'rows'}")
    if expected is None:
        assert status == 400, params
    else:
        assert (status, ids) == (200, expected), params


SETTINGS = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


# ---------------------------------------------------------------------------------------
# Properties


@SETTINGS
@given(
    groups=st.lists(trees(), min_size=1, max_size=2),
    plain=st.lists(terms(), max_size=2),
    quote_all=st.booleans(),
)
def test_or_trees_with_filters_equal_the_sqlite_oracle(
    live: LiveApp, filters_path: Path, groups: list[Group], plain: list[Term], quote_all: bool
) -> None:
    """Several `_or` are ANDed with each other and with the plain filters; values are
    quoted where they hold , ( ) " or \\ (or always: a quoted plain value is the same)."""
    kept = list({t.key: t for t in plain}.values())  # each plain key once (`__in` twice: one list)
    params = [("_or", format_or(g, quote_all)) for g in groups] + [(t.key, t.value) for t in kept]
    conditions = [lambda g=g: group_sql(g) for g in groups] + [
        lambda t=t: term_sql(t) for t in kept
    ]
    if sum(map(count_terms, groups)) + len(kept) > 100:  # at most 100 filters in one request
        conditions.append(refuse)
    check(live, filters_path, params, conditions)


def refuse() -> tuple[str, list[object]]:
    raise Refused("more than 100 filters")


@SETTINGS
@given(term=terms(path_ops=PATH_OPS))
def test_one_filter_on_json_text_equals_the_sqlite_oracle(
    live: LiveApp, filters_path: Path, term: Term
) -> None:
    """Paths on JSON text (json_extract, only where json_valid), arraycontains and every
    column operator, one at a time."""
    check(live, filters_path, [(term.key, term.value)], [lambda: term_sql(term)])


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(term=terms(path_ops=BROKEN_PATH_OPS, paths=1))
def test_path_pattern_and_array_operators_equal_the_sqlite_oracle(
    live: LiveApp, filters_path: Path, term: Term
) -> None:
    check(live, filters_path, [(term.key, term.value)], [lambda: term_sql(term)])


# ---------------------------------------------------------------------------------------
# Fixed examples


def stored(path: Path) -> list[tuple[int, str | None, str | None]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT id, t, j FROM things ORDER BY id").fetchall()
    finally:
        conn.close()


def parsed(path: Path, text: str | None) -> object:
    """What `_json` must send: the JSON value where SQLite's json_valid says it is JSON."""
    if text is None:
        return None
    conn = sqlite3.connect(path)
    try:
        valid = conn.execute("SELECT json_valid(?)", (text,)).fetchone()[0]
    finally:
        conn.close()
    return json.loads(text) if valid else text


def test_json_sends_valid_json_text_parsed_and_anything_else_as_the_string(
    live: LiveApp, filters_path: Path
) -> None:
    rows = stored(filters_path)
    expected = [
        {"id": i, "t": parsed(filters_path, t), "j": parsed(filters_path, j)} for i, t, j in rows
    ]
    assert any(isinstance(r["j"], str) for r in expected)  # some text is not JSON
    assert any(isinstance(r["j"], dict) for r in expected)
    page = live.json("/api/tables/things/rows?_json=j,t&_select=id,t,j&_limit=1000")
    assert page["rows"] == expected
    arrays = live.json(
        "/api/tables/things/rows?_json=j&_json=t&_select=id,t,j&_shape=arrays&_limit=1000"
    )
    assert arrays["rows"] == [[r["id"], r["t"], r["j"]] for r in expected]
    lines = live.get("/api/tables/things/rows?_json=j,t&_select=id,t,j&_format=ndjson").body
    assert [json.loads(line) for line in lines.splitlines()] == expected
    one = live.json("/api/tables/things/rows/19?_json=j")["row"]
    assert one["t"] == "1" and one["j"] == expected[18]["j"]  # only the columns named
    plain = live.json("/api/tables/things/rows?_select=id,j&_limit=1000")["rows"]
    assert [r["j"] for r in plain] == [j for _, _, j in rows]  # without _json: the text


def test_json_path_on_text_that_is_not_json_matches_nothing_and_never_fails(
    live: LiveApp, filters_path: Path
) -> None:
    conn = sqlite3.connect(filters_path)
    invalid = {i for (i,) in conn.execute("SELECT id FROM things WHERE NOT json_valid(j) IS 1")}
    conn.close()
    assert len(invalid) > 5
    for key in ("j->a__isnull", "j->a__notnull"):
        status, ids = api_ids(live, [(key, "true")])
        assert status == 200 and not invalid & set(ids), key
    status, ids = api_ids(live, [("j->a__notin", "1")])
    assert status == 200 and not invalid & set(ids)


def test_values_needing_quotes_round_trip_through_or(live: LiveApp, filters_path: Path) -> None:
    for value in ["a,b", "x(y)", 'q"uote', "back\\slash", 'ünï,("\\)', "(", ")", '"', "\\"]:
        status, ids = api_ids(live, [("_or", f"(t__exact.{quoted(value, False)})")])
        expected = [i for i, t, _ in stored(filters_path) if t == value]
        assert (status, ids) == (200, expected) and expected, value


def test_path_value_with_underscores_is_a_string(tmp_path: Path) -> None:
    path = tmp_path / "underscore.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, j TEXT)")
    conn.executemany("INSERT INTO things VALUES (?, ?)", [(1, '{"s": "1_0"}'), (2, '{"s": 10}')])
    conn.commit()
    conn.close()
    app = LiveApp(Settings(database=path))
    try:
        assert app.json("/api/tables/things/rows?j->s=1_0&_select=id")["rows"] == [{"id": 1}]
        contains = app.json("/api/tables/things/rows?j__arraycontains=1_0&_select=id")
        assert contains["rows"] == []
    finally:
        app.close()


@pytest.mark.parametrize(
    "key", ["j->s__contains", "j->s__endswith", "j->arr__arraycontains", "j->arr__arraynotcontains"]
)
def test_path_pattern_and_array_operators_answer(live: LiveApp, key: str) -> None:
    response = live.get(f"/api/tables/things/rows?{key}=1&_select=id")
    assert response.status == 200, response.body[:300]


def test_csv_with_json_holds_each_cell_s_text_as_stored(live: LiveApp, filters_path: Path) -> None:
    """`_json` on a CSV export: the cell is the column's text, which is the JSON (valid or
    not), never a Python rendering of a parsed value."""
    url = "/api/tables/things/rows?_json=j&_select=id,j&_format=csv&_limit=1000"
    response = live.get(url)
    assert response.status == 200 and response.content_type.startswith("text/csv")
    cells = {int(r[0]): r[1] for r in list(csv.reader(io.StringIO(response.body.decode())))[1:]}
    conn = sqlite3.connect(filters_path)
    stored = {i: "" if j is None else j for i, j in conn.execute("SELECT id, j FROM things")}
    conn.close()
    assert cells == stored
