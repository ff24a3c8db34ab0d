"""Every object of every real file is served exactly, or skipped with its reason: the
files of tests/corpus.py, on whichever SQLite this run uses (.ci/run runs this module on
the platform's and on a current one)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sqlapi.config import Settings
from sqlapi.model.names import path_segment
from tests import corpus, oracle
from tests.fixtures import LiveApp

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too

# What each file holds that is not served, and why (a reason's words).
NOT_SERVED: dict[str, dict[str, str]] = {
    "proj": {},
    "chinook": {},
    "django": {},
    "sqlite_utils": {},
    "mbtiles": {},
    "modern": {
        "broken": "no such table",
        "pages": "module 'dbstat' is not served",
        "geo": "module 'spatialite_index' is not available",
        "geo_node": "whose module is not available",
    },
}


def _shared(name: str) -> Callable[[Path], Path]:
    def found(_: Path) -> Path:
        path = corpus.SHARED / name
        if not path.exists():
            pytest.skip(f"shared/data/{name} is not beside this checkout")
        return path

    return found


BUILDERS: dict[str, Callable[[Path], Path]] = {
    "proj": _shared("proj.db"),
    "chinook": _shared("chinook.sqlite"),
    "django": corpus.build_django,
    "sqlite_utils": corpus.build_sqlite_utils,
    "mbtiles": corpus.build_mbtiles,
    "modern": corpus.build_modern,
}


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Path, LiveApp]]:
    name = request.param
    path = BUILDERS[name](tmp_path_factory.mktemp(name) / f"{name}.db")
    live = LiveApp(Settings(database=path, immutable=path.is_relative_to(corpus.SHARED)))
    yield name, path, live
    live.close()


def objects(path: Path) -> dict[str, str]:
    """Every table, view and virtual table of the file a user would call one (not SQLite's
    own, not a virtual table's own tables), with its kind."""
    conn = oracle.connect(path)
    try:
        shadow = {
            r[0] for r in conn.execute("SELECT name FROM pragma_table_list WHERE type = 'shadow'")
        }
        listed = conn.execute(
            "SELECT name, type, sql FROM sqlite_schema WHERE type IN ('table', 'view') "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        ).fetchall()
    finally:
        conn.close()
    return {
        name: "virtual table" if (sql or "").upper().startswith("CREATE VIRTUAL") else kind
        for name, kind, sql in listed
        if name not in shadow
    }


def every_row(live: LiveApp, rows_url: str) -> tuple[list[str], list[list[object]]]:
    url, rows, columns = rows_url + "?_shape=arrays&_limit=1000", [], []
    while url:
        body = live.json(url)
        columns, url = body["columns"], body["next_url"]
        rows += body["rows"]
    return columns, rows


def test_every_object_is_served_exactly_or_skipped_with_its_reason(
    served: tuple[str, Path, LiveApp],
) -> None:
    name, path, live = served
    index = live.json("/api")
    skipped = {s["name"]: s for s in index["skipped"]}
    listed = {t["name"]: t for t in live.json("/api/tables")["tables"]}
    found = objects(path)
    assert set(listed) | set(skipped) == set(found)
    assert not set(listed) & set(skipped)
    assert {n: skipped[n]["kind"] for n in skipped} == {n: found[n] for n in skipped}
    assert sorted(skipped) == sorted(NOT_SERVED[name])
    for item, words in NOT_SERVED[name].items():
        assert words in skipped[item]["reason"], skipped[item]
    for table in listed.values():
        detail = live.json("/api/tables/" + path_segment(table["name"]))
        columns, rows = every_row(live, table["rows_url"])
        declared = [c["type"] for c in detail["columns"] if c["name"] in columns]
        expected = oracle.rows_of(path, table["name"], columns, declared)
        assert oracle.canonical(rows) == oracle.canonical(expected), table["name"]
        assert detail["count"] == len(expected), table["name"]


def test_the_modern_constructs_answer_as_sqlite_does(tmp_path: Path) -> None:
    """JSON in generated columns and views, R*Tree filters, a second full-text index of a
    table, an index of a view, and a vocabulary table, through their endpoints."""
    path = corpus.build_modern(tmp_path / "modern.db")
    live = LiveApp(Settings(database=path))
    try:
        assert live.json("/api/tables/docs/rows/3")["row"]["title"] == "note 3"
        letters = live.json("/api/tables/doc_kinds/rows?kind=letter&_limit=100")["rows"]
        assert len(letters) == 15
        tags = live.json("/api/tables/doc_tags/aggregate?_group=tag&_sort=tag")["rows"]
        assert tags[0] == {"tag": "a", "count": 30}
        inside = live.json("/api/tables/places/rows?min_x__gte=10&max_y__lt=-20")["rows"]
        conn = sqlite3.connect(path)
        expected = conn.execute(
            "SELECT id FROM places WHERE min_x >= 10 AND max_y < -20 ORDER BY id"
        ).fetchall()
        assert [r["id"] for r in inside] == [r[0] for r in expected]
        assert live.json("/api/tables/places_i/rows/4")["row"] == {
            "id": 4, "x0": 4, "x1": 7, "label": "p4"
        }  # fmt: skip
        found = live.json("/api/tables/docs_fts_again/rows?_search=letter&_limit=100")["rows"]
        assert len(found) == 15
        assert (
            len(live.json("/api/tables/doc_texts_fts/rows?_search=memo&_limit=100")["rows"]) == 15
        )
        words = live.json("/api/tables/words/rows?term=letter")["rows"]
        assert words[0]["doc"] == 15
        assert live.json("/api/tables/docs/rows?_search=note&_count=true")["count"] == 30
        assert conn.execute("SELECT count(*) FROM audit").fetchone()[0] == 30
        conn.close()
    finally:
        live.close()
