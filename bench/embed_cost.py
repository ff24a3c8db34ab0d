"""Where an embedded page's time goes, in process (Quart's test client, no HTTP), with
every variant measured in turn within one run (this machine's speed drifts 2x).

    python bench/embed_cost.py

On a copy of bench/big.db given a second child table, `lines`: ten rows for each of
the first 10,000 items, stored next to each other (as order lines are), where each
item's `reviews` lie scattered over a 1,000,000-row table (as reviews arrive). Prints:
1. the plain 50-row page and the same page with `_embed=reviews` and `_embed=lines`
   (median microseconds per request, and each one's ratio to the plain page);
2. SQLite alone, for the 50 parents: the lists as the build before 2026-11-26 read them
   (the child rows by a JOIN, made into objects as it did, and the rows only); the
   statement the build runs now (SQLite writes each list as JSON, values checked as
   query.json_rows checks them); the same unchecked (exact only for integers, text and
   NULL); and the page's own statement. docs/benchmarks.md reads these.
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
from sqlapi.model.schema import Table
from sqlapi.sql.json_rows import row_object, selected
from sqlapi.store.readonly import connect_readonly, load_schema

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


def one_child(conn: sqlite3.Connection, child: Table) -> dict[str, float]:
    names = ["id", "item_id", child.columns[2].name, child.columns[3].name]
    listed = ", ".join(f"c.{c}" for c in names)
    joined = (
        f"SELECT {listed}, c.id, p.id, p.id FROM items AS p JOIN {child.name} AS c ON c.id IN "
        f"(SELECT c2.id FROM {child.name} AS c2 WHERE c2.item_id = p.id ORDER BY c2.id LIMIT ?) "
        f"WHERE p.id IN ({IN_LIST}) ORDER BY p.id, c.id"
    )

    def as_json(row: str) -> str:
        return (
            f"SELECT p.id, p.id, (SELECT json_group_array({row}) FROM "
            f"(SELECT {listed} FROM {child.name} AS c WHERE c.item_id = p.id ORDER BY c.id "
            f"LIMIT ?) AS c), (SELECT c.id FROM {child.name} AS c WHERE c.item_id = p.id "
            f"ORDER BY c.id LIMIT 1 OFFSET ?), EXISTS (SELECT 1 FROM {child.name} AS c "
            f"WHERE c.item_id = p.id ORDER BY c.id LIMIT 1 OFFSET ?) FROM items AS p "
            f"WHERE p.id IN ({IN_LIST})"
        )

    unchecked = as_json("json_object(" + ", ".join(f"'{c}', c.{c}" for c in names) + ")")
    row = row_object("c", child.columns, False)
    built = as_json(row.sql).replace(
        f"SELECT {listed} FROM", f"SELECT {selected('c', child.columns)} FROM", 1
    )

    def run(sql: str, params: list[int]) -> Callable[[], object]:
        return lambda: conn.execute(sql, params).fetchall()

    def objects() -> object:
        rows = conn.execute(joined, [11, *PARENTS]).fetchall()
        return [dict(zip(names, row)) for row in rows]  # noqa: B905

    return interleaved({
        "rows joined, made objects": objects,
        "rows joined, rows only": run(joined, [11, *PARENTS]),
        "JSON by SQLite, as built": run(built, [*row.params, 10, 9, 10, *PARENTS]),
        "JSON by SQLite, unchecked": run(unchecked, [10, 9, 10, *PARENTS]),
        "the page's statement": run("SELECT * FROM items ORDER BY id LIMIT 51", []),
    })  # fmt: skip


def statements(path: Path) -> None:
    conn = connect_readonly(path, True)  # sqlapi's own function registered
    tables = {t.name: t for t in load_schema(path, True).tables}
    for child in ("reviews", "lines"):
        print(f"  {child}:")
        for name, median in one_child(conn, tables[child]).items():
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
