"""Instructions per request, counted by callgrind: a figure this noisy machine cannot move.

    python bench/instructions.py [--variant NAME=CHECKOUT ...] [URL ...]

Each variant (a checkout of sqlapi; default: this one) serves bench/big.db under
`valgrind --tool=callgrind` twice: once for N1 keep-alive GETs, once for N2 (32 connections
each time). (instructions(N2) - instructions(N1)) / (N2 - N1) is what one request costs
the server, with startup and shutdown cancelled out. wrk's req/s on this shared 2-core
machine moves by 10-20 % between rounds; this figure repeats within about 1 %
(docs/benchmarks.md). It counts work, not waiting: a change that only overlaps or
reorders work shows in req/s, not here.

Servers start from /tmp with the variant on PYTHONPATH, so that the working directory
never shadows it. Needs valgrind (Debian's package) and bench/big.db (make_big.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from common import free_port, wait_ready

HERE = Path(__file__).resolve().parent
DATABASE = HERE / "big.db"
URLS = ["/api/tables/items/rows/500000", "/api/tables/items/rows?_limit=50"]
CONNECTIONS = 32


async def send_requests(port: int, path: str, count: int) -> None:
    """`count` GETs of `path`, spread over CONNECTIONS keep-alive connections."""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()

    async def one_connection(requests: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(requests):
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"{path}: {head[:60]!r}")
            length = re.search(rb"(?i)content-length: *(\d+)", head)
            if length is None:
                raise RuntimeError(f"{path}: no content-length")
            await reader.readexactly(int(length.group(1)))
        writer.close()

    await asyncio.gather(*(one_connection(count // CONNECTIONS) for _ in range(CONNECTIONS)))


def instructions(checkout: Path, path: str, count: int) -> int:
    """The server's total instructions: started, `count` requests, SIGTERM."""
    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
                   sys.executable, "-m", "sqlapi", "serve", str(DATABASE), "--immutable",
                   "--no-access-log", "--time-limit-ms", "600000", "--port", str(port)]  # fmt: skip
        server = subprocess.Popen(
            command,
            cwd=scratch,
            env={**os.environ, "PYTHONPATH": str(checkout)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", attempts=6000)
            asyncio.run(send_requests(port, path, count))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=300)
        totals = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if totals is None:
            raise RuntimeError(f"no totals in {out}")
        return int(totals.group(1))


def per_request(checkout: Path, path: str, small: int, large: int) -> float:
    return (instructions(checkout, path, large) - instructions(checkout, path, small)) / (
        large - small
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("urls", nargs="*", default=URLS)
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=CHECKOUT")
    parser.add_argument("--requests", default="320,2560", help="N1,N2 (default 320,2560)")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=2, help="servers under valgrind at once")
    args = parser.parse_args()
    variants = dict(v.split("=", 1) for v in args.variant) or {"this": str(HERE.parent)}
    small, large = (int(n) for n in args.requests.split(","))
    runs = [(url, name, Path(checkout).resolve()) for url in args.urls
            for name, checkout in variants.items() for _ in range(args.repeat)]  # fmt: skip
    with ThreadPoolExecutor(args.jobs) as pool:
        counts = list(pool.map(lambda run: per_request(run[2], run[0], small, large), runs))
    print("| request | variant | instructions per request |")
    print("| --- | --- | --- |")
    for (url, name, _), count in zip(runs, counts, strict=True):
        print(f"| `{url}` | {name} | {count:,.0f} |")


if __name__ == "__main__":
    main()
