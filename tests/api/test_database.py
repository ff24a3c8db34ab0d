"""Read-only by construction, and the time limit."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from sqlapi.config import Settings
from sqlapi.model.errors import ProblemError
from sqlapi.model.values import Row
from sqlapi.store.database import Database
from sqlapi.store.exposure import expose
from sqlapi.store.inline import InlineRunner
from sqlapi.store.readonly import Authorizer, Limits, connect_readonly, make_authorizer
from sqlapi.store.stopped_statements import AFFECTED, StoppedStatements
from tests.conftest import sha256
from tests.fixtures import LiveApp
from tests.helpers import leased, make_db, make_wal_db, wait_for, write

WRITES = [
    "INSERT INTO plain VALUES ('x', 1, 1)",
    "UPDATE plain SET n = 0",
    "DELETE FROM plain",
    "DROP TABLE plain",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil (x)",
    "ALTER TABLE plain ADD COLUMN evil",
    "ATTACH DATABASE 'evil.db' AS evil",
    "VACUUM INTO 'evil.db'",
    "VACUUM",
    "PRAGMA journal_mode = WAL",
    "PRAGMA query_only = 0",
    "PRAGMA writable_schema = ON",
    "PRAGMA trusted_schema = ON",
    "SELECT load_extension('/tmp/evil')",
    "REINDEX",
    "ANALYZE",
    "BEGIN IMMEDIATE",
]


@pytest.mark.parametrize("sql", WRITES)
def test_connections_refuse_every_write(edge_path: Path, sql: str) -> None:
    conn = connect_readonly(edge_path, immutable=False)
    try:
        with pytest.raises(sqlite3.DatabaseError):
            conn.execute(sql)
    finally:
        conn.close()
    assert not (edge_path.parent / "evil.db").exists()


def test_reads_fts_and_recursive_ctes_are_allowed(edge_path: Path) -> None:
    conn = connect_readonly(edge_path, immutable=False)
    assert conn.execute("SELECT rowid FROM docs_fts WHERE docs_fts MATCH 'fox'").fetchall() == [
        (1,),
        (3,),
    ]
    assert conn.execute(
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c LIMIT 3) SELECT sum(x) FROM c"
    ).fetchone() == (6,)
    conn.close()


def test_a_missing_file_is_never_created(tmp_path: Path) -> None:
    with pytest.raises(sqlite3.OperationalError):
        connect_readonly(tmp_path / "missing.db", immutable=False)
    assert list(tmp_path.iterdir()) == []


def test_wal_database_bytes_unchanged_after_serving(tmp_path: Path) -> None:
    path = make_wal_db(tmp_path / "wal.db")
    before = sha256(path)
    live = LiveApp(Settings(database=path))
    assert [r["v"] for r in live.json("/api/tables/t/rows")["rows"]] == ["a", "b"]
    live.close()
    assert sha256(path) == before


def test_immutable_opens_create_nothing_even_for_wal(tmp_path: Path) -> None:
    path = make_wal_db(tmp_path / "wal.db")
    live = LiveApp(Settings(database=path, immutable=True))
    assert live.json("/api/tables/t/rows?_count=true")["count"] == 2
    live.close()
    assert [p.name for p in tmp_path.iterdir()] == ["wal.db"]


def test_slow_query_is_interrupted_and_the_server_stays_responsive(edge_path: Path) -> None:
    live = LiveApp(Settings(database=edge_path, time_limit_ms=300, pool_size=2))
    pool = live.app.services.db.pool

    async def scenario() -> tuple[list[int], bool, int, dict[str, object]]:
        slow = asyncio.ensure_future(live.client.get("/api/tables/slow/rows"))

        async def slow_query_running() -> None:  # it holds one of the two pool connections
            while leased(pool) != 1:
                await asyncio.sleep(0.001)

        await asyncio.wait_for(slow_query_running(), 5)
        others = [
            await live.client.get("/healthz"),
            await live.client.get("/api/tables/plain/rows"),
        ]
        still_running = not slow.done()  # the others were answered while the slow query ran
        answer = await slow
        body = json.loads(await answer.get_data())
        return [o.status_code for o in others], still_running, answer.status_code, body

    try:
        others, still_running, status, body = live.run(scenario())
        assert others == [200, 200] and still_running
        assert status == 400
        assert body["type"] == "urn:sqlapi:problem:time-limit" and body["time_limit_ms"] == 300
        for _ in range(4):  # the interrupted connections serve the next requests normally
            assert live.get("/api/tables/plain/rows").status == 200
    finally:
        live.close()


def test_cached_count_follows_commits_by_another_process(tmp_path: Path) -> None:
    path = make_wal_db(tmp_path / "live.db")
    live = LiveApp(Settings(database=path))
    try:
        url = "/api/tables/t/rows?_count=true"
        assert live.json(url)["count"] == 2
        write(path, "INSERT INTO t (v) VALUES ('c')")
        wait_for(lambda: live.json(url)["count"] != 2, what="the count to change")
        assert live.json(url)["count"] == 3
        assert [r["v"] for r in live.json("/api/tables/t/rows")["rows"]] == ["a", "b", "c"]
        values = "/api/tables/t/columns/v"  # distinct values are cached the same way
        assert {v["value"]: v["count"] for v in live.json(values)["values"]} == {
            "a": 1, "b": 1, "c": 1
        }  # fmt: skip
        write(path, "INSERT INTO t (v) VALUES ('c')")
        wait_for(lambda: live.json(values)["values"][0]["count"] != 1, what="the values to change")
        assert live.json(values)["values"][0] == {"value": "c", "count": 2}
    finally:
        live.close()


@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_commit_right_after_opening_is_a_new_version(tmp_path: Path, journal: str) -> None:
    """The watcher counts commits from the version the first request can read: it looks
    once while opening. Once `open` returns a request may read and cache an answer, so a
    commit right then is a change too (it was not, when the first look came later: a
    cached aggregate then answered for the old file until the next commit; seen in CI)."""
    path = make_db(tmp_path / "t.db", "t", journal=journal)

    async def scenario() -> tuple[int, int]:
        db = Database(path, poll_interval_s=3600)  # only the looks below, and open's own
        await db.open()
        try:
            write(path, "INSERT INTO t (title) VALUES ('t 3')")
            await db.look()
            committed = db.version
            await db.look()
            return committed, db.version
        finally:
            await db.close()

    assert asyncio.run(scenario()) == (1, 1)  # the commit, once; nothing after it


def test_identical_scans_asked_at_once_run_one_query(tmp_path: Path) -> None:
    path = make_wal_db(tmp_path / "scans.db")
    live = LiveApp(Settings(database=path))
    db = live.app.services.db
    queries: list[float] = []
    db.set_observer(queries.append)

    async def sixteen_at_once() -> list[int]:
        answers = await asyncio.gather(
            *(live.client.get("/api/tables/t/columns/v") for _ in range(16))
        )
        return [answer.status_code for answer in answers]

    try:
        assert live.run(sixteen_at_once()) == [200] * 16
        assert len(queries) == 1  # one GROUP BY answered all sixteen
    finally:
        live.close()


def test_a_slow_query_on_a_plain_table_still_meets_the_time_limit(tmp_path: Path) -> None:
    """Pages of real tables are tried on the event loop first, within a budget of a few
    milliseconds; a query that needs longer gives way to the pool and its time limit."""
    path = tmp_path / "sort.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.executemany(
        "INSERT INTO t (v) VALUES (?)", ((f"{(n * 7919) % 100003:06d}",) for n in range(300_000))
    )
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path, time_limit_ms=20))
    try:
        answer = live.get("/api/tables/t/rows?_sort=v&_offset=250000&_limit=5")  # a full sort
        assert answer.status == 400, answer.body
        assert answer.json()["type"] == "urn:sqlapi:problem:time-limit"
        assert live.json("/api/tables/t/rows?_limit=2")["rows"] == [
            {"id": 1, "v": "000000"}, {"id": 2, "v": "007919"}
        ]  # fmt: skip
    finally:
        live.close()


COUNT_TO = (
    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?) SELECT x FROM n"
)


def counting_authorizer(calls: list[object]) -> Authorizer:
    authorize = make_authorizer()

    def counting(*args: Any) -> int:
        calls.append(args)
        return authorize(*args)

    return counting


def test_a_statement_stopped_while_its_rows_are_read_stays_cached(
    edge_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the inline budget stops a query after its first rows, its next runs still use
    the compiled statement (Python 3.11 would otherwise compile it anew every time: for
    the embedding statement of a page, a tenth of a millisecond on every request)."""
    compiled: list[object] = []
    runner = InlineRunner(edge_path, True, Limits(), 5000, 10**8)
    runner.renew(counting_authorizer(compiled))
    monkeypatch.setattr("sqlapi.store.inline.INLINE_BUDGET_S", 0.2)
    assert runner.run(COUNT_TO, [10**9]) is None  # stopped after its first rows: the pool's now
    assert runner.run(COUNT_TO, [3]) == [(1,), (2,), (3,)]
    compiled.clear()
    assert runner.run(COUNT_TO, [4]) == [(1,), (2,), (3,), (4,)]
    assert compiled == []
    runner.close()


def test_a_statement_the_time_limit_stopped_stays_cached_on_the_pool(edge_path: Path) -> None:
    compiled: list[object] = []
    db = Database(
        edge_path, immutable=True, pool_size=1, time_limit_ms=200,
        authorizer=counting_authorizer(compiled),
    )  # fmt: skip

    async def scenario() -> None:
        await db.open()
        try:
            with pytest.raises(ProblemError, match="time limit"):
                await db.fetch_all(COUNT_TO, [10**9])
            assert await db.fetch_all(COUNT_TO, [3]) == [(1,), (2,), (3,)]
            compiled.clear()
            assert await db.fetch_all(COUNT_TO, [4]) == [(1,), (2,), (3,), (4,)]
            assert compiled == []
        finally:
            await db.close()

    asyncio.run(scenario())


only_311 = pytest.mark.skipif(not AFFECTED, reason="Python 3.12+ needs no workaround")
STOP = sqlite3.OperationalError("interrupted")


@only_311
def test_what_is_remembered_of_stopped_statements_stays_small() -> None:
    """However many different texts a client gets stopped, at most MOST short ones are
    remembered per connection, the least recently sent forgotten first (a text in use
    stays); a long one compiles anew instead."""
    stopped = StoppedStatements()
    stopped.stopped("SELECT 'hot'", STOP)
    for i in range(1000):
        stopped.stopped(f"SELECT {i}", STOP)
        assert stopped.text("SELECT 'hot'") != "SELECT 'hot'"  # sent between the others
    remembered = [i for i in range(1000) if stopped.text(f"SELECT {i}") != f"SELECT {i}"]
    assert remembered == list(range(1000 - StoppedStatements.MOST + 1, 1000))
    long = "SELECT 1" + " " * StoppedStatements.LONGEST
    stopped.stopped(long, STOP)
    assert stopped.text(long) == long


@only_311
def test_a_stopped_statement_keeps_its_meaning_and_its_column_names(edge_path: Path) -> None:
    """SQLite names an unaliased last column of a SELECT without FROM by its text to the
    end of the statement: what marks a stopped text must not change that."""
    stopped = StoppedStatements()
    conn = connect_readonly(edge_path, True)
    for sql in ("SELECT (SELECT 1 + 1)", "SELECT 1;", "SELECT 2 -- a comment", "SELECT 3 /* open"):
        before = conn.execute(sql)
        stopped.stopped(sql, STOP)
        after = conn.execute(stopped.text(sql))
        assert stopped.text(sql) != sql
        assert after.description == before.description
        assert after.fetchall() == before.fetchall()
    conn.close()


@only_311
def test_text_that_does_not_decode_is_not_a_stopped_statement() -> None:
    """Python's decoding fails after a step that succeeded: the statement is not stuck."""
    stopped = StoppedStatements()
    stopped.stopped("SELECT x FROM t", sqlite3.OperationalError("Could not decode to UTF-8"))
    assert stopped.text("SELECT x FROM t") == "SELECT x FROM t"


def answer_after_a_client_left(
    db: Database, sql: str, leaves: Callable[[], Awaitable[object]], within_s: float
) -> list[Row]:
    """Run `sql` on the pool, cancel it once `leaves()` returns (its client left), and
    answer `SELECT 1` on the same connection within `within_s`."""

    async def scenario() -> list[Row]:
        await db.open()
        try:
            left = asyncio.ensure_future(db.fetch_all(sql))
            await leaves()
            left.cancel()
            answer = await asyncio.wait_for(db.fetch_all("SELECT 1"), within_s)
            with contextlib.suppress(asyncio.CancelledError):
                await left
            return answer
        finally:
            await asyncio.wait_for(db.close(), 60)  # (a bounded failure, not a hang)

    return asyncio.run(scenario())


def test_a_query_cancelled_while_it_is_compiled_is_stopped_too(edge_path: Path) -> None:
    """A client that leaves while its statement is still being compiled on the pool's
    thread: an interrupt then finds nothing running, and SQLite forgets it when the
    statement's first step begins. The statement must still be stopped, and the
    connection serve the next request long before the statement would have ended."""
    compiling = threading.Event()
    authorize = make_authorizer()

    def slow_to_compile(action: int, *args: Any) -> int:
        if action == sqlite3.SQLITE_RECURSIVE and not compiling.is_set():
            compiling.set()
            time.sleep(0.3)  # the client leaves meanwhile
        return authorize(action, *args)

    db = Database(edge_path, immutable=True, pool_size=1, time_limit_ms=60_000,
                  authorizer=slow_to_compile)  # fmt: skip
    endless = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000000) "
        "SELECT count(*) FROM n"
    )

    leaves = partial(asyncio.to_thread, compiling.wait, 10)
    assert answer_after_a_client_left(db, endless, leaves, within_s=10) == [(1,)]


def test_a_query_cancelled_while_its_rows_are_read_is_stopped_at_once(edge_path: Path) -> None:
    """A client that leaves after the first rows, while the next ones take long: the
    statement is interrupted before its cursor is closed (closing waits for the step)."""
    db = Database(edge_path, immutable=True, pool_size=1, time_limit_ms=60_000)
    first_row_then_a_long_wait = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 200000000) "
        "SELECT x FROM n WHERE x = 1 OR x % 100000000 = 0"
    )

    leaves = partial(asyncio.sleep, 0.5)  # the first row is read; the second is far off
    assert answer_after_a_client_left(db, first_row_then_a_long_wait, leaves, within_s=5) == [(1,)]


def test_cancelled_queries_leave_their_connection_serving(edge_path: Path) -> None:
    """Two requests whose clients left in turn on the pool's one connection: the requests
    after them are answered (a cursor aiosqlite's thread kept from a cancelled statement
    kept an interrupt alive, and every later statement on the connection was stopped)."""
    db = Database(edge_path, immutable=True, pool_size=1, time_limit_ms=60_000)
    counting = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 30000000) "
        "SELECT count(*) FROM n"
    )

    async def scenario() -> list[list[Row]]:
        await db.open()
        try:
            for _ in range(2):
                left = asyncio.ensure_future(db.fetch_all(counting))
                await asyncio.sleep(0.1)
                left.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await left
                await asyncio.wait_for(asyncio.gather(*db.pool._closing), 10)
            return [await db.fetch_all("SELECT count(*) > 0 FROM sqlite_schema") for _ in range(3)]
        finally:
            await asyncio.wait_for(db.close(), 60)

    assert asyncio.run(scenario()) == [[(1,)]] * 3


def test_client_sql_whose_client_left_gives_back_its_place_at_once(edge_path: Path) -> None:
    """`/api/sql` cancelled while its one long step runs: the statement is interrupted
    before the request's closing COMMIT, which would wait behind it."""
    rules = expose(Settings(database=edge_path)).client_rules
    db = Database(edge_path, immutable=True, pool_size=1, time_limit_ms=60_000)
    counting = (
        "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300000000) "
        "SELECT count(*) FROM n"
    )

    async def scenario() -> int:
        await db.open()
        try:
            left = asyncio.ensure_future(db.run_client_sql(rules, counting, {}, 10))
            await asyncio.sleep(0.3)  # its step runs
            left.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(left, 5)
            await asyncio.wait_for(asyncio.gather(*db.pool._closing), 5)
            return db.open_streams
        finally:
            await asyncio.wait_for(db.close(), 60)

    assert asyncio.run(scenario()) == 0
