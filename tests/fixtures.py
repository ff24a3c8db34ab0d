"""One rich edge-case database, built fresh for the test session (as Datasette's fixtures do),
and a synchronous handle on a running app for tests and hypothesis."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from sqlapi.app import create_app
from sqlapi.config import Settings
from tests.helpers import finish_loop

WEIRD_NAMES = [
    "with space",
    'dq"uote',
    "sq'uote",
    "ünïcødé 表",
    "select",
    "1starts_with_digit",
    "semi;colon",
    "dash--dash",
    "Mixed Case",
]

EDGE_SCHEMA = """
CREATE TABLE plain (name TEXT, score REAL, n INTEGER);
CREATE TABLE shadowed (rowid TEXT, oid TEXT, _rowid_ TEXT, v INTEGER);
CREATE TABLE compound (a TEXT NOT NULL, b INTEGER NOT NULL, note TEXT, PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE strict_t (id INTEGER PRIMARY KEY, i INT, r REAL, t TEXT, b BLOB, x ANY) STRICT;
CREATE TABLE gen (id INTEGER PRIMARY KEY, a INTEGER, doubled INTEGER GENERATED ALWAYS AS (a * 2) VIRTUAL,
                  label TEXT GENERATED ALWAYS AS ('#' || a) STORED);
CREATE TABLE "values" (id INTEGER PRIMARY KEY, big INTEGER, real REAL, txt TEXT, blob BLOB, untyped,
                       flag BOOLEAN, day DATE);
CREATE TABLE docs (id INTEGER PRIMARY KEY, body TEXT);
CREATE VIRTUAL TABLE docs_fts USING fts5(body, content='docs', content_rowid='id');
CREATE VIRTUAL TABLE notes USING fts5(title, text);
CREATE VIEW plain_view AS SELECT name, score FROM plain;
CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000)
                    SELECT count(*) AS n FROM c;
CREATE TABLE _private (id INTEGER PRIMARY KEY);
CREATE TABLE gone (x);
CREATE VIEW broken AS SELECT x FROM gone;
"""

BIG = 2**63 - 1


def build_edge_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(EDGE_SCHEMA)
    conn.execute("DROP TABLE gone")
    for i, name in enumerate(WEIRD_NAMES):
        q = '"' + name.replace('"', '""') + '"'
        conn.execute(f'CREATE TABLE {q} (id INTEGER PRIMARY KEY, {q} TEXT, "col {i}" INTEGER)')
        conn.executemany(
            f"INSERT INTO {q} VALUES (?, ?, ?)", [(j, f"{name}-{j}", j * 10) for j in range(1, 6)]
        )
    conn.executemany(
        "INSERT INTO plain VALUES (?, ?, ?)",
        [
            ("alpha", 1.5, 1),
            ("beta", None, 2),
            (None, 2.5, 2),
            ("gamma", 1.5, None),
            ("100%_off", 3.0, 5),
        ],
    )
    conn.executemany(
        "INSERT INTO shadowed VALUES (?, ?, ?, ?)", [("r1", "o1", "x1", 1), ("r2", "o2", "x2", 2)]
    )
    conn.executemany(
        "INSERT INTO compound VALUES (?, ?, ?)",
        [
            ("a,b", 1, "comma"),
            ("a~b", 2, "tilde"),
            ("x", 1, None),
            ("x", 2, "two"),
            ("ü/v", 3, "slash"),
        ],
    )
    conn.executemany(
        "INSERT INTO strict_t VALUES (?, ?, ?, ?, ?, ?)",
        [
            (1, 10, 1.25, "t", b"\x00\x01", 5),
            (2, None, None, None, None, "text"),
            (3, -7, 0.5, "u", b"", 2.5),
        ],
    )
    conn.executemany("INSERT INTO gen (id, a) VALUES (?, ?)", [(1, 1), (2, 5), (3, None)])
    conn.executemany(
        'INSERT INTO "values" VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
        [
            (1, BIG, float("inf"), "plain", b"\xff\xfe\x00", 7, 1, "2024-01-02"),
            (2, -(2**63), float("-inf"), 'quote " and \\ and \n newline', b"", "7", 0, None),
            (3, 2**53 + 1, 0.1, "emoji 🎉 and nul \x00 byte", None, 7.5, None, "2025-12-31"),
            (4, 42, -0.0, "", b"abc", None, 1, "2020-02-29"),
        ],
    )
    conn.execute(
        "INSERT INTO \"values\" (id, txt) VALUES (5, CAST(x'41ff42' AS TEXT))"
    )  # not UTF-8
    conn.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        [
            (1, "the quick brown fox"),
            (2, "jumps over the lazy dog"),
            (3, 'a "quoted" fox; DROP TABLE docs'),
        ],
    )
    conn.execute("INSERT INTO docs_fts(docs_fts) VALUES ('rebuild')")
    conn.executemany(
        "INSERT INTO notes VALUES (?, ?)", [("first", "hello world"), ("second", "goodbye world")]
    )
    conn.commit()
    conn.close()
    return path


class LiveApp:
    """A started app (lifespan run, pool open) on its own event loop thread, driven
    synchronously: convenient for hypothesis, and each request still goes through Quart."""

    def __init__(self, settings: Settings) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.app = create_app(settings)
        self._context = self.app.test_app()
        self.run(self._context.__aenter__())
        self.client = self.app.test_client()

    def _run(self) -> None:
        """Run the loop until `close`, then end it as asyncio.run would (see finish_loop)."""
        try:
            self.loop.run_forever()
        finally:
            finish_loop(self.loop)

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        async def fetch() -> Response:
            response = await self.client.get(url, headers=headers or {})
            received = {k.lower(): v for k, v in response.headers.items()}
            return Response(response.status_code, received, await response.get_data())

        return self.run(fetch())

    def json(self, url: str, status: int = 200) -> Any:
        response = self.get(url)
        assert response.status == status, (url, response.status, response.body[:500])
        return response.json()

    def close(self) -> None:
        try:
            self.run(self._context.__aexit__(None, None, None))
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the app's event loop did not end within 30 s"


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def json(self) -> Any:
        return json.loads(self.body)
