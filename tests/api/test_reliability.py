"""Reliability: the served file changes shape, is replaced, vanishes, turns unreadable or
is damaged, and sqlapi follows it without a restart, answering problems meanwhile."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlapi.config import Settings
from sqlapi.model.errors import ProblemError
from tests.fixtures import LiveApp
from tests.helpers import leased, make_db, wait_for, write
from tests.openapi_doc import parameters
from tests.servers import fetch, in_process


def names(body: bytes) -> set[str]:
    return {t["name"] for t in json.loads(body)["tables"]}


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[LiveApp, Path]]:
    path = make_db(tmp_path / "live.db", "books")
    app = LiveApp(Settings(database=path))
    yield app, path
    app.close()


def test_new_tables_and_columns_appear_without_a_restart(live: tuple[LiveApp, Path]) -> None:
    app, path = live
    assert app.json("/api/tables/books/rows")["rows"][0] == {"id": 1, "title": "books 0"}
    write(
        path,
        "ALTER TABLE books ADD COLUMN year INTEGER",
        "UPDATE books SET year = 1999 WHERE id = 2",
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO authors (name) VALUES ('Ursula')",
    )

    def listed() -> set[str]:
        return {t["name"] for t in app.json("/api/tables")["tables"]}

    wait_for(lambda: "authors" in listed(), what="the new table to be listed")
    assert listed() == {"books", "authors"}
    assert app.json("/api/tables/authors/rows")["rows"] == [{"id": 1, "name": "Ursula"}]
    assert app.json("/api/tables/books/rows?year=1999")["rows"] == [
        {"id": 2, "title": "books 1", "year": 1999}
    ]
    assert "year" in [c["name"] for c in app.json("/api/tables/books")["columns"]]
    document = app.json("/openapi.json")
    assert "/api/tables/authors/rows" in document["paths"]
    assert "year" in document["components"]["schemas"]["BooksRow"]["properties"]
    operation = document["paths"]["/api/tables/books/rows"]["get"]
    assert "year__gte" in [p["name"] for p in parameters(document, operation)]


def test_a_dropped_table_or_column_answers_404_or_400_even_before_the_watcher_looks(
    live: tuple[LiveApp, Path],
) -> None:
    app, path = live
    write(path, "CREATE TABLE doomed (id INTEGER PRIMARY KEY, note TEXT, extra TEXT)")
    wait_for(lambda: app.get("/api/tables/doomed/rows").status == 200)
    app.run(app.app.services.db.watcher.stop())  # from now on only requests look at the file
    write(path, "ALTER TABLE doomed DROP COLUMN extra")
    answer = app.get("/api/tables/doomed/rows?extra__isnull=true")
    assert answer.status == 400, answer.body  # the request is answered again, on the new schema
    assert answer.json()["allowed"] == ["id", "note"]
    write(path, "DROP TABLE doomed")
    for url in ("/api/tables/doomed/rows", "/api/tables/doomed", "/api/tables/doomed/rows/1"):
        answer = app.get(url)
        assert answer.status == 404, (url, answer.body)
        assert answer.json()["type"] == "urn:sqlapi:problem:unknown-table"
    assert "doomed" not in {t["name"] for t in app.json("/api/tables")["tables"]}
    assert app.get("/api/tables/books/rows").status == 200


def test_a_reopen_that_fails_keeps_the_current_connections_serving(
    live: tuple[LiveApp, Path],
) -> None:
    app, path = live
    db = app.app.services.db
    app.run(db.watcher.stop())  # from now on nothing looks at the file: nothing mends the pool
    path.rename(path.with_suffix(".away"))  # gone just as new connections are opened
    with pytest.raises(ProblemError):
        app.run(db.reopen())
    path.with_suffix(".away").rename(path)
    for _ in range(3 * db.pool.size):  # each connection is used and returned: none hangs
        assert app.get("/api/tables/books/rows").status == 200


def assert_unavailable(url: str) -> None:
    for path in ("/readyz", "/api", "/api/tables/books/rows", "/api/tables/books/rows/1"):
        status, headers, body = fetch(url + path)
        assert status == 503, (path, status, body)
        if path != "/readyz":
            assert headers["content-type"] == "application/problem+json"
            assert json.loads(body)["status"] == 503 and headers["retry-after"] == "1"
    assert fetch(url + "/healthz")[0] == 200  # the process is up: no restart is needed


def damage_a_table(path: Path) -> None:
    """`good` and `bad` tables, then garbage over every page of `bad`."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE good (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO good (body) VALUES (?)", [("g" * 200,)] * 300)
    conn.commit()
    first_bad = conn.execute("PRAGMA page_count").fetchone()[0] + 1
    conn.execute("CREATE TABLE bad (id INTEGER PRIMARY KEY, body TEXT)")
    conn.executemany("INSERT INTO bad (body) VALUES (?)", [("b" * 200,)] * 300)
    conn.commit()
    last_bad = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with path.open("r+b") as handle:
        for page in range(first_bad, last_bad + 1):
            handle.seek((page - 1) * page_size)
            handle.write(bytes([0xDE, 0xAD, 0xBE, 0xEF]) * (page_size // 4))


LEDGER_WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
end, batch = time.monotonic() + float(sys.argv[2]), 0
while time.monotonic() < end:
    batch += 1
    conn.execute("BEGIN IMMEDIATE")
    source, target = batch % 50 + 1, (batch * 7 + 3) % 50 + 1
    conn.execute("UPDATE accounts SET balance = balance - 10 WHERE id = ?", (source,))
    conn.execute("UPDATE accounts SET balance = balance + 10 WHERE id = ?", (target,))
    conn.executemany("INSERT INTO ledger (batch, amount) VALUES (?, 1)", [(batch,)] * 10)
    conn.execute("COMMIT")
print(batch)
"""
TOTAL = 50 * 1000


def make_ledger(path: Path, journal: str) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA journal_mode = {journal}")
    conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)")
    conn.execute("CREATE TABLE ledger (id INTEGER PRIMARY KEY, batch INTEGER, amount INTEGER)")
    conn.execute("CREATE INDEX ledger_batch ON ledger (batch)")
    conn.executemany("INSERT INTO accounts VALUES (?, 1000)", [(i,) for i in range(1, 51)])
    conn.commit()
    conn.close()
    return path


def check_consistent(path: str, status: int, body: bytes) -> str | None:
    """What is wrong with one answer, if anything: every transaction moves money between
    two accounts (the total never changes) and adds exactly 10 ledger rows."""
    if status != 200:
        return f"{path}: {status} {body[:200]!r}"
    if "_format=ndjson" in path:
        balances = [json.loads(line)["balance"] for line in body.splitlines()]
        return None if sum(balances) == TOTAL else f"{path}: total {sum(balances)}"
    document = json.loads(body)
    if path.startswith("/api/tables/accounts/rows"):
        total = sum(r["balance"] for r in document["rows"])
        return None if total == TOTAL else f"{path}: total {total}"
    if "/columns/batch" in path:
        partial = [v for v in document["values"] if v["count"] != 10]
        return f"{path}: partial batches {partial[:3]}" if partial else None
    if path.startswith("/api/tables/ledger/rows?batch="):
        return None if len(document["rows"]) in (0, 10) else f"{path}: {document['rows']}"
    count = document["count"]
    return None if count % 10 == 0 else f"{path}: count {count}"


@pytest.fixture(scope="module")
def clients_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("clients") / "clients.db"
    write(
        path,
        "CREATE TABLE small (id INTEGER PRIMARY KEY, title TEXT)",
        "INSERT INTO small (title) VALUES ('a'), ('b'), ('c')",
        "CREATE VIEW quick AS SELECT * FROM small",  # views are read on the pool
        # an export without end, and a query that runs until the time limit
        "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT x, printf('%.200c', 'x') AS pad FROM c",
        "CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
        "WHERE x < 10000000000) SELECT count(*) AS n FROM c",
    )
    return path


def slow_reader(port: int, path: str) -> socket.socket:
    """A client with a tiny receive window that has read only the first kilobyte."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    return sock


def test_a_very_slow_export_reader_does_not_slow_the_others(clients_path: Path) -> None:
    with in_process(Settings(database=clients_path, pool_size=2)) as server:
        db = server.app.services.db
        readers = [slow_reader(server.port, "/api/tables/endless/rows?_format=csv")]
        readers.append(slow_reader(server.port, "/api/tables/endless/rows?_format=ndjson"))
        try:
            for _ in range(30):  # while both exports are stalled on their clients
                status, _, body = fetch(f"{server.url}/api/tables/small/rows", timeout=10)
                assert status == 200 and len(json.loads(body)["rows"]) == 3
                status, _, body = fetch(f"{server.url}/api/tables/small/rows?_format=csv")
                assert status == 200 and body.count(b"\r\n") == 4
                readers[0].recv(64)  # trickle
            assert db.open_streams == 2  # still running, held back by their clients' pace
        finally:
            for reader in readers:
                reader.close()
        wait_for(lambda: db.open_streams == 0)  # gone clients: cursors and connections closed


def test_requests_beyond_max_active_wait_their_turn_and_are_all_answered(
    clients_path: Path,
) -> None:
    settings = Settings(
        database=clients_path, pool_size=2, time_limit_ms=1500, max_active_requests=1
    )
    with in_process(settings) as server:
        admission = server.admission
        answered: dict[str, tuple[int, float]] = {}

        def ask(name: str, path: str) -> None:
            status, _, _ = fetch(f"{server.url}{path}", timeout=10)
            answered[name] = (status, time.monotonic())

        slow = threading.Thread(target=ask, args=("slow", "/api/tables/slow/rows"))
        slow.start()
        # The slow query holds the one place (and a pool connection) until the time limit.
        wait_for(lambda: admission._places.locked() and leased(server.app.services.db.pool) == 1)
        quick = threading.Thread(target=ask, args=("quick", "/api/tables/small/rows/1"))
        asked = time.monotonic()
        quick.start()
        wait_for(lambda: admission.waiting == 1)  # held back, not refused
        status, _, body = fetch(f"{server.url}/healthz", timeout=10)
        assert status == 200 and admission.waiting == 1  # health is never held back
        status, _, body = fetch(f"{server.url}/metrics", timeout=10)
        assert b"sqlapi_requests_waiting 1.0" in body
        slow.join()
        quick.join()
        assert answered["slow"][0] == 400  # the time limit
        assert answered["quick"][0] == 200
        assert answered["quick"][1] - asked > 1.0  # its turn came when the slow one ended
        assert admission.waiting == 0


def test_clients_that_vanish_mid_query_or_mid_stream_leave_nothing_running(
    clients_path: Path,
) -> None:
    settings = Settings(database=clients_path, pool_size=1, time_limit_ms=60_000)
    with in_process(settings) as server:
        services = server.app.services
        db = services.db
        threads_before = threading.active_count()
        for path, running in (
            ("/api/tables/slow/rows", lambda: leased(db.pool) == 1),
            ("/api/tables/slow/rows?_format=ndjson", lambda: db.open_streams == 1),
            # a scan, shared by whoever asks: nobody is left
            ("/api/tables/slow/columns/n", lambda: leased(db.pool) == 1),
        ):
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
                wait_for(running, what=f"the query of {path} to run")  # then the client hangs up
            # The one pool connection is free again long before the 60 s time limit.
            status, _, _ = fetch(f"{server.url}/api/tables/quick/rows", timeout=10)
            assert status == 200
        streams = [slow_reader(server.port, "/api/tables/small/events") for _ in range(5)]
        wait_for(lambda: services.subscribers.open == 5)
        for stream in streams:
            stream.close()
        wait_for(lambda: services.subscribers.open == 0 and services.db.open_streams == 0)
        wait_for(lambda: threading.active_count() <= threads_before)  # no thread left behind
