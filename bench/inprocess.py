"""A request's cost in process, through Quart's test client (no HTTP, no wrk): the page of
50 rows and the key lookup on bench/big.db, as this checkout serves them and with two
parts taken away, to see what each costs. Medians of 7 x 400 requests, three interleaved
runs of every variant.

    python bench/inprocess.py [VARIANT ...]

Variants: `stock`; `nomr` (quart-schema's make_response wrapper removed, Quart's own
left); `nomw` (the ASGI middlewares removed: compression, `%2F` paths, stalled readers);
`nomr+nomw`. Run it with another checkout's interpreter for that checkout (`stock`).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

from sqlapi.app import create_app
from sqlapi.config import Settings

DATABASE = Path(__file__).resolve().parent / "big.db"
PATHS = ["/api/tables/items/rows?_limit=50", "/api/tables/items/rows/500000"]


async def microseconds(app, path: str, n: int = 400) -> float:  # type: ignore[no-untyped-def]
    async with app.test_app() as started:
        client = started.test_client()
        for _ in range(200):
            await client.get(path)
        runs = []
        for _ in range(7):
            begun = time.perf_counter()
            for _ in range(n):
                await client.get(path)
            runs.append((time.perf_counter() - begun) / n * 1e6)
        return statistics.median(runs)


def variant(name: str):  # type: ignore[no-untyped-def]
    app = create_app(Settings(database=DATABASE, immutable=True))
    if "nomr" in name:
        del app.make_response  # the instance attribute quart-schema set
    if "nomw" in name:
        del app.asgi_app  # the instance attribute app.py set
    return app


async def main(names: list[str]) -> None:
    found: dict[tuple[str, str], list[float]] = {(n, p): [] for n in names for p in PATHS}
    for _ in range(3):
        for name in names:
            for path in PATHS:
                found[(name, path)].append(await microseconds(variant(name), path))
    for (name, path), runs in found.items():
        print(
            f"{name:10s} {path:36s} {statistics.median(runs):5.0f} µs  {[round(r) for r in runs]}"
        )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:] or ["stock"]))
