"""Random schemas over a filtered table: views (plain, USING, NATURAL JOIN, count(*), a
correlated subquery), full-text indexes (of the table, of a view, of an index) and tables
that triggers fill, stacked on one another; random callers. No row outside a caller's
policy ever appears: an object that reads the filtered table answers only what the
policy lets through (the table itself, a full-text index of it) or 403, naming it."""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlapi.auth.tokens import mint_token
from sqlapi.config import Settings
from tests.fixtures import LiveApp

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too

SECRET = "exposure-property-secret-" * 2
OWNERS = ("a", "b", "c")
ROWS = [(i, OWNERS[i % 3], f"w{i}x") for i in range(1, 13)]
KINDS = ("view", "using", "natural", "count", "correlated", "index", "filled")


@dataclass(frozen=True)
class Derived:
    name: str
    kind: str
    source: str  # "p", "q" or an earlier derived object

    def ddl(self) -> list[str]:
        src, n = self.source, self.name
        if self.kind == "view":
            return [f"CREATE VIEW {n} AS SELECT id, word FROM {src}"]
        if self.kind == "using":
            return [f"CREATE VIEW {n} AS SELECT s.id, s.word FROM {src} AS s JOIN q USING (id)"]
        if self.kind == "natural":
            return [f"CREATE VIEW {n} AS SELECT id, word FROM {src} NATURAL JOIN q"]
        if self.kind == "count":
            return [f"CREATE VIEW {n} AS SELECT count(*) AS id, 'none' AS word FROM {src}"]
        if self.kind == "correlated":
            return [
                f"CREATE VIEW {n} AS SELECT q.id, "
                f"(SELECT s.word FROM {src} AS s WHERE s.id = q.id) AS word FROM q"
            ]
        if self.kind == "index":
            return [
                f"CREATE VIRTUAL TABLE {n} USING fts5(word, content='{src}', content_rowid='id')",
                f"INSERT INTO {n}({n}) VALUES ('rebuild')",
            ]
        return [  # filled: a table a trigger on the source's base table keeps a copy in
            f"CREATE TABLE {n} (id INTEGER PRIMARY KEY, word TEXT)",
            f"INSERT INTO {n} SELECT id, word FROM {src}",
        ]


@st.composite
def schemas(draw: st.DrawFn) -> list[Derived]:
    made: list[Derived] = []
    for number in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(KINDS))
        usable = [d.name for d in made if d.kind != "index"]  # an index has no `id` column
        source = draw(st.sampled_from(["p", "q", *usable]))
        if kind == "filled" and source not in ("p", "q"):
            source = "p"
        made.append(Derived(f"d{number}", kind, source))
    return made


def reaches_p(name: str, made: dict[str, Derived]) -> bool:
    while name in made:
        name = made[name].source
    return name == "p"


def build(path: Path, made: list[Derived], rows: list[tuple[int, str, str]] = ROWS) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE p (id INTEGER PRIMARY KEY, owner TEXT NOT NULL, word TEXT NOT NULL);
        CREATE TABLE q (id INTEGER PRIMARY KEY, word TEXT);
        """
    )
    for derived in made:
        if derived.kind == "filled":
            conn.execute(f"CREATE TABLE {derived.name} (id INTEGER PRIMARY KEY, word TEXT)")
            conn.execute(
                f"CREATE TRIGGER {derived.name}_fill AFTER INSERT ON {derived.source} BEGIN "
                f"INSERT INTO {derived.name} VALUES (new.id, new.word); END"
            )
    conn.executemany("INSERT INTO p VALUES (?, ?, ?)", rows)
    conn.executemany("INSERT INTO q VALUES (?, ?)", [(i, f"q{i}") for i in range(1, 13, 2)])
    for derived in made:
        if derived.kind != "filled":
            for statement in derived.ddl():
                conn.execute(statement)
    conn.commit()
    conn.close()


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(made=schemas(), caller=st.sampled_from([*OWNERS, "z"]))
def test_no_answer_depends_on_a_row_outside_the_callers_policy(
    made: list[Derived], caller: str
) -> None:
    """Every object answers the caller exactly as it answers, unfiltered, over a copy of
    the file holding only the caller's rows — or refuses (403 naming the table, or not
    served at all). The table itself and its full-text index must answer."""
    with tempfile.TemporaryDirectory() as folder:
        full, own = Path(folder) / "full.db", Path(folder) / "own.db"
        build(full, made)
        build(own, made, [row for row in ROWS if row[1] == caller])
        policy = {"p": {"row_filter": {"owner": "sub"}}}
        jwt = {"jwt": {"secret": SECRET, "algorithms": ["HS256"]}}
        served = LiveApp(Settings.model_validate({"database": full, "auth": jwt, "tables": policy}))
        oracle = LiveApp(Settings(database=own))
        try:
            check(served, oracle, made, caller)
        finally:
            served.close()
            oracle.close()


def check(served: LiveApp, oracle: LiveApp, made: list[Derived], caller: str) -> None:
    headers = {"Authorization": "Bearer " + mint_token(SECRET, {"sub": caller})}
    by_name = {d.name: d for d in made}
    skipped = {s["name"] for s in served.get("/api", headers).json()["skipped"]}
    for name in ["p", *by_name]:
        exact = name == "p" or (by_name[name].kind == "index" and by_name[name].source == "p")
        for url in (f"/api/tables/{name}/rows?_limit=1000", f"/api/tables/{name}/aggregate"):
            response = served.get(url, headers)
            if name in skipped:
                assert response.status == 404, (name, made)
                continue
            if response.status == 403 and not exact:
                assert reaches_p(name, by_name), (name, made)
                assert "'p'" in response.json()["detail"]
                continue
            assert response.status == 200, (name, response.status, response.body[:300])
            assert response.json()["rows"] == oracle.json(url)["rows"], (name, url, made)
