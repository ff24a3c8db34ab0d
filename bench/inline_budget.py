"""How often an embedding statement passes the inline budget under load, and what the
embedded page serves: the app served by hypercorn in this process, `InlineRunner.run`
wrapped to time each embedding statement, wrk driving `_embed=reviews` for 6 s.

    python bench/inline_budget.py [wall|cpu|wall4|pool]

wall: the build's budget (2 ms of wall-clock time); cpu: 2 ms of the thread's CPU time
or 10 ms of wall-clock time; wall4: 4 ms of wall-clock time; pool: the embedding
statement never inline, always on the pool (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

from hypercorn.asyncio import serve
from hypercorn.config import Config

import sqlapi.store.inline as inline
from sqlapi.app import create_app
from sqlapi.config import Settings

DATABASE = Path(__file__).resolve().parent / "big.db"
URL = "http://127.0.0.1:18099/api/tables/items/rows?_limit=50&_embed=reviews"
timings: list[float] = []
stopped = 0
original = inline.InlineRunner.run


def embedding(sql: str) -> bool:
    return "json_group_array" in sql


def timed(self: inline.InlineRunner, sql: str, params: object) -> object:
    global stopped
    if variant == "pool" and embedding(sql):
        return None  # as if stopped at once: the pool runs it
    started = time.perf_counter()
    rows = original(self, sql, params)  # type: ignore[arg-type]
    if embedding(sql):
        timings.append(time.perf_counter() - started)
        stopped += rows is None
    return rows


def cpu_budget(self: inline.InlineRunner) -> int:
    over_cpu = time.thread_time() > self._cpu_deadline  # type: ignore[attr-defined]
    return int(over_cpu or time.perf_counter() > self._deadline + 0.008)


def arm_cpu(run):  # type: ignore[no-untyped-def]
    def run_with_cpu(self, sql, params):  # type: ignore[no-untyped-def]
        self._cpu_deadline = time.thread_time() + 0.002
        return run(self, sql, params)

    return run_with_cpu


async def main(variant: str) -> None:
    inline.InlineRunner.run = timed  # type: ignore[assignment,method-assign]
    if variant == "wall4":
        inline.INLINE_BUDGET_S = 0.004
    if variant == "cpu":
        inline.InlineRunner._over_budget = cpu_budget  # type: ignore[method-assign]
        inline.InlineRunner.run = arm_cpu(timed)  # type: ignore[method-assign]
    app = create_app(Settings(database=DATABASE, immutable=True))
    config = Config()
    config.bind = ["127.0.0.1:18099"]
    config.accesslog = None
    stop = asyncio.Event()
    server = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))  # type: ignore[arg-type]
    await asyncio.sleep(2)
    load = await asyncio.create_subprocess_exec(
        "wrk", "-t1", "-c32", "-d6s", URL, stdout=subprocess.PIPE
    )
    out, _ = await load.communicate()
    stop.set()
    try:
        await server
    except Exception as error:  # a shutdown that outlasts hypercorn's lifespan timeout
        print(f"(shutdown: {type(error).__name__})")
    rate = next(line for line in out.decode().splitlines() if "Requests/sec" in line)
    ordered = sorted(timings) or [0.0]
    print(f"{variant}: {rate.split()[-1]} req/s; {stopped} of {len(ordered)} embedding "
          f"statements stopped; inline median {ordered[len(ordered) // 2] * 1e3:.2f} ms")  # fmt: skip


if __name__ == "__main__":
    variant = sys.argv[1] if len(sys.argv) > 1 else "wall"
    asyncio.run(main(variant))
