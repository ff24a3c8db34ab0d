"""Export benchmark: the whole 1,000,000-row table as NDJSON and CSV from a real
`sqlapi serve`, with the server's peak RSS; the sqlite3 CLI's `-json` as the floor.

    python bench/make_big.py && python bench/export.py [bench/big.db] [rounds]
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from common import free_port, rss_kib, wait_ready

HERE = Path(__file__).parent
SQLAPI = [sys.executable, "-m", "sqlapi"]


def download(url: str) -> tuple[float, int, int]:
    """Seconds, bytes and lines of one full download."""
    started, size, lines = time.perf_counter(), 0, 0
    with urllib.request.urlopen(url, timeout=600) as response:
        while chunk := response.read(1 << 16):
            size += len(chunk)
            lines += chunk.count(b"\n")
    return time.perf_counter() - started, size, lines


def main() -> None:
    database = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "big.db"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    port = free_port()
    server = subprocess.Popen([*SQLAPI, "serve", str(database), "--immutable", "--port", str(port)],
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        idle = rss_kib(server.pid, "VmRSS")
        peak = [idle]
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                peak.append(rss_kib(server.pid, "VmRSS"))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        results: dict[str, list[tuple[float, int, int]]] = {"ndjson": [], "csv": []}
        for _ in range(rounds):
            for fmt in results:
                results[fmt].append(
                    download(f"http://127.0.0.1:{port}/api/tables/items/rows?_format={fmt}")
                )
        stop.set()
        sampler.join()
        hwm = rss_kib(server.pid, "VmHWM")
    finally:
        server.terminate()
        server.wait()

    print(f"database: {database} ({database.stat().st_size / 1e6:.0f} MB), rounds: {rounds}")
    print(f"server RSS idle {idle / 1024:.0f} MiB, peak while exporting {max(peak) / 1024:.0f} MiB "
          f"(VmHWM {hwm / 1024:.0f} MiB)")  # fmt: skip
    for fmt, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        size, lines = runs[0][1], runs[0][2]
        print(f"{fmt:7} median {seconds:6.2f} s  {size / 1e6 / seconds:6.1f} MB/s  "
              f"{lines / seconds:9.0f} rows/s  ({lines} lines, {size / 1e6:.0f} MB)")  # fmt: skip
    if shutil.which("sqlite3"):
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            subprocess.run(["sqlite3", "-json", str(database), "SELECT * FROM items"],
                           stdout=subprocess.DEVNULL, check=True)  # fmt: skip
            times.append(time.perf_counter() - started)
        print(f"sqlite3 -json median {statistics.median(times):6.2f} s (the floor)")


if __name__ == "__main__":
    main()
