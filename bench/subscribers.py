"""What idle event-stream subscribers cost: the server's RSS, threads and file descriptors
with N open `/events` streams, from a second process.

    python bench/subscribers.py [N]     (default 500)
"""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from common import free_port, proc_status, wait_ready


def stats(pid: int) -> str:
    fields = proc_status(pid)
    fds = len(list(Path(f"/proc/{pid}/fd").iterdir()))
    return f"RSS {int(fields['VmRSS'].split()[0]) / 1024:.1f} MiB, threads {fields['Threads'].strip()}, fds {fds}"


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "sqlapi", "serve", "--port", str(port), "--no-access-log"],
                              stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz")
        print(f"idle server:               {stats(server.pid)}")
        streams = []
        for _ in range(count):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", "/api/tables/loans/events")
            response = connection.getresponse()
            response.readline()
            streams.append((connection, response))
        time.sleep(1)
        print(f"with {count} idle subscribers: {stats(server.pid)}")
        started = time.perf_counter()
        with urllib.request.urlopen(
            f"http://127.0.0.1:{port}/api/tables/books/rows?_limit=50"
        ) as answer:
            answer.read()
        print(f"a 50-row page meanwhile:   {1000 * (time.perf_counter() - started):.1f} ms")
        for connection, _ in streams:
            connection.close()
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
