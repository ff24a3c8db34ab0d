"""The OpenAPI document at scale (issue 21): for databases of N tables of 20 columns (id
INTEGER PRIMARY KEY and 19 of INTEGER, TEXT and REAL in turn, as tests/test_openapi_scale.py
builds them), the document's size, the time to build the app and its document, the peak
RSS of `sqlapi openapi DB`, and the size of /openapi.json as a server sends it gzip-compressed.

    python bench/openapi_size.py [N ...]        (default: 10 200 1000)

Each build is timed in a fresh process (`create_app` + the document, then its JSON), three
times, and the median printed; `sqlapi openapi DB` (which also prints the document, indented)
runs three times, its peak RSS read from the kernel's accounting of that child (wait4).
The databases live in a temporary folder, removed at the end.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from common import free_port, wait_ready

SQLAPI = Path(sys.executable).with_name("sqlapi")
RUNS = 3


def build(path: Path, tables: int) -> Path:
    conn = sqlite3.connect(path)
    columns = ", ".join(f"c{j} {('INTEGER', 'TEXT', 'REAL')[j % 3]}" for j in range(19))
    for t in range(tables):
        conn.execute(f"CREATE TABLE t{t:04d} (id INTEGER PRIMARY KEY, {columns})")
    conn.commit()
    conn.close()
    return path


def child(database: str) -> None:
    """In a fresh process: the seconds of create_app and of the document, and its bytes."""
    from sqlapi.app import create_app
    from sqlapi.config import Settings
    from sqlapi.model.encoding import dumps

    started = time.perf_counter()
    app = create_app(Settings(database=Path(database)))
    created = time.perf_counter()
    document = app.documentation.openapi_provider.schema()
    encoded = dumps(document)  # what /openapi.json sends (the provider encodes it so)
    done = time.perf_counter()
    print(json.dumps({"create_app": created - started, "document": done - created,
                      "bytes": len(encoded)}))  # fmt: skip


def run_measured(command: list[str]) -> tuple[float, int, bytes]:
    """(wall seconds, peak RSS in KiB, stdout) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command} exited {process.returncode}")
    return time.perf_counter() - started, usage.ru_maxrss, out


def served_sizes(database: Path) -> tuple[int, int]:
    """(identity bytes, gzip bytes) of /openapi.json from a real `sqlapi serve`."""
    port = free_port()
    server = subprocess.Popen([str(SQLAPI), "serve", str(database), "--port", str(port),
                               "--no-access-log"], stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        url = f"http://127.0.0.1:{port}/openapi.json"
        with urllib.request.urlopen(url, timeout=300) as response:
            plain = len(response.read())
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=300) as response:
            assert response.headers["Content-Encoding"] == "gzip"
            compressed = len(response.read())  # urllib does not decode: the bytes sent
        return plain, compressed
    finally:
        server.kill()
        server.wait()


def main(counts: list[int]) -> None:
    print("| tables | document bytes | per table | create_app + document (median of 3) "
          "| gzip bytes | `sqlapi openapi` wall, peak RSS (median of 3) |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for count in counts:
            database = build(Path(folder) / f"wide{count}.db", count)
            builds = [json.loads(run_measured([sys.executable, __file__, "--child",
                                               str(database)])[2]) for _ in range(RUNS)]  # fmt: skip
            total = statistics.median(b["create_app"] + b["document"] for b in builds)
            size = builds[0]["bytes"]
            cli = [run_measured([str(SQLAPI), "openapi", str(database)])[:2] for _ in range(RUNS)]
            wall = statistics.median(c[0] for c in cli)
            rss = statistics.median(c[1] for c in cli) / 1024
            plain, compressed = served_sizes(database)
            assert plain == size, (plain, size)
            each = ", ".join(f"{b['create_app']:.2f} + {b['document']:.2f}" for b in builds)
            print(f"| {count:,} | {size:,} | {size // count:,} | {total:.2f} s ({each}) "
                  f"| {compressed:,} ({compressed / size:.1%}) | {wall:.2f} s, {rss:.0f} MiB |")  # fmt: skip


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2])
    else:
        main([int(a) for a in sys.argv[1:]] or [10, 200, 1000])
