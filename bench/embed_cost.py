"""Where an embedded page's time goes, in process (Quart's test client, no HTTP), with
every variant measured in turn within one run (this machine's speed drifts 2x).

    python bench/embed_cost.py

On a copy of bench/big.db given a second child table, `lines`: ten rows for each of
the first 10,000 items, stored next to each other (as order lines are), where each
item's `reviews` lie scattered over a 1,000,000-row table (as reviews arrive). Prints:
1. the plain 50-row page and the same page with `_embed=reviews` and `_embed=lines`
   (median microseconds per request, and each one's ratio to the plain page);
2. SQLite alone, for the 50 parents: the embedding statement as built, its rows made
   into objects as the build does; the same lists built by SQLite as JSON text
   (`json_object`, exact only for integers, text and NULL); the same with each value
   checked for REAL and BLOB (what exact output would need); the statement on a
   connection with an 8 MB page cache; and the page's own statement. docs/benchmarks.md reads these.
"""

from __future__ import annotations

import asyncio
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlapi.app import create_app
from sqlapi.config import Settings

BIG = Path(__file__).resolve().parent / "big.db"
PAGE = "/api/tables/items/rows?_limit=50"
PARENTS = list(range(1, 51))
IN_LIST = ", ".join("?" * len(PARENTS))


def add_lines(path: Path) -> None:
    rng = random.Random(7)
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE lines (id INTEGER PRIMARY KEY, "
        "item_id INTEGER NOT NULL REFERENCES items(id), qty INTEGER NOT NULL, note TEXT)"
    )
    words = ["amber", "basalt", "cedar", "dune", "ember", "fjord", "glade", "heath"]
    conn.executemany(
        "INSERT INTO lines VALUES (NULL, ?, ?, ?)",
        ((item, rng.randint(1, 9), " ".join(rng.choice(words) for _ in range(6)))
         for item in range(1, 10_001) for _ in range(10)),
    )  # fmt: skip
    conn.execute("CREATE INDEX lines_item ON lines(item_id)")
    conn.commit()
    conn.close()


def interleaved(
    variants: dict[str, Callable[[], object]], rounds: int = 15, n: int = 20
) -> dict[str, float]:
    found: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, run in variants.items():
            started = time.perf_counter()
            for _ in range(n):
                run()
            found[name].append((time.perf_counter() - started) / n * 1e6)
    return {name: statistics.median(runs) for name, runs in found.items()}


async def requests(path: Path) -> None:
    app = create_app(Settings(database=path, immutable=True))
    urls = {"plain page": PAGE, "_embed=reviews": f"{PAGE}&_embed=reviews",
            "_embed=lines": f"{PAGE}&_embed=lines"}  # fmt: skip
    async with app.test_app() as started:
        client = started.test_client()
        found: dict[str, list[float]] = {name: [] for name in urls}
        for url in urls.values():
            for _ in range(50):
                await client.get(url)
        for _ in range(25):
            for name, url in urls.items():
                begun = time.perf_counter()
                for _ in range(20):
                    await client.get(url)
                found[name].append((time.perf_counter() - begun) / 20 * 1e6)
    plain = statistics.median(found["plain page"])
    for name, runs in found.items():
        median = statistics.median(runs)
        print(f"  {name:16s} {median:6.0f} µs  {median / plain:4.2f}x the plain page")


def _real(x: str) -> str:
    return (f"CASE WHEN {x} IN (9e999, -9e999) THEN 'null' "
            f"WHEN CAST(printf('%!.15g', {x}) AS REAL) = {x} THEN printf('%!.15g', {x}) "
            f"ELSE printf('%!.17g', {x}) END")  # fmt: skip


def _checked(x: str) -> str:
    return (f"CASE typeof({x}) WHEN 'real' THEN json({_real(x)}) "
            f"WHEN 'blob' THEN json_object(char(0), hex({x})) ELSE {x} END")  # fmt: skip


def one_child(
    conn: sqlite3.Connection, roomy: sqlite3.Connection, child: str, columns: list[str]
) -> dict[str, float]:
    listed = ", ".join(f"c.{c}" for c in columns)
    built = (
        f"SELECT {listed}, c.id, p.id, p.id FROM items AS p JOIN {child} AS c ON c.id IN "
        f"(SELECT c2.id FROM {child} AS c2 WHERE c2.item_id = p.id ORDER BY c2.id LIMIT ?) "
        f"WHERE p.id IN ({IN_LIST}) ORDER BY p.id, c.id"
    )

    def as_json(value: Callable[[str], str]) -> str:
        members = ", ".join(f"'{c}', {value('c.' + c)}" for c in columns)
        return (
            f"SELECT p.id, (SELECT json_group_array(json_object({members})) FROM "
            f"(SELECT {listed} FROM {child} AS c WHERE c.item_id = p.id ORDER BY c.id "
            f"LIMIT ?) AS c), (SELECT c.id FROM {child} AS c WHERE c.item_id = p.id "
            f"ORDER BY c.id LIMIT 1 OFFSET ?) FROM items AS p WHERE p.id IN ({IN_LIST})"
        )

    plain_json, checked_json = as_json(lambda x: x), as_json(_checked)

    def run(sql: str, params: list[int]) -> Callable[[], object]:
        return lambda: conn.execute(sql, params).fetchall()

    def objects() -> object:
        rows = conn.execute(built, [11, *PARENTS]).fetchall()
        return [dict(zip(columns, row)) for row in rows]  # noqa: B905

    return interleaved({
        "as built, rows made objects": objects,
        "as built, rows only": run(built, [11, *PARENTS]),
        "as built, rows only, 8 MB cache": lambda: roomy.execute(built, [11, *PARENTS]).fetchall(),
        "JSON by SQLite": run(plain_json, [10, 10, *PARENTS]),
        "JSON by SQLite, values checked": run(checked_json, [10, 10, *PARENTS]),
        "the page's statement": run("SELECT * FROM items ORDER BY id LIMIT 51", []),
    })  # fmt: skip


def statements(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    roomy = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    roomy.execute("PRAGMA cache_size = -8000")  # SQLite's default: 2 MB
    for child, columns in (("reviews", ["id", "item_id", "stars", "body"]),
                           ("lines", ["id", "item_id", "qty", "note"])):  # fmt: skip
        print(f"  {child}:")
        for name, median in one_child(conn, roomy, child, columns).items():
            print(f"    {name:32s} {median:6.0f} µs")


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "big.db"
        shutil.copyfile(BIG, path)
        add_lines(path)
        print("1. requests, in process:")
        asyncio.run(requests(path))
        print("2. SQLite alone, 50 parents:")
        statements(path)


if __name__ == "__main__":
    main()
