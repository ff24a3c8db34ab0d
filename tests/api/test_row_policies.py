"""Row policies, differentially: for callers with different claims, every endpoint a row
can travel returns exactly the rows SQLite returns with the policy's WHERE clause — on a
generated database (orgs, projects filtered by org, tasks and notes pointing at
projects) and on the sample (members and loans)."""

from __future__ import annotations

import csv
import io
import json
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from sqlapi.auth.tokens import mint_token
from sqlapi.config import Settings, sample_database
from tests.api.test_events import EventReader
from tests.fixtures import LiveApp
from tests.helpers import write
from tests.servers import in_process

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too

SECRET = "row-policies-secret-" * 3
SCHEMA = """
CREATE TABLE orgs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY, org_id INTEGER NOT NULL REFERENCES orgs(id), name TEXT NOT NULL,
    budget REAL, started TEXT, meta TEXT
);
CREATE INDEX projects_org ON projects(org_id);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY, project_id INTEGER REFERENCES projects(id), title TEXT NOT NULL,
    done BOOLEAN NOT NULL
);
CREATE TABLE notes (
    code TEXT PRIMARY KEY, project_id INTEGER NOT NULL REFERENCES projects(id), body TEXT
) WITHOUT ROWID;
CREATE TABLE accounts (email TEXT PRIMARY KEY, org_id INTEGER, plan TEXT);
CREATE VIRTUAL TABLE projects_fts USING fts5(name, content='projects', content_rowid='id');
CREATE VIEW project_names AS SELECT id, name FROM projects;
CREATE VIEW open_tasks AS SELECT id, title FROM tasks WHERE NOT done;
"""
WORDS = ["alpha", "beta", "gamma", "delta", "omega"]


def build(path: Path) -> Path:
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA)
    conn.executemany("INSERT INTO orgs VALUES (?, ?)", [(i, f"org {i}") for i in range(1, 6)])
    for pid in range(1, 121):
        meta = json.dumps({"tier": rng.choice(["gold", "free"]), "tags": [rng.choice(WORDS)]})
        conn.execute(
            "INSERT INTO projects VALUES (?, ?, ?, ?, ?, ?)",
            (
                pid,
                rng.randint(1, 5),
                f"{rng.choice(WORDS)} {rng.choice(WORDS)} {pid}",
                rng.choice([None, rng.randint(0, 1000) + 0.5]),
                f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                meta,
            ),
        )
    for tid in range(1, 401):
        project = rng.choice([None, *range(1, 121)])
        conn.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?)",
            (tid, project, f"{rng.choice(WORDS)} task {tid}", rng.randint(0, 1)),
        )
    conn.executemany(
        "INSERT INTO notes VALUES (?, ?, ?)",
        [(f"n{i:03d}", rng.randint(1, 120), f"note {i}") for i in range(200)],
    )
    conn.executemany(
        "INSERT INTO accounts VALUES (?, ?, ?)",
        [(f"user{i}@example.org", i % 5 + 1, rng.choice(["pro", "free"])) for i in range(30)],
    )
    conn.execute("INSERT INTO projects_fts(projects_fts) VALUES ('rebuild')")
    conn.commit()
    conn.close()
    return path


def token(**claims: Any) -> str:
    return mint_token(SECRET, {"role": "member", **claims})


# Each caller's claims, and the orgs (or accounts) the policy lets it see.
CALLERS: dict[str, tuple[dict[str, Any], tuple[int, ...], tuple[str, ...]]] = {
    "one org": ({"org": 1, "email": "user0@example.org"}, (1,), ("user0@example.org",)),
    "two orgs": (
        {"org": ["2", "3"], "email": ["user1@example.org"]},
        (2, 3),
        ("user1@example.org",),
    ),
    "injection": ({"org": "1 OR 1=1", "email": "' OR ''='"}, (), ()),
    "no claim": ({}, (), ()),
    "wrong types": ({"org": {"id": 1}, "email": [["user0@example.org"]]}, (), ()),
    "float and bool": ({"org": True, "email": 1.5}, (), ()),
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveApp, Path]]:
    path = build(tmp_path_factory.mktemp("policies") / "orgs.db")
    settings = Settings.model_validate(
        {
            "database": path,
            "enable_sql": True,
            "auth": {"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
            "tables": {
                "projects": {"row_filter": {"org_id": "org"}},
                "accounts": {"row_filter": {"email": "email"}},
            },
        }
    )
    live = LiveApp(settings)
    yield live, path
    live.close()


def sqlite_rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def visible(orgs: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
    """The policy's WHERE over projects, as a hand-written statement would say it."""
    return f"org_id IN ({', '.join('?' * len(orgs)) or 'NULL'})", orgs


class As:
    """Requests as one caller."""

    def __init__(self, live: LiveApp, bearer: str) -> None:
        self.live = live
        self.headers = {"Authorization": f"Bearer {bearer}"}

    def get(self, url: str, **headers: str) -> Any:
        return self.live.get(url, {**self.headers, **headers})

    def json(self, url: str) -> Any:
        response = self.get(url)
        assert response.status == 200, (url, response.status, response.body[:300])
        return response.json()

    def every(self, url: str) -> list[Any]:
        """All rows, following next_url."""
        rows: list[Any] = []
        next_url: str | None = url
        while next_url:
            page = self.json(next_url)
            rows += page["rows"]
            next_url = page["next_url"]
        return rows


def as_caller(generated: tuple[LiveApp, Path], name: str) -> tuple[Path, As, str, tuple[int, ...]]:
    """(the file, requests as the caller called `name`, the WHERE its policy means)."""
    live, path = generated
    claims, orgs, _ = CALLERS[name]
    return (path, As(live, token(**claims)), *visible(orgs))


@pytest.mark.parametrize("name", list(CALLERS))
def test_every_endpoint_returns_exactly_the_policys_rows(
    generated: tuple[LiveApp, Path], name: str
) -> None:
    path, caller, where, params = as_caller(generated, name)

    def ids(sql: str, extra: tuple[Any, ...] = ()) -> list[int]:
        return [r[0] for r in sqlite_rows(path, sql, (*params, *extra))]

    # Pages, filters, sorts, _or, JSON paths, search.
    everything = ids(f"SELECT id FROM projects WHERE {where} ORDER BY id")
    assert [r["id"] for r in caller.every("/api/tables/projects/rows?_limit=7")] == everything
    assert [
        r["id"] for r in caller.every("/api/tables/projects/rows?_limit=5&_sort=-budget")
    ] == ids(f"SELECT id FROM projects WHERE {where} ORDER BY budget DESC, id")
    query = "_or=(budget__gt.800,meta->tier__exact.gold)&started__gte=2024-06-01"
    assert [r["id"] for r in caller.every(f"/api/tables/projects/rows?{query}")] == ids(
        f"SELECT id FROM projects WHERE {where} AND (budget > 800 OR "
        "json_extract(meta, '$.tier') = 'gold') AND started >= '2024-06-01' ORDER BY id"
    )
    url = "/api/tables/projects/rows?meta->tags__arraycontains=beta"
    assert [r["id"] for r in caller.every(url)] == ids(
        f"SELECT id FROM projects WHERE {where} AND EXISTS "
        "(SELECT 1 FROM json_each(meta, '$.tags') WHERE value = 'beta') ORDER BY id"
    )
    assert [r["id"] for r in caller.every("/api/tables/projects/rows?meta->tags.0=beta")] == ids(
        f"SELECT id FROM projects WHERE {where} AND json_extract(meta, '$.tags[0]') = 'beta' "
        "ORDER BY id"
    )
    assert [r["id"] for r in caller.every("/api/tables/projects/rows?_search=gamma")] == ids(
        f"SELECT id FROM projects WHERE {where} AND id IN "
        "(SELECT rowid FROM projects_fts WHERE projects_fts MATCH 'gamma') ORDER BY id"
    )
    # Counts: the table's, a page's, and with a filter.
    assert caller.json("/api/tables/projects")["count"] == len(everything)
    counted = caller.json("/api/tables/projects/rows?_count=true&budget__isnull=true")
    assert counted["count"] == len(ids(f"SELECT id FROM projects WHERE {where} AND budget IS NULL"))
    # One row: 200 exactly for the visible ones.
    for pid in (1, 2, 3, 40, 77, 120):
        status = caller.get(f"/api/tables/projects/rows/{pid}").status
        assert status == (200 if pid in everything else 404), pid
    # Column values with counts, and /api/data.
    facet = caller.json("/api/tables/projects/columns/org_id")["values"]
    assert {v["value"]: v["count"] for v in facet} == dict(
        sqlite_rows(path, f"SELECT org_id, count(*) FROM projects WHERE {where} GROUP BY 1", params)
    )
    data = caller.json("/api/data/name?_table=projects&_limit=1000")["values"]
    assert data == [
        r[0]
        for r in sqlite_rows(path, f"SELECT name FROM projects WHERE {where} ORDER BY id", params)
    ]
    # Exports.
    ndjson = caller.get("/api/tables/projects/rows?_format=ndjson").body.decode()
    assert [json.loads(line)["id"] for line in ndjson.splitlines()] == everything
    text = caller.get("/api/tables/projects/rows?_format=csv&_select=id").body.decode()
    assert [int(r["id"]) for r in csv.DictReader(io.StringIO(text))] == everything
    # Aggregates.
    groups = caller.json("/api/tables/projects/aggregate?_group=org_id&_agg=count,sum:budget")
    assert [(g["org_id"], g["count"], g["sum_budget"]) for g in groups["rows"]] == sqlite_rows(
        path,
        f"SELECT org_id, count(*), sum(budget) FROM projects WHERE {where} GROUP BY 1 ORDER BY 1",
        params,
    )
    months = caller.json("/api/tables/projects/aggregate?_group=month:started")["rows"]
    assert sum(g["count"] for g in months) == len(everything)


@pytest.mark.parametrize("name", ["one org", "two orgs", "no claim"])
def test_relations_and_related_filters_see_through_the_policy(
    generated: tuple[LiveApp, Path], name: str
) -> None:
    path, caller, where, params = as_caller(generated, name)
    shown = {
        r[0]: r[1]
        for r in sqlite_rows(path, f"SELECT id, name FROM projects WHERE {where}", params)
    }

    # Expansion (tasks are not filtered): a task's project, or null when not visible.
    tasks = caller.every("/api/tables/tasks/rows?_expand=project_id(id,name)&_limit=150")
    assert len(tasks) == 400
    for task in tasks:
        expected = task["project_id"] in shown
        assert (task["projects"] is not None) == expected, task
        if expected:
            assert task["projects"]["name"] == shown[task["project_id"]]

    # Embedding: each org's visible projects (and an org's projects of another org: none).
    for org in caller.every("/api/tables/orgs/rows?_embed=projects(id)&_embed_limit=100"):
        expected = [
            r[0]
            for r in sqlite_rows(
                path,
                f"SELECT id FROM projects WHERE {where} AND org_id = ? ORDER BY id",
                (*params, org["id"]),
            )
        ]
        assert [p["id"] for p in org["projects"]["rows"]] == expected

    # Embedding from a filtered parent: the parent's visible rows, each with all its notes.
    for project in caller.every("/api/tables/projects/rows?_embed=notes(code)&_embed_limit=100"):
        assert project["id"] in shown

    # Related filters through the filtered table match only its visible rows.
    url = "/api/tables/tasks/rows?" + urlencode({"project_id.name__contains": "alpha"})
    assert [t["id"] for t in caller.every(url)] == [
        r[0]
        for r in sqlite_rows(
            path,
            "SELECT id FROM tasks WHERE project_id IN "
            f"(SELECT id FROM projects WHERE {where} AND name LIKE '%alpha%') ORDER BY id",
            params,
        )
    ]
    # ...also inside an _or group, and with the related column's aggregate on tasks.
    url = "/api/tables/tasks/aggregate?" + urlencode(
        {"_or": "(project_id.budget__gt.900,project_id.budget__lt.50)"}
    )
    (total,) = caller.json(url)["rows"]
    assert (
        total["count"]
        == sqlite_rows(
            path,
            "SELECT count(*) FROM tasks WHERE project_id IN "
            f"(SELECT id FROM projects WHERE {where} AND (budget > 900 OR budget < 50))",
            params,
        )[0][0]
    )


def test_a_text_column_and_a_list_claim(generated: tuple[LiveApp, Path]) -> None:
    live, _ = generated
    for name, (claims, _, emails) in CALLERS.items():
        rows = As(live, token(**claims)).every("/api/tables/accounts/rows")
        assert [r["email"] for r in rows] == list(emails), name


def test_escape_routes_are_closed(generated: tuple[LiveApp, Path]) -> None:
    """What reads a filtered table is filtered with it or refused: its full-text index
    shows (and searches) only the caller's rows, by the index's rowid; a view over it
    answers 403 naming the table; /api/sql refuses the filtered tables however the
    statement reaches them."""
    live, path = generated
    caller = As(live, token(org=1))
    names = [t["name"] for t in caller.json("/api/tables")["tables"]]
    assert "project_names" not in names and "projects_fts" in names
    assert "open_tasks" in names and "projects" in names  # a view over open tables stays
    refused = caller.get("/api/tables/project_names/rows")
    assert refused.status == 403 and "'projects'" in refused.json()["detail"]
    assert caller.get("/api/data/name?_table=project_names").status == 403
    mine = {r[0] for r in sqlite_rows(path, "SELECT id FROM projects WHERE org_id = 1")}
    indexed = caller.every("/api/tables/projects_fts/rows?_limit=7")
    assert {r["rowid"] for r in indexed} == mine
    for word in WORDS:
        found = caller.every(f"/api/tables/projects_fts/rows?_search={word}")
        assert {r["rowid"] for r in found} <= mine
        counted = caller.json(f"/api/tables/projects_fts/aggregate?_search={word}")["rows"]
        assert counted == [{"count": len(found)}]
    for sql in (
        "SELECT * FROM projects",
        "SELECT count(*) FROM projects",
        "SELECT t.id FROM tasks t JOIN projects p ON p.id = t.project_id",
        "SELECT * FROM tasks WHERE project_id IN (SELECT id FROM projects WHERE org_id = 2)",
        "SELECT * FROM project_names",
        "SELECT * FROM projects_fts WHERE projects_fts MATCH 'alpha'",
        "SELECT email FROM accounts",
    ):
        response = caller.get("/api/sql?" + urlencode({"sql": sql}))
        assert response.status == 403, (sql, response.body[:200])
    assert caller.get("/api/sql?" + urlencode({"sql": "SELECT count(*) FROM tasks"})).status == 200
    listed = caller.json("/api/tables/projects")
    assert listed["count"] == len(caller.every("/api/tables/projects/rows"))


def test_another_callers_etag_is_answered_with_ones_own_rows(
    generated: tuple[LiveApp, Path],
) -> None:
    live, _ = generated
    first, second = As(live, token(org=1)), As(live, token(org=["2", "3"]))
    url = "/api/tables/projects/rows?_limit=5"
    answer = first.get(url)
    assert "authorization" in answer.headers["vary"].lower()
    assert answer.headers["cache-control"] == "no-cache"
    theirs = answer.headers["etag"]
    mine = second.get(url, **{"If-None-Match": theirs})
    assert mine.status == 200 and mine.headers["etag"] != theirs
    assert {r["org_id"] for r in mine.json()["rows"]} <= {2, 3}
    not_modified = first.get(url, **{"If-None-Match": theirs})
    assert not_modified.status == 304 and "authorization" in not_modified.headers["vary"].lower()
    refused = second.get("/api/tables/nowhere/rows")
    assert refused.status == 404 and "authorization" in refused.headers["vary"].lower()
    # A fresh token with the same claims is the same caller to a cache: a 304 still.
    again = As(live, mint_token(SECRET, {"role": "member", "org": 1, "jti": "another"}))
    assert again.get(url, **{"If-None-Match": theirs}).status == 304


# --- the sample: members and their loans ---------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Iterator[LiveApp]:
    settings = Settings.model_validate(
        {
            "database": sample_database(),
            "auth": {
                "jwt": {"secret": SECRET, "algorithms": ["HS256"], "anonymous_role": "anon"},
                "roles": {"member": {}, "anon": {"tables": ["books", "authors"]}},
            },
            "tables": {"loans": {"row_filter": {"member_id": "sub"}}},
            "queries": {
                "my_loans": {
                    "sql": "SELECT id FROM loans WHERE member_id = :claims.sub ORDER BY id"
                }
            },
        }
    )
    live = LiveApp(settings)
    yield live
    live.close()


@pytest.mark.parametrize("member", [471, 206, 9999])
def test_members_read_their_own_loans_everywhere(library: LiveApp, member: int) -> None:
    caller = As(library, token(sub=str(member)))
    own = [
        r[0]
        for r in sqlite_rows(
            sample_database(), "SELECT id FROM loans WHERE member_id = ? ORDER BY id", (member,)
        )
    ]
    assert [r["id"] for r in caller.every("/api/tables/loans/rows?_limit=3")] == own
    assert caller.json("/api/tables/loans")["count"] == len(own)
    assert [r["id"] for r in caller.every("/api/queries/my_loans")] == own
    for book in caller.every("/api/tables/books/rows?_embed=loans(id,member_id)&_limit=500"):
        assert {loan["member_id"] for loan in book["loans"]["rows"]} <= {member}
    if member != 9999:  # no such member: no row to embed into
        url = f"/api/tables/members/rows/{member}?_embed=loans(id)&_embed_limit=100"
        assert [loan["id"] for loan in caller.json(url)["row"]["loans"]["rows"]] == own
    totals = caller.json("/api/tables/loans/aggregate?_group=member_id")["rows"]
    assert totals == ([{"member_id": member, "count": len(own)}] if own else [])
    over_loans = caller.get("/api/tables/popular_books/rows")  # a view over loans
    assert over_loans.status == 403 and "'loans'" in over_loans.json()["detail"]


def test_the_anonymous_role_and_bad_credentials(library: LiveApp) -> None:
    assert library.get("/api/tables/books/rows?_limit=1").status == 200
    for path in ("/api/tables/loans/rows", "/api/tables/members/rows", "/api/queries/my_loans"):
        assert library.get(path).status == 403
    names = [t["name"] for t in library.json("/api/tables")["tables"]]
    assert names == ["authors", "books"]
    refused = library.get("/api/tables/books/rows", {"Authorization": "Bearer not.a.token"})
    assert refused.status == 401
    assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    unknown_role = library.get(
        "/api/tables/books/rows",
        {"Authorization": f"Bearer {mint_token(SECRET, {'role': 'admin'})}"},
    )
    assert unknown_role.status == 403


def test_an_event_stream_never_delivers_another_callers_row(tmp_path: Path) -> None:
    path = tmp_path / "loans.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = wal")
    conn.execute(
        "CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL, note TEXT)"
    )
    conn.executemany("INSERT INTO loans (member_id, note) VALUES (?, 'old')", [(1,), (2,)])
    conn.commit()
    conn.close()
    settings = Settings.model_validate(
        {
            "database": path,
            "auth": {"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
            "tables": {"loans": {"row_filter": {"member_id": "sub"}}},
        }
    )
    writer = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1])\n"
        "for i in range(30):\n"
        "    conn.execute('INSERT INTO loans (member_id, note) VALUES (?, ?)',\n"
        "                 (i % 3 + 1, f'new {i}'))\n"
        "    conn.commit()\n"
    )
    with in_process(settings) as server:
        one = EventReader(
            server, "/api/tables/loans/events", authorization=f"Bearer {token(sub='1')}"
        )
        two = EventReader(
            server, "/api/tables/loans/events", authorization=f"Bearer {token(sub=2)}"
        )
        subprocess.run([sys.executable, "-c", writer, str(path)], check=True, timeout=30)
        got_one, got_two = one.rows(10), two.rows(10)
        # Replayed after Last-Event-ID too: still only one's own rows.
        replay = EventReader(
            server,
            "/api/tables/loans/events",
            last_event_id="0",
            authorization=f"Bearer {token(sub=2)}",
        )
        replayed = replay.rows(11)
        for reader in (one, two, replay):
            reader.close()
    assert [json.loads(e["data"])["note"] for e in got_one] == [f"new {i}" for i in range(0, 30, 3)]
    assert {json.loads(e["data"])["member_id"] for e in got_one} == {1}
    assert {json.loads(e["data"])["member_id"] for e in got_two} == {2}
    assert len(got_two) == 10
    assert [json.loads(e["data"])["note"] for e in replayed] == ["old"] + [
        f"new {i}" for i in range(1, 30, 3)
    ]


def test_an_event_stream_ends_when_its_token_expires(tmp_path: Path) -> None:
    path = tmp_path / "loans.db"
    write(path, "CREATE TABLE loans (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL)")
    settings = Settings.model_validate(
        {
            "database": path,
            "keepalive_s": 60,
            "auth": {"jwt": {"secret": SECRET, "algorithms": ["HS256"]}},
            "tables": {"loans": {"row_filter": {"member_id": "sub"}}},
        }
    )
    short = mint_token(SECRET, {"sub": "1"}, expires_in_s=2)
    with in_process(settings) as server:
        reader = EventReader(server, "/api/tables/loans/events", authorization=f"Bearer {short}")
        assert reader.response.status == 200
        started = time.monotonic()
        body = reader.response.read()  # returns once the server ends the stream
        reader.close()
    assert body.startswith(b"retry:") and time.monotonic() - started < 30
