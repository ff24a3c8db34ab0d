"""Load and soak: sqlapi under many connections on a mix of endpoints, and over time.

    python bench/load.py load [seconds] [connections]     (default 30 s, 256 connections)
    python bench/load.py soak [seconds] [connections]     (default 300 s, 64 connections)

Serves a copy of the bundled sample.db while a writer process commits a new loan every
100 ms (so ETags, cached counts and event streams keep changing), and drives it with wrk
(2 threads) from a second process on a mix of endpoints: pages, filters, sorts, keyset
pages, one row, facets, table detail with count, /api/data, a small NDJSON export,
discovery and the OpenAPI document. Prints req/s, p50/p99 latency and every error wrk
saw (socket errors, non-2xx answers), then each endpoint's own p50/p99/max, from one
extra connection per endpoint asking for it again and again. The soak also samples the server's RSS, threads,
file descriptors and asyncio tasks (from /metrics) every 10 s.
"""

from __future__ import annotations

import http.client
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from common import free_port, proc_status, wait_ready, wrk

HERE = Path(__file__).parent
SAMPLE = HERE.parent / "sqlapi" / "sample.db"
PATHS = [
    "/api/tables/books/rows?_limit=50",
    "/api/tables/books/rows?year__gte=2000&_sort=-rating&_limit=20",
    "/api/tables/books/rows?_search=harbour&_select=id,title",
    "/api/tables/books/rows/42",
    "/api/tables/book_genres/rows/1,7",
    "/api/tables/loans/rows?member_id=12&_count=true",
    "/api/tables/loans/rows?_sort=-id&_limit=10",
    "/api/tables/books/columns/year?_limit=10",
    "/api/tables/loans/columns/book_id?returned__isnull=true&_limit=5",
    "/api/tables/members",
    "/api/data/email?_limit=20",
    "/api/tables/genres/rows?_format=ndjson",
    "/api/tables/books_with_authors/rows?_limit=25",
    "/api/tables",
    "/api",
    "/openapi.json",
]
LUA = """
local paths = {%s}
local turn = 0
request = function()
  turn = turn + 1
  return wrk.format("GET", paths[(turn %% #paths) + 1])
end
"""
WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
while True:
    conn.execute("INSERT INTO loans (book_id, member_id, borrowed) "
                 "VALUES (abs(random()) % 1800 + 1, abs(random()) % 600 + 1, date('now'))")
    time.sleep(0.1)
"""


def sample(pid: int, base: str) -> dict[str, float]:
    status = proc_status(pid)
    with urllib.request.urlopen(f"{base}/metrics", timeout=30) as response:
        metrics = response.read().decode()
    tasks = re.search(r"^sqlapi_asyncio_tasks(?:\{[^}]*\})? ([0-9.]+)$", metrics, re.MULTILINE)
    return {
        "rss_mib": int(status["VmRSS"].split()[0]) / 1024,
        "threads": float(status["Threads"]),
        "fds": float(len(list(Path(f"/proc/{pid}/fd").iterdir()))),
        "tasks": float(tasks.group(1)) if tasks else -1.0,
    }


class Probes:
    """One extra connection per path, each asking for its path again and again while the
    load runs: which endpoints make the tail (wrk's own percentiles cover the mix)."""

    def __init__(self, port: int, paths: list[str], seconds: float) -> None:
        self.latencies: dict[str, list[float]] = {path: [] for path in paths}
        self.until = time.monotonic() + seconds
        self.threads = [
            threading.Thread(target=self._probe, args=(port, path), daemon=True) for path in paths
        ]
        for thread in self.threads:
            thread.start()

    def _probe(self, port: int, path: str) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while time.monotonic() < self.until:
            started = time.perf_counter()
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status == 200:
                self.latencies[path].append((time.perf_counter() - started) * 1000)
        connection.close()

    def report(self) -> list[str]:
        for thread in self.threads:
            thread.join()
        lines = [
            "| endpoint | requests | p50 ms | p99 ms | max ms |",
            "| --- | --- | --- | --- | --- |",
        ]
        for path, found in sorted(self.latencies.items(), key=lambda kv: -max(kv[1], default=0)):
            if len(found) < 2:
                lines.append(f"| `{path}` | {len(found)} | | | |")
                continue
            cuts = statistics.quantiles(found, n=100)
            lines.append(
                f"| `{path}` | {len(found)} | {cuts[49]:.0f} | {cuts[98]:.0f} | {max(found):.0f} |"
            )
        return lines


def main() -> None:
    mode = sys.argv[1] if len(sys.argv) > 1 else "load"
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else (30 if mode == "load" else 300)
    connections = int(sys.argv[3]) if len(sys.argv) > 3 else (256 if mode == "load" else 64)
    work = Path(tempfile.mkdtemp(prefix="sqlapi-load-"))
    database = work / "sample.db"
    shutil.copy(SAMPLE, database)
    script = work / "mix.lua"
    script.write_text(LUA % ", ".join(f'"{p}"' for p in PATHS))
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "sqlapi", "serve", str(database), "--no-access-log", "--port", str(port)],
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(database)])
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{base}/readyz")
        for path in PATHS:  # every path answers before the load starts
            urllib.request.urlopen(base + path, timeout=30).read()
        samples: list[tuple[float, dict[str, float]]] = []
        started = time.monotonic()

        def watch() -> None:
            while server.poll() is None and time.monotonic() - started < seconds + 1:
                samples.append((time.monotonic() - started, sample(server.pid, base)))
                time.sleep(10)

        watcher = threading.Thread(target=watch, daemon=True)
        if mode == "soak":
            watcher.start()
        probes = Probes(port, PATHS, seconds)
        result = wrk(base, seconds, connections, threads=2, script=script)
        by_endpoint = probes.report()
        time.sleep(5)  # connections closed: what is left is what the server keeps
        after = sample(server.pid, base)
        before = samples[0][1] if samples else None
    finally:
        writer.kill()
        server.terminate()
        exit_code = server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"{mode}: wrk -t2 -c{connections} -d{seconds}s, {len(PATHS)} endpoints, a writer "
        f"committing every 100 ms"
    )
    print(
        f"{result.requests:,} requests, {result.rate:,.0f} req/s, p50 {result.p50:.1f} ms, "
        f"p99 {result.p99:.1f} ms, socket errors {result.errors}, "
        f"non-2xx {result.non_2xx}; server exit code after SIGTERM {exit_code}"
    )
    print("\n".join(by_endpoint))
    if before is not None:
        print(
            f"server before: RSS {before['rss_mib']:.1f} MiB, threads {before['threads']:.0f}, "
            f"fds {before['fds']:.0f}, tasks {before['tasks']:.0f}"
        )
    print(
        f"server 5 s after: RSS {after['rss_mib']:.1f} MiB, threads {after['threads']:.0f}, "
        f"fds {after['fds']:.0f}, tasks {after['tasks']:.0f}"
    )
    if samples:
        print("| t (s) | RSS MiB | threads | fds | tasks |")
        print("| --- | --- | --- | --- | --- |")
        for moment, values in samples:
            print(
                f"| {moment:.0f} | {values['rss_mib']:.1f} | {values['threads']:.0f} | "
                f"{values['fds']:.0f} | {values['tasks']:.0f} |"
            )


if __name__ == "__main__":
    main()
