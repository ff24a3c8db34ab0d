"""What compression costs on the wire, side by side (issue 21): the 50-row page asked with
and without `Accept-Encoding: gzip` (and from another checkout's sqlapi, with no
compression middleware at all, to see that the uncompressed path did not slow down), and
the 1,000,000-row export downloaded compressed (gzip, zstd) against Datasette's CSV export.

    python bench/suite.py --compression [--rounds 3] [--seconds 5] [--before BIN]

The client decompresses what it receives and counts the lines, so a compressed export is
timed to its last decompressed byte, as a client would use it.
"""

from __future__ import annotations

import statistics
import time
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from common import Load, wrk

GZIP = {"Accept-Encoding": "gzip"}
ZSTD = {"Accept-Encoding": "zstd"}  # what a current browser is answered with (zstd first)


@dataclass
class Download:
    seconds: float
    sent_mb: float
    lines: int


def download(url: str, headers: dict[str, str]) -> Download:
    """Time to the last byte, decompressed when the server compressed."""
    request = urllib.request.Request(url, headers=headers)
    started = time.perf_counter()
    sent = lines = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        coding = response.headers.get("Content-Encoding")
        inflate: Any = None
        if coding == "gzip":
            inflate = zlib.decompressobj(wbits=31)
        elif coding == "zstd":
            import zstandard

            inflate = zstandard.ZstdDecompressor().decompressobj()
        while chunk := response.read(1 << 20):
            sent += len(chunk)
            lines += (inflate.decompress(chunk) if inflate else chunk).count(b"\n")
    return Download(time.perf_counter() - started, sent / 1e6, lines)


def run(start_sqlapi, start_datasette, database: Path, rounds: int, seconds: float,  # type: ignore[no-untyped-def]
        before: str | None) -> None:  # fmt: skip
    servers = {"sqlapi": start_sqlapi("sqlapi", database), "Datasette": start_datasette([database])}
    if before:
        servers["sqlapi before"] = start_sqlapi("sqlapi before", database, binary=before)
    page = "/api/tables/items/rows?_limit=50"
    pages = [("sqlapi", "plain", {}), ("sqlapi", "gzip", GZIP)]
    pages += [("sqlapi before", "plain", {})] if before else []
    exports = [
        ("sqlapi", "NDJSON, gzip", "/api/tables/items/rows?_format=ndjson", GZIP),
        ("sqlapi", "CSV, gzip", "/api/tables/items/rows?_format=csv", GZIP),
        ("sqlapi", "NDJSON, zstd", "/api/tables/items/rows?_format=ndjson", ZSTD),
        ("sqlapi", "NDJSON, plain", "/api/tables/items/rows?_format=ndjson", {}),
        ("Datasette", "CSV (streamed)", "/big/items.csv?_stream=on&_size=max", {}),
    ]
    loads: dict[tuple[str, str], list[Load]] = {}
    done: dict[tuple[str, str], list[Download]] = {}
    for round_ in range(rounds):
        for server, variant, headers in pages:
            load = wrk(servers[server].base + page, seconds, headers=headers)
            loads.setdefault((server, variant), []).append(load)
            print(f"  round {round_ + 1} page [{server}, {variant}]: {load.rate:,.0f} req/s",
                  flush=True)  # fmt: skip
        for server, variant, path, headers in exports:
            got = download(servers[server].base + path, headers)
            assert got.lines >= 1_000_000, (server, variant, got.lines)
            done.setdefault((server, variant), []).append(got)
            print(f"  round {round_ + 1} export [{server}, {variant}]: {got.seconds:.2f} s",
                  flush=True)  # fmt: skip
    for server in servers.values():
        server.stop()

    print(f"\nThe 50-row page: wrk -t1 -c32 -d{seconds:g}s, {rounds} interleaved rounds, medians")
    print("| server | Accept-Encoding | req/s | p50 / p99 ms | against plain sqlapi (per round) |")
    print("| --- | --- | --- | --- | --- |")
    plain = loads[("sqlapi", "plain")]
    for server, variant, _ in pages:
        runs = loads[(server, variant)]
        each = sorted(a.rate / b.rate for a, b in zip(runs, plain, strict=True))
        print(f"| {server} | {variant} | {statistics.median(r.rate for r in runs):,.0f} | "
              f"{statistics.median(r.p50 for r in runs):.1f} / "
              f"{statistics.median(r.p99 for r in runs):.1f} | "
              f"{statistics.median(each):.2f}x ({', '.join(f'{r:.2f}' for r in each)}) |")  # fmt: skip
    print(f"\nThe export of 1,000,000 rows, {rounds} rounds, medians")
    print("| server | export | seconds | MB sent | against Datasette's CSV |")
    print("| --- | --- | --- | --- | --- |")
    theirs = statistics.median(d.seconds for d in done[("Datasette", "CSV (streamed)")])
    for server, variant, _, _ in exports:
        runs = done[(server, variant)]
        took = statistics.median(d.seconds for d in runs)
        print(f"| {server} | {variant} | {took:.2f} | "
              f"{statistics.median(d.sent_mb for d in runs):.0f} | **{theirs / took:.1f}x** |")  # fmt: skip
