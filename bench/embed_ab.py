"""The embedded page against the plain page, for two or more builds side by side (each a
checkout whose `sqlapi` package is put first on PYTHONPATH), on bench/big.db.

    python bench/embed_ab.py wrk before=/work/wt/head after=. [--rounds 5]
    python bench/embed_ab.py inprocess before=/work/wt/head after=. [--rounds 3]

wrk: every build served by `python -m sqlapi serve` (one hypercorn worker), wrk -t1 -c32
for 5 s per request, builds and requests interleaved round by round; prints each round's
req/s and, per build, the median ratio of the embedded page to its own plain page.
inprocess: each build in a process of its own through Quart's test client (9 x 60
requests of each kind), the builds alternating; prints each run's ratio.
Run by hand (docs/benchmarks.md reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BIG = HERE / "big.db"
PAGE = "/api/tables/items/rows?_limit=50"
PATHS = {"plain": PAGE, "embed": PAGE + "&_embed=reviews"}


def served(source: str) -> tuple[subprocess.Popen[bytes], str]:
    from common import free_port, wait_ready

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sqlapi", "serve", str(BIG), "--immutable", "--no-access-log",
         "--time-limit-ms", "10000", "--port", str(port)],
        env=dict(os.environ, PYTHONPATH=str(Path(source).resolve())),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + "/readyz")
    return process, base


def by_wrk(builds: dict[str, str], rounds: int) -> None:
    from common import wrk

    servers = {name: served(source) for name, source in builds.items()}
    rates: dict[tuple[str, str], list[float]] = {}
    try:
        for _, base in servers.values():
            for path in PATHS.values():
                wrk(base + path, 2)  # warm
        for round_ in range(rounds):
            for name, (_, base) in servers.items():
                for kind, path in PATHS.items():
                    load = wrk(base + path, 5)
                    assert load.errors == 0 and load.non_2xx == 0, load
                    rates.setdefault((name, kind), []).append(load.rate)
            print(round_, {f"{n}:{k}": round(v[-1]) for (n, k), v in rates.items()}, flush=True)
    finally:
        for process, _ in servers.values():
            process.terminate()
    for name in servers:
        plain, embed = rates[(name, "plain")], rates[(name, "embed")]
        ratios = sorted(e / p for e, p in zip(embed, plain, strict=True))
        print(f"{name}: plain {statistics.median(plain):.0f} req/s, embedded "
              f"{statistics.median(embed):.0f} req/s, {statistics.median(ratios):.3f}x "
              f"({', '.join(f'{r:.2f}' for r in ratios)})")  # fmt: skip


async def one_process() -> None:
    from sqlapi.app import create_app
    from sqlapi.config import Settings

    app = create_app(Settings(database=BIG, immutable=True))
    async with app.test_app() as started:
        client = started.test_client()
        for _ in range(100):
            await (await client.get(PATHS["embed"])).get_data()
        found: dict[str, list[float]] = {}
        for _ in range(9):
            for kind, path in PATHS.items():
                begun = time.perf_counter()
                for _ in range(60):
                    await (await client.get(path)).get_data()
                found.setdefault(kind, []).append((time.perf_counter() - begun) / 60 * 1e6)
    plain, embed = statistics.median(found["plain"]), statistics.median(found["embed"])
    print(f"plain {plain:.0f} µs, embedded {embed:.0f} µs, {embed / plain:.2f}x")


def in_process(builds: dict[str, str], rounds: int) -> None:
    for _ in range(rounds):
        for name, source in builds.items():
            print(f"{name}: ", end="", flush=True)
            subprocess.run(
                [sys.executable, __file__, "one-process"],
                env=dict(os.environ, PYTHONPATH=f"{Path(source).resolve()}:{HERE}"),
                check=True,
            )


def main() -> None:
    if sys.argv[1:] == ["one-process"]:
        asyncio.run(one_process())
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("how", choices=["wrk", "inprocess"])
    parser.add_argument("builds", nargs="+", metavar="NAME=CHECKOUT")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    builds = dict(b.split("=", 1) for b in args.builds)
    if args.how == "wrk":
        by_wrk(builds, args.rounds or 5)
    else:
        in_process(builds, args.rounds or 3)


if __name__ == "__main__":
    main()
