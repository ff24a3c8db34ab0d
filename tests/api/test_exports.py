"""Streaming exports: every matching row, parsed back exactly, in constant memory; a client
that goes away stops the query."""

from __future__ import annotations

import base64
import csv
import io
import json
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.helpers import wait_for
from tests.servers import in_process

ROWS = 30_000


@pytest.fixture(scope="module")
def big_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("big") / "big.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, n INTEGER, x REAL, t TEXT, b BLOB)")
    conn.execute(  # an export that never ends unless the client goes away
        "CREATE VIEW endless AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
        "SELECT x, printf('%.200c', 'x') AS pad FROM c"
    )
    conn.executemany(
        "INSERT INTO big VALUES (?, ?, ?, ?, ?)",
        (
            (i, (i * 7919) % 1000 - 500, i / 7,
             f'row {i}, "quoted"\n' if i % 97 == 0 else f"row {i}",
             bytes([i % 256]) * (i % 4) if i % 5 else None)
            for i in range(1, ROWS + 1)
        ),
    )  # fmt: skip
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def big(big_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=big_path))
    yield live
    live.close()


def expected(
    path: Path, where: str = "", params: tuple[object, ...] = ()
) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(
            f"SELECT id, n, x, t, b FROM big {where} ORDER BY id", params
        ).fetchall()
    finally:
        conn.close()


def test_ndjson_streams_every_row_exactly(big: LiveApp, big_path: Path) -> None:
    response = big.get("/api/tables/big/rows?_format=ndjson")
    assert response.status == 200 and response.content_type == "application/x-ndjson"
    lines = response.body.decode().splitlines()
    got = [json.loads(line) for line in lines]
    decoded = [
        (r["id"], r["n"], r["x"], r["t"], None if r["b"] is None else base64.b64decode(r["b"]))
        for r in got
    ]
    assert decoded == expected(big_path)


def test_csv_streams_rfc4180_with_header_and_filename(big: LiveApp, big_path: Path) -> None:
    response = big.get("/api/tables/big/rows?n__gte=0&_sort=-id", headers={"Accept": "text/csv"})
    assert response.status == 200 and response.content_type.startswith("text/csv")
    assert response.headers["content-disposition"].startswith('attachment; filename="big.csv"')
    assert b"\r\n" in response.body
    records = list(csv.reader(io.StringIO(response.body.decode(), newline="")))
    assert records[0] == ["id", "n", "x", "t", "b"]
    rows = expected(big_path, "WHERE n >= 0")[::-1]
    assert len(records) - 1 == len(rows)
    for record, row in zip(records[1:], rows, strict=True):
        assert record == [
            str(row[0]), str(row[1]), repr(row[2]), row[3],
            "" if row[4] is None else base64.b64encode(row[4]).decode(),
        ]  # fmt: skip


def test_exports_honour_select_and_limit(big: LiveApp) -> None:
    body = big.get("/api/tables/big/rows?_format=ndjson&_select=t&_limit=1500&id__gt=10").body
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert len(lines) == 1500 and lines[0] == {"t": "row 11"} and lines[-1] == {"t": "row 1510"}
    arrays = big.get("/api/tables/big/rows?_format=ndjson&_select=id&_shape=arrays&_limit=2").body
    assert arrays == b"[1]\n[2]\n"


def test_json_stays_the_default_for_browsers(big: LiveApp) -> None:
    response = big.get("/api/tables/big/rows?_limit=1", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.content_type == "application/json"


def test_a_client_that_goes_away_stops_the_export(big_path: Path) -> None:
    with in_process(Settings(database=big_path)) as server:
        db = server.services.db  # type: ignore[attr-defined]
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(
                b"GET /api/tables/endless/rows?_format=ndjson HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            client.recv(4096)
            # Time for the server to fill the socket buffers and wait for the reader: no
            # event tells when hypercorn's writes block.
            time.sleep(0.3)
            assert db.open_streams == 1
        # the export's cursor and connection are closed
        wait_for(lambda: db.open_streams == 0, what="the export to stop")
        with socket.create_connection(("127.0.0.1", server.port)) as client:
            client.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert client.recv(100).startswith(b"HTTP/1.1 200")


def test_export_bound_answers_503(big_path: Path) -> None:
    with in_process(Settings(database=big_path, max_exports=1)) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as first:
            first.sendall(b"GET /api/tables/endless/rows?_format=csv HTTP/1.1\r\nHost: x\r\n\r\n")
            first.recv(4096)
            with socket.create_connection(("127.0.0.1", server.port)) as second:
                second.sendall(b"GET /api/tables/big/rows?_format=csv HTTP/1.1\r\nHost: x\r\n\r\n")
                reply = second.recv(4096)
        assert reply.startswith(b"HTTP/1.1 503") and b"application/problem+json" in reply
