"""Live updates over Server-Sent Events, with a real writer process committing to the file."""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sqlapi.config import Settings
from tests.helpers import wait_for, write
from tests.servers import InProcess, in_process

WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1])
for i in range(int(sys.argv[2])):
    conn.execute("INSERT INTO feed (body) VALUES (?)", (f"message {i}",))
    conn.commit()
    time.sleep(0.01)
"""


def make_feed(path: Path, journal: str) -> Path:
    write(
        path,
        f"PRAGMA journal_mode = {journal}",
        "CREATE TABLE feed (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
        "CREATE TABLE tags (name TEXT PRIMARY KEY) WITHOUT ROWID",
        "INSERT INTO feed (body) VALUES ('old 1'), ('old 2')",
    )
    return path


class EventReader:
    """A minimal EventSource: reads events off a real HTTP connection."""

    def __init__(
        self,
        server: InProcess,
        path: str,
        last_event_id: str | None = None,
        authorization: str | None = None,
    ) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        headers = {"Accept": "text/event-stream"}
        if authorization is not None:
            headers["Authorization"] = authorization
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        self.connection.request("GET", path, headers=headers)
        self.response = self.connection.getresponse()
        self.comments: list[str] = []
        self.retry: str | None = None

    def next_event(self, or_comment: bool = False) -> dict[str, str]:
        """The next event; with `or_comment`, a comment line before it ends the wait too
        (returned as {"comment": line})."""
        fields: dict[str, str] = {}
        while True:
            line = self.response.readline().decode().rstrip("\n")
            if line == "":
                if fields:
                    return fields
                continue
            if line.startswith(":"):
                self.comments.append(line)
                if or_comment and not fields:
                    return {"comment": line}
                continue
            name, _, value = line.partition(": ")
            if name == "retry":
                self.retry = value
            else:
                fields[name] = value

    def rows(self, count: int, seconds: float = 20) -> list[dict[str, str]]:
        """The next `count` row events, read within `seconds`."""
        found: list[dict[str, str]] = []

        def enough() -> bool:
            event = self.next_event()
            if event.get("event") == "row":
                found.append(event)
            return len(found) >= count

        wait_for(enough, seconds, what=lambda: f"{count} row events (got {len(found)})", every=0)
        return found

    def close(self) -> None:
        self.connection.close()


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_every_committed_row_arrives_once_in_order_and_resumes(
    tmp_path: Path, journal: str
) -> None:
    path = make_feed(tmp_path / "feed.db", journal)
    with in_process(Settings(database=path)) as server:
        reader = EventReader(server, "/api/tables/feed/events")
        assert reader.response.status == 200
        assert reader.response.getheader("Content-Type", "").startswith("text/event-stream")
        writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path), "40"])
        events = reader.rows(40)
        assert writer.wait(timeout=30) == 0
        reader.close()
        assert reader.retry == "2000"
        ids = [int(e["id"]) for e in events]
        assert ids == list(range(3, 43))  # old rows are not replayed; new ones once, in order
        assert [json.loads(e["data"])["body"] for e in events] == [
            f"message {i}" for i in range(40)
        ]

        resumed = EventReader(server, "/api/tables/feed/events", last_event_id="20")
        again = resumed.rows(22)
        resumed.close()
        assert [int(e["id"]) for e in again] == list(range(21, 43))


def test_change_events_keep_alive_and_tables_without_integer_key(tmp_path: Path) -> None:
    path = make_feed(tmp_path / "feed.db", "wal")
    with in_process(Settings(database=path, keepalive_s=0.2)) as server:
        reader = EventReader(server, "/api/tables/tags/events")
        # Subscribed and idle: keep-alive comments come (every 0.2 s) before any event.
        assert reader.next_event(or_comment=True) == {"comment": ": keep-alive"}
        write(path, "INSERT INTO tags VALUES ('new')")
        event = reader.next_event()
        reader.close()
        assert event["event"] == "change" and "id" not in event
        assert json.loads(event["data"])["table"] == "tags"
        assert ": keep-alive" in reader.comments


def test_filters_narrow_row_events(tmp_path: Path) -> None:
    path = make_feed(tmp_path / "feed.db", "wal")
    with in_process(Settings(database=path)) as server:
        reader = EventReader(server, "/api/tables/feed/events?body__endswith=7&_select=body")
        subprocess.run([sys.executable, "-c", WRITER, str(path), "30"], check=True, timeout=30)
        events = reader.rows(3)
        reader.close()
        assert [json.loads(e["data"]) for e in events] == [
            {"body": "message 7"}, {"body": "message 17"}, {"body": "message 27"}
        ]  # fmt: skip


def test_many_idle_subscribers_and_the_bound(tmp_path: Path) -> None:
    path = make_feed(tmp_path / "feed.db", "wal")
    with in_process(Settings(database=path, max_event_streams=200)) as server:
        readers = [EventReader(server, "/api/tables/feed/events") for _ in range(200)]
        for reader in readers[:3]:
            assert reader.response.status == 200
        refused = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        refused.request("GET", "/api/tables/feed/events")
        answer = refused.getresponse()
        assert (
            answer.status == 503 and answer.getheader("Content-Type") == "application/problem+json"
        )
        refused.close()
        write(path, "INSERT INTO feed (body) VALUES ('to everyone')")
        assert all(r.rows(1)[0]["id"] == "3" for r in readers[::20])  # all are still served
        for reader in readers:
            reader.close()
        subscribers = server.app.services.subscribers
        wait_for(lambda: subscribers.open == 0, what="every subscriber to be gone")


def test_bad_last_event_id_is_a_problem(tmp_path: Path) -> None:
    path = make_feed(tmp_path / "feed.db", "wal")
    with in_process(Settings(database=path)) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        connection.request("GET", "/api/tables/feed/events", headers={"Last-Event-ID": "nope"})
        assert connection.getresponse().status == 400
        connection.close()


def test_a_slow_subscriber_does_not_stall_the_others(tmp_path: Path) -> None:
    path = make_feed(tmp_path / "feed.db", "wal")
    with in_process(Settings(database=path)) as server:
        slow = EventReader(server, "/api/tables/feed/events")  # connects, then never reads
        fast = EventReader(server, "/api/tables/feed/events")
        conn = sqlite3.connect(path)
        for _ in range(10):  # 10 MB of row events: far more than the slow socket holds
            conn.executemany("INSERT INTO feed (body) VALUES (?)", [("x" * 2000,)] * 500)
            conn.commit()
        conn.close()
        got = fast.rows(5000, seconds=60)
        assert [int(e["id"]) for e in got] == list(range(3, 5003))
        fast.close()
        slow.close()


def test_fts_and_search_follow_hidden_columns() -> None:
    from sqlapi.config import sample_database
    from sqlapi.store.exposure import Restrictions, restrict
    from sqlapi.store.readonly import load_schema

    full = load_schema(sample_database(), False)
    hidden = restrict(full, Restrictions(hidden={"books": ("description",)}))
    books, index = hidden.table("books"), hidden.table("books_fts")
    assert books is not None and index is not None
    assert books.fts is None  # _search would match text in the hidden column
    assert index.column_names == ["rowid", "title"] and index.fts is None
    denied = restrict(full, Restrictions(deny=("books",)))
    assert denied.table("books_fts") is None  # the index goes with its content table
