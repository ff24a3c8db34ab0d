"""Red team, round 2: every request here was tried against sqlapi as an attacker would.
Hidden columns and denied tables must not be readable or inferable through any construct
of client SQL; a client mistake is a 400, never a 5xx; no request can stall the server or
swell it; a 304 only ever answers what the caller may read."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest

from sqlapi.config import Settings, load_settings, sample_database
from tests.attacked import (
    BADGE_ID,
    BOOKS_KEY,
    DIARY,
    FULL_KEY,
    PROFILE_EMAIL,
    SECRETS,
    TOKEN,
    build_attacked,
)
from tests.fixtures import LiveApp
from tests.helpers import write
from tests.servers import fetch, in_process

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_attacked(tmp_path_factory.mktemp("redteam"))


@pytest.fixture(scope="module")
def hidden_values(attacked: tuple[Path, Path]) -> list[str]:
    """Every value the configuration hides: members' emails, loans, the hidden FTS column
    and the denied FTS table's words."""
    conn = sqlite3.connect(attacked[0])
    emails = [r[0] for r in conn.execute("SELECT email FROM members")]
    conn.close()
    return [*emails, *SECRETS, *DIARY, PROFILE_EMAIL, TOKEN, str(BADGE_ID)]


@pytest.fixture(scope="module")
def live(attacked: tuple[Path, Path]) -> Iterator[LiveApp]:
    path, config = attacked
    app = LiveApp(load_settings(config, database=path))
    yield app
    app.close()


def get(live: LiveApp, url: str, key: str = FULL_KEY, **headers: str):  # type: ignore[no-untyped-def]
    return live.get(url, headers={"Authorization": f"Bearer {key}", **headers})


def sql(live: LiveApp, statement: str):  # type: ignore[no-untyped-def]
    return get(live, "/api/sql?" + urlencode({"sql": statement}))


def assert_problem(response, statuses: tuple[int, ...] = (400, 403)) -> None:  # type: ignore[no-untyped-def]
    assert response.status in statuses, (response.status, response.body[:300])
    assert response.content_type == "application/problem+json"
    assert response.json()["status"] == response.status


# Each must be refused: it reads, compares, sorts, groups, searches or aggregates a hidden
# column, or reads a denied table, however it is written.
SIDE_DOORS = [
    "SELECT id FROM members JOIN (SELECT '{email}' AS email) USING (email)",
    "SELECT id FROM members NOT INDEXED JOIN (SELECT '{email}' AS email) USING (email)",
    "SELECT id FROM members NATURAL JOIN (SELECT '{email}' AS email)",
    "SELECT count(*) FROM members NOT INDEXED NATURAL JOIN (SELECT '{email}' AS email)",
    "SELECT m.id FROM members m LEFT JOIN (SELECT '{email}' AS email) x USING (email)",
    "SELECT id FROM members JOIN (SELECT 1 AS id, '{email}' AS email) USING (id, email)",
    "SELECT count(*) FROM members WHERE email = '{email}'",
    "SELECT id FROM members ORDER BY email LIMIT 1",
    "SELECT count(*) FROM members GROUP BY email",
    "SELECT min(email) FROM members",
    "SELECT length(email) FROM members",
    "SELECT sqlite_offset(email) FROM members",
    "SELECT id FROM members WHERE email LIKE 'a%'",
    "WITH m AS (SELECT * FROM members) SELECT count(*) FROM m",
    "SELECT * FROM (SELECT * FROM members)",
    "SELECT count(*) FROM loans",
    "SELECT EXISTS (SELECT 1 FROM loans)",
    "SELECT 1 FROM loans NATURAL JOIN (SELECT 1 AS member_id)",
    "SELECT id FROM books JOIN loans USING (id)",
    "SELECT b.id FROM books b JOIN loans USING (book_id, member_id)",
    "SELECT id FROM books WHERE id IN (SELECT book_id FROM loans)",
    "SELECT id FROM books UNION SELECT member_id FROM loans",
    "SELECT * FROM popular_books",
    "SELECT * FROM sqlite_schema",
    "SELECT 1 FROM sqlite_schema JOIN (SELECT 'loans' AS name) USING (name)",
    "SELECT * FROM sqlite_stat1",
    "SELECT 1 FROM sqlite_stat1 NATURAL JOIN (SELECT 'loans' AS tbl)",
    "SELECT * FROM sqlite_temp_schema",
    "SELECT rowid FROM notes WHERE notes MATCH 'secret : {secret}'",
    "SELECT rowid FROM notes('secret : {secret}')",
    "SELECT rowid FROM notes WHERE secret MATCH '{secret}'",
    "SELECT rowid FROM notes NATURAL JOIN (SELECT 'the {secret} sings' AS secret)",
    "SELECT title FROM notes WHERE notes MATCH '{secret}'",
    "SELECT highlight(notes, 1, '[', ']') FROM notes WHERE notes MATCH 'first'",
    "SELECT rowid, title FROM notes",  # an FTS query string can name any column: not at all
    "SELECT * FROM diary",
    "SELECT rowid FROM diary('{diary}')",
    "SELECT * FROM diary_data",
    "SELECT * FROM diary_idx",
    "SELECT * FROM diary_content",
    "SELECT * FROM diary_docsize",
    "SELECT * FROM diary_config",
    "SELECT 1 FROM diary_idx NATURAL JOIN (SELECT '0{diary}' AS term)",
    "SELECT * FROM notes_content",
    "SELECT * FROM pragma_table_info('members')",
    "SELECT * FROM pragma_index_list('loans')",
    "SELECT name FROM pragma_table_list",
    # a visible VIRTUAL generated column computed from a hidden one
    "SELECT profiles.id, email FROM (SELECT NULL AS email) AS s "
    "FULL JOIN profiles NOT INDEXED USING (email)",
    "SELECT id FROM profiles NOT INDEXED JOIN (SELECT '{profile}' AS email) USING (email)",
    "SELECT domain FROM profiles",
    # a hidden column in a WITHOUT ROWID primary key: a seek compares it
    "SELECT note FROM tokens JOIN (SELECT 'alice' AS usr, '{token}' AS token) USING (usr, token)",
    "SELECT note FROM tokens",
    # a hidden INTEGER PRIMARY KEY is the rowid
    "SELECT rowid, code FROM badges",
    "SELECT max(oid) FROM badges",
]


def test_client_sql_cannot_read_or_infer_hidden_columns_or_denied_tables(
    live: LiveApp, hidden_values: list[str]
) -> None:
    email = hidden_values[0]
    for template in SIDE_DOORS:
        statement = template.format(
            email=email, secret=SECRETS[0], diary=DIARY[0], profile=PROFILE_EMAIL, token=TOKEN
        )
        response = sql(live, statement)
        assert_problem(response)
        assert not any(v.encode() in response.body for v in hidden_values), statement


def test_client_sql_still_reads_everything_exposed(live: LiveApp) -> None:
    """The check refuses reads of what is hidden, not SQL as such."""
    readable = {
        "SELECT id, name, city FROM members ORDER BY name LIMIT 3": 3,
        "SELECT m.name, count(*) FROM members m JOIN members n USING (city) GROUP BY 1": None,
        "SELECT title FROM books WHERE isbn > '978-1' ORDER BY isbn LIMIT 5": 5,
        "SELECT count(*) FROM books_fts WHERE books_fts MATCH 'garden'": 1,
        "SELECT * FROM books_with_authors LIMIT 2": 2,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5) "
        "SELECT x FROM c": 5,
        "SELECT value FROM json_each('[1, 2, 3]')": 3,
        "SELECT b.title, g.name FROM books b JOIN book_genres bg ON bg.book_id = b.id "
        "JOIN genres g ON g.id = bg.genre_id LIMIT 4": 4,
    }
    for statement, count in readable.items():
        response = sql(live, statement)
        assert response.status == 200, (statement, response.body[:300])
        if count is not None:
            assert len(response.json()["rows"]) == count, statement


def test_duplicate_result_names_keep_every_value(live: LiveApp) -> None:
    body = sql(live, "SELECT a.id, b.id, a.id AS 'id:1' FROM books a, books b LIMIT 1").json()
    assert body["columns"] == ["id", "id:2", "id:1"]
    (row,) = body["rows"]
    assert len(row) == 3 and row["id"] == row["id:1"]


BUILDERS = [
    "SELECT printf('%.*c', 100000000, 'x')",
    "SELECT length(printf('%.*c', 100000000, 'x'))",
    "SELECT zeroblob(1000000000)",
    "SELECT randomblob(1000000000)",
    "SELECT replace(zeroblob(200000), x'00', 'abcdef')",
    "SELECT group_concat(printf('%.*c', 200000, 'x')) FROM books",
    "WITH RECURSIVE c(s) AS (SELECT 'x' UNION ALL SELECT s || s FROM c) SELECT length(s) FROM c",
]


def test_no_statement_builds_values_beyond_the_client_limit(live: LiveApp) -> None:
    for statement in BUILDERS:
        started = time.monotonic()
        response = sql(live, statement)
        assert response.status < 500, (statement, response.body[:300])
        if response.status == 200:  # one value of at most 256 KiB, JSON-escaped at worst
            assert len(response.body) < 6 * 256 * 1024 + 1000, statement
        assert time.monotonic() - started < 5, statement  # not the 26 s of before


CLIENT_MISTAKES = [
    "SELECT 1 ORDER BY 2", "SELECT 1 UNION SELECT 1, 2", "SELECT json('{')",
    "SELECT abs(-9223372036854775807 - 1)", "SELECT sum(x) FROM (SELECT 9223372036854775807 AS x "
    "UNION ALL SELECT 1)", "SELECT nosuchfunction(1)", "SELEC 1", "SELECT 'unterminated",
    "SELECT * FROM nosuchtable", "SELECT nosuchcolumn FROM books", "SELECT substr()",
    "SELECT count(*) FROM books GROUP BY 3", "SELECT id FROM books, authors",
    "SELECT sum(count(*)) FROM books", "SELECT (", "SELECT 1 LIMIT 'a'",
    "SELECT json_extract('{}', '$[')", "SELECT likelihood(1, 2)", "SELECT :missing",
    "SELECT char(55296)", "EXPLAIN SELECT 1", "BEGIN", "PRAGMA user_version",
]  # fmt: skip


def test_client_sql_mistakes_are_400s_never_retry_later(live: LiveApp) -> None:
    for statement in CLIENT_MISTAKES:
        response = sql(live, statement)
        assert response.status < 500, (statement, response.body[:300])
        assert "retry-after" not in response.headers, statement
        if response.status >= 400:
            assert_problem(response)


def forged(payload: object) -> str:
    import base64

    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_forged_cursors_are_400s_everywhere(live: LiveApp) -> None:
    page = get(live, "/api/tables/books/rows?_limit=1").json()
    fingerprint = json.loads(__import__("base64").urlsafe_b64decode(page["next"] + "=="))[0]
    cursors = [
        forged([fingerprint, "o", 2**63]),
        forged([fingerprint, "o", 2**62 + 1]),
        forged([fingerprint, "k", [2**64]]),
        forged([fingerprint, "k", [-(2**63) - 1]]),
        __import__("base64").urlsafe_b64encode(b"[" * 3000).decode(),
        "W" * 100_000,
    ]
    paths = [
        "/api/tables/books/rows", "/api/tables/books/columns/year", "/api/data/title",
        "/api/tables/books_with_authors/rows", "/api/queries/books_by_year?year=2001",
    ]  # fmt: skip
    for cursor in cursors:
        for path in paths:
            joiner = "&" if "?" in path else "?"
            response = get(live, f"{path}{joiner}_after={quote(cursor)}")
            assert_problem(response, (400,))
    assert_problem(get(live, f"/api/tables/books/rows?_offset={2**63}"), (400,))


def test_too_many_filters_and_overlong_patterns_are_400s(live: LiveApp) -> None:
    many = "&".join(f"year__not={i}" for i in range(1001))
    assert_problem(get(live, f"/api/tables/books/rows?{many}"), (400,))
    for op in ("contains", "startswith", "endswith", "like", "glob"):
        response = get(live, f"/api/tables/essays/rows?body__{op}=" + "a" * 50_000)
        assert_problem(response, (400,))
        assert response.json()["type"].endswith("too-large")


def test_a_304_only_answers_what_the_caller_may_read(live: LiveApp) -> None:
    star = {"If-None-Match": "*"}
    assert get(live, "/api/tables/books/rows", key=BOOKS_KEY, **star).status == 304
    for url, status in [
        ("/api/tables/genres/rows", 403),
        ("/api/tables/genres", 403),
        ("/api/tables/nosuch/rows", 404),
        ("/api/tables/loans/rows", 404),
        ("/api/sql?sql=SELECT+1", 403),
        ("/api/queries/books_by_year?year=1", 403),
    ]:
        response = get(live, url, key=BOOKS_KEY, **star)
        assert response.status == status, (url, response.status)
        assert response.content_type == "application/problem+json"
    unauthenticated = live.get("/api/tables/books/rows", headers=star)
    assert unauthenticated.status == 401


def test_metrics_are_never_cached(tmp_path: Path) -> None:
    live = LiveApp(Settings(database=sample_database(), immutable=True))
    try:
        first = live.get("/metrics")
        assert first.status == 200 and "etag" not in first.headers
        assert "immutable" not in first.headers.get("cache-control", "")
        again = live.get("/metrics", headers={"If-None-Match": "*"})
        assert again.status == 200
    finally:
        live.close()


def test_the_event_stream_bound_is_exact_under_a_burst(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    write(path, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
    with in_process(Settings(database=path, max_event_streams=10)) as server:
        import http.client

        statuses: list[int] = []
        connections: list[http.client.HTTPConnection] = []
        lock = threading.Lock()

        def open_stream() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", "/api/tables/t/events")
            response = connection.getresponse()
            with lock:
                statuses.append(response.status)
                connections.append(connection)

        threads = [threading.Thread(target=open_stream) for _ in range(25)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        try:
            assert sorted(statuses) == [200] * 10 + [503] * 15
            assert server.app.services.subscribers.open == 10
        finally:
            for connection in connections:
                connection.close()


HOSTILE_PATTERN = "ab" * 126 + "c"  # almost matches everywhere in 'abab...': the worst LIKE


def fetch_quietly(url: str, headers: dict[str, str] | None = None, timeout: float = 30) -> None:
    """A client that may give up (its timeout) before the answer comes."""
    with contextlib.suppress(OSError):
        fetch(url, headers=headers, timeout=timeout)


def _threads() -> int:
    """Threads running SQLite statements (aiosqlite gives each connection one)."""
    return sum("_connection_worker_thread" in t.name for t in threading.enumerate())


def test_no_thread_outlives_its_request_by_more_than_the_time_limit(
    attacked: tuple[Path, Path],
) -> None:
    """Clients that give up at once leave nothing running past the time limit: the SQL
    connection's thread ends, and its place under max_exports is given back only then
    (so never more statements run than max_exports, however many clients hang up)."""
    path, config = attacked
    settings = load_settings(config, database=path, time_limit_ms=1000, max_exports=4)
    # One instr() step as long as client SQL's value limit allows (0.3 s), which nothing
    # can interrupt; four at once on two cores take twice that.
    slow = (
        "SELECT instr(x, substr(x, 1, 125000) || 'c') "
        "FROM (SELECT printf('%.*c', 250000, 'a') AS x)"
    )
    with in_process(settings) as server:
        before = _threads()
        url = f"{server.url}/api/sql?" + urlencode({"sql": slow})
        auth = {"Authorization": f"Bearer {FULL_KEY}"}
        clients = [
            threading.Thread(target=fetch_quietly, args=(url, auth, 0.05)) for _ in range(24)
        ]
        for client in clients:
            client.start()
        most = 0
        while any(client.is_alive() for client in clients):
            most = max(most, _threads() - before)
            time.sleep(0.005)
        gone = time.monotonic()
        db = server.app.services.db
        while db.open_streams or _threads() > before:
            assert time.monotonic() - gone < 1.0 + 1.0, (db.open_streams, _threads(), before)
            most = max(most, _threads() - before)
            time.sleep(0.005)
        # max_exports statements at once, and at most one thread ending as the next starts
        assert 0 < most <= 4 + 1
        assert fetch(f"{server.url}/api/sql?sql=SELECT+1", headers=auth)[0] == 200


def _peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


MEMORY_HOSTILE = [
    "/api/sql?" + urlencode({"sql": "SELECT " + ", ".join(["zeroblob(262000)"] * 100) +
                                    " FROM books LIMIT 1000"}),
    "/api/sql?" + urlencode({"sql": "SELECT CASE WHEN id < 3 THEN 'x' ELSE "
                                    "printf('%.*c', 262000, 'y') END, * FROM books"}),
    "/api/sql?" + urlencode({"sql": "SELECT randomblob(262000) FROM books, books LIMIT 1000"}),
    "/api/sql?" + urlencode({"sql": "SELECT printf('%.*c', 100000000, 'x')"}),
    "/api/tables/essays/rows?_limit=1000",
    "/api/tables/essays/rows?_format=ndjson",
    "/api/tables/essays/columns/body",
]  # fmt: skip
PEAK_RSS_BOUND_MIB = 600  # docs/security.md: the bound, with 16 hostile requests at once


def test_refusals_never_tell_hidden_or_denied_from_absent(live: LiveApp) -> None:
    """Denied tables, hidden columns and names the file lacks get one and the same answer."""
    pairs = [
        ("SELECT 1 FROM loans", "SELECT 1 FROM loans_nope"),
        ("SELECT member_id FROM loans", "SELECT zzz FROM loans_nope"),
        ("SELECT email FROM members", "SELECT emailx FROM members"),
        ("SELECT 1 FROM diary_content", "SELECT 1 FROM diary_nope"),
        ("SELECT id FROM members NOT INDEXED JOIN (SELECT 'x' AS email) USING (email)",
         "SELECT id FROM members JOIN (SELECT 'x' AS emailx) USING (emailx)"),
    ]  # fmt: skip
    for denied, absent in pairs:
        first, second = sql(live, denied), sql(live, absent)
        assert (first.status, first.body) == (second.status, second.body), (denied, absent)
        assert_problem(first, (403,))


def test_if_none_match_star_is_a_304_only_for_an_answer_that_exists(live: LiveApp) -> None:
    star = {"If-None-Match": "*"}
    assert get(live, "/api/tables/books/rows/1", **star).status == 304
    for url, status in [
        ("/api/tables/books/rows/999999", 404),
        ("/api/tables/members/rows?email=x", 400),
        ("/api/tables/books/rows?_limit=abc", 400),
        ("/api/sql?" + urlencode({"sql": "SELECT email FROM members"}), 403),
    ]:
        assert get(live, url, **star).status == status, url


def test_merged_slashes_are_not_redirected(live: LiveApp) -> None:
    response = get(live, "/api//tables")
    assert response.status == 404 and response.content_type == "application/problem+json"


def test_pattern_filters_on_huge_values_stay_within_one_bounded_step(live: LiveApp) -> None:
    """A non-prefix pattern looks only at values up to 16 MiB / its length: a 254-character
    GLOB never scans the 1 MB essays (answered at once, no match); a short one does."""
    started = time.monotonic()
    glob = "*" + "[ab]" * 63 + "c"
    response = get(live, f"/api/tables/essays/rows?_select=id&body__glob={quote(glob)}")
    assert response.status == 200 and response.json()["rows"] == []
    assert time.monotonic() - started < 2
    short = get(live, "/api/tables/essays/rows?_select=id&body__contains=baba")
    assert len(short.json()["rows"]) == 6
    prefix = get(live, "/api/tables/essays/rows?_select=id&body__startswith=abab")
    assert len(prefix.json()["rows"]) == 6  # a prefix costs only itself: never bounded


def test_a_client_that_stops_reading_loses_its_export(attacked: tuple[Path, Path]) -> None:
    import socket

    path, _ = attacked
    settings = Settings(database=path, stall_timeout_s=1.0)
    with in_process(settings) as server:
        readers = []
        for _ in range(3):
            reader = socket.create_connection(("127.0.0.1", server.port))
            reader.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            reader.sendall(b"GET /api/tables/essays/rows?_format=ndjson HTTP/1.1\r\n"
                           b"Host: x\r\n\r\n")  # fmt: skip
            readers.append(reader)
        db = server.app.services.db
        try:
            started = time.monotonic()
            while not db.open_streams:
                assert time.monotonic() - started < 10
                time.sleep(0.02)
            while db.open_streams:  # nobody reads: cut after the stall timeout
                assert time.monotonic() - started < 1.0 + 10, db.open_streams
                time.sleep(0.05)
        finally:
            for reader in readers:
                reader.close()
