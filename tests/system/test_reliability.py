"""A real server while the file changes under it: replaced, missing, unreadable, damaged,
read by 64 readers while another process writes, stopped under load."""

from __future__ import annotations

import collections
import concurrent.futures
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.api.test_reliability import (
    LEDGER_WRITER,
    assert_unavailable,
    check_consistent,
    damage_a_table,
    make_ledger,
    names,
)
from tests.helpers import make_db, wait_for, write
from tests.servers import fetch, serving


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["delete", "wal"])
def test_a_file_replaced_by_an_atomic_rename_is_served_without_a_restart(
    tmp_path: Path, journal: str
) -> None:
    served = make_db(tmp_path / "served.db", "first", journal=journal)
    write(served, "CREATE TABLE common (id INTEGER PRIMARY KEY)", "INSERT INTO common VALUES (1)")
    with serving(str(served)) as server:
        assert names(fetch(f"{server.url}/api/tables")[2]) == {"first", "common"}
        fresh = make_db(tmp_path / "fresh.db", "second", rows=5)  # rollback mode: one file
        write(
            fresh, "CREATE TABLE common (id INTEGER PRIMARY KEY)", "INSERT INTO common VALUES (2)"
        )
        os.replace(fresh, served)
        wait_for(lambda: names(fetch(f"{server.url}/api/tables")[2]) == {"second", "common"})
        status, _, body = fetch(f"{server.url}/api/tables/second/rows")
        assert status == 200 and len(json.loads(body)["rows"]) == 5
        for url in ("/api/tables/common/rows", "/api/tables/common/rows/2"):  # the same name,
            assert b'"id":2' in fetch(server.url + url)[2]  # read from the new file only
        assert fetch(f"{server.url}/api/tables/first/rows")[0] == 404
        document = json.loads(fetch(f"{server.url}/openapi.json")[2])
        assert "/api/tables/second/rows" in document["paths"]
        assert "/api/tables/first/rows" not in document["paths"]


@pytest.mark.slow
def test_a_missing_file_is_503_until_it_is_back(tmp_path: Path) -> None:
    path = make_db(tmp_path / "books.db", "books")
    with serving(str(path)) as server:
        path.rename(tmp_path / "elsewhere.db")
        wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 503)
        assert_unavailable(server.url)
        assert not path.exists()  # sqlapi never creates the file it misses
        (tmp_path / "elsewhere.db").rename(path)
        wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 200)
        status, _, body = fetch(f"{server.url}/api/tables/books/rows")
        assert status == 200 and len(json.loads(body)["rows"]) == 3


@pytest.mark.slow
def test_an_unreadable_file_is_503_until_it_is_readable_again(tmp_path: Path) -> None:
    path = make_db(tmp_path / "books.db", "books")
    with serving(str(path), obey_permissions=True) as server:
        path.chmod(0)
        try:
            wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 503)
            assert_unavailable(server.url)
        finally:
            path.chmod(0o644)
        wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 200)
        assert fetch(f"{server.url}/api/tables/books/rows")[0] == 200


@pytest.mark.slow
def test_a_file_replaced_by_one_that_is_not_sqlite_is_503_until_a_good_one_comes(
    tmp_path: Path,
) -> None:
    path = make_db(tmp_path / "books.db", "books")
    with serving(str(path)) as server:
        garbage = tmp_path / "garbage"
        garbage.write_bytes(b"this is not a database, " * 1000)
        os.replace(garbage, path)
        wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 503)
        assert_unavailable(server.url)
        os.replace(make_db(tmp_path / "good.db", "books", rows=7), path)
        wait_for(lambda: fetch(f"{server.url}/readyz")[0] == 200)
        assert len(json.loads(fetch(f"{server.url}/api/tables/books/rows")[2])["rows"]) == 7


@pytest.mark.slow
def test_damaged_pages_are_problems_and_the_rest_is_still_served(tmp_path: Path) -> None:
    path = tmp_path / "damaged.db"
    damage_a_table(path)
    with serving(str(path)) as server:
        for url in (
            "/api/tables/bad/rows",
            "/api/tables/bad",
            "/api/tables/bad/rows/3",
            "/api/tables/bad/columns/body",
            "/api/tables/bad/rows?_format=ndjson",
            "/api/tables/bad/rows?_format=csv",
        ):
            status, headers, body = fetch(server.url + url)
            assert status == 503, (url, status, body)
            assert headers["content-type"] == "application/problem+json"
            problem = json.loads(body)
            assert problem["type"] == "urn:sqlapi:problem:database-corrupt"
            assert "malformed" in problem["detail"]
        status, _, body = fetch(f"{server.url}/api/tables/good/rows?_limit=1000")
        assert status == 200 and len(json.loads(body)["rows"]) == 300
        assert fetch(f"{server.url}/api/tables/good/rows?_format=ndjson")[2].count(b"\n") == 300
        assert fetch(f"{server.url}/readyz")[0] == 200
        assert server.process.poll() is None


@pytest.mark.slow
def test_a_table_whose_hidden_column_was_renamed_is_withheld_not_exposed(tmp_path: Path) -> None:
    path = tmp_path / "users.db"
    write(
        path,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, password_hash TEXT)",
        "CREATE TABLE posts (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO users (name, password_hash) VALUES ('ada', 'secret')",
    )
    config = tmp_path / "sqlapi.toml"
    config.write_text('[tables.users]\nhidden_columns = ["password_hash"]\n')
    with serving(str(path), "--config", str(config)) as server:
        status, _, body = fetch(f"{server.url}/api/tables/users/rows")
        assert status == 200 and json.loads(body)["rows"] == [{"id": 1, "name": "ada"}]
        write(path, "ALTER TABLE users RENAME COLUMN password_hash TO pw_hash")
        wait_for(lambda: fetch(f"{server.url}/api/tables/users/rows")[0] == 404)
        assert names(fetch(f"{server.url}/api/tables")[2]) == {"posts"}
        assert b"secret" not in fetch(f"{server.url}/api/tables/posts/rows")[2]


@pytest.mark.slow
@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_64_readers_see_only_whole_transactions_while_another_process_writes(
    tmp_path: Path, journal: str
) -> None:
    path = make_ledger(tmp_path / "ledger.db", journal)
    seconds = 4.0
    with serving(str(path)) as server:
        writer = subprocess.Popen(
            [sys.executable, "-c", LEDGER_WRITER, str(path), str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )
        urls = [
            "/api/tables/accounts/rows?_limit=100",
            "/api/tables/accounts/rows?_format=ndjson",
            "/api/tables/ledger/columns/batch?_limit=1000",
            "/api/tables/ledger/rows?_sort=-id&_limit=50&_count=true",
            "/api/tables/ledger",
        ]
        failures: list[str] = []
        answered = collections.Counter[str]()
        writing_ends = time.monotonic() + seconds  # the readers read while the writer writes

        def read(worker: int) -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            turn = worker
            while time.monotonic() < writing_ends:
                turn += 1
                url = (
                    urls[turn % len(urls)] if turn % 6 else f"/api/tables/ledger/rows?batch={turn}"
                )
                connection.request("GET", url)
                response = connection.getresponse()
                problem = check_consistent(url, response.status, response.read())
                if problem:
                    failures.append(problem)
                answered[url.split("?")[0]] += 1
            connection.close()

        with concurrent.futures.ThreadPoolExecutor(64) as pool:
            list(pool.map(read, range(64)))
        transactions = int(writer.communicate(timeout=30)[0])
    assert failures == [], "\n".join(failures)
    assert transactions > 20  # the writer was not starved
    assert min(answered.values()) > 10 and len(answered) == 4


@pytest.mark.slow
def test_sigterm_under_load_finishes_what_it_answers_and_exits_zero(edge_path: Path) -> None:
    urls = [
        "/api/tables/plain/rows",
        "/api/tables/compound/rows/x,2",
        "/api/tables/plain/columns/score",
        "/api/tables/strict_t/rows?_format=ndjson",
    ]
    outcomes: list[tuple[str, str]] = []
    with serving(str(edge_path), "--time-limit-ms", "2000") as server:
        stop = threading.Event()

        def load(worker: int) -> None:
            turn = worker
            while not stop.is_set():
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                try:
                    while not stop.is_set():
                        turn += 1
                        connection.request("GET", urls[turn % len(urls)])
                        response = connection.getresponse()
                        try:
                            body = response.read()  # IncompleteRead if cut short
                        except Exception as error:  # a half answer
                            outcomes.append(("bad", repr(error)))
                            break
                        if response.status != 200 or not body:
                            outcomes.append(("bad", f"{response.status} {body[:100]!r}"))
                        outcomes.append(("answered", ""))
                except (ConnectionError, http.client.RemoteDisconnected):
                    outcomes.append(("not accepted", ""))  # no status line: safe to retry
                    time.sleep(0.05)  # and retry after a pause, as a client would
                finally:
                    connection.close()

        with concurrent.futures.ThreadPoolExecutor(17) as pool:
            workers = [pool.submit(load, i) for i in range(16)]
            slow = pool.submit(fetch, f"{server.url}/api/tables/slow/rows")
            # A second of load, by the end of which the slow request (2 s) is in flight in
            # the server: another process, where no event tells that it is.
            time.sleep(1.0)
            server.process.send_signal(signal.SIGTERM)
            status, _, body = slow.result(timeout=30)  # in flight at SIGTERM: answered whole
            exit_code = server.process.wait(timeout=30)
            stop.set()
            for worker in workers:
                worker.result(timeout=60)
    assert status == 400 and json.loads(body)["type"].endswith("time-limit")
    assert exit_code == 0
    assert [detail for kind, detail in outcomes if kind == "bad"] == []
    assert sum(kind == "answered" for kind, _ in outcomes) > 100
