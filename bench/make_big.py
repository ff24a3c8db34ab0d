"""Deterministic files for benchmarks.

python bench/make_big.py [PATH] [ROWS]   a 1,000,000-row table (default bench/big.db):
                                         indexed columns, a foreign key, ~100-byte text;
                                         and as many reviews of the first tenth of the
                                         items (about 10 each), for `_embed`
build_wide(PATH)                         1,000 tables of 20 columns, for startup
"""

from __future__ import annotations

import random
import sqlite3
import sys
from pathlib import Path

WORDS = [
    "amber",
    "basalt",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lagoon",
    "meadow",
    "nectar",
    "obsidian",
    "prairie",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "valley",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
]


def build(path: Path, rows: int) -> None:
    rng = random.Random(1_000_000)
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    conn.executescript(
        """
        CREATE TABLE categories (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
        CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            category_id INTEGER NOT NULL REFERENCES categories(id),
            name TEXT NOT NULL,
            price REAL,
            created TEXT NOT NULL,
            stock INTEGER
        );
        CREATE TABLE reviews (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES items(id),
            stars INTEGER NOT NULL,
            body TEXT
        );
        """
    )
    conn.executemany(
        "INSERT INTO categories VALUES (?, ?)", [(i, f"category {i}") for i in range(1, 501)]
    )

    def generate():  # type: ignore[no-untyped-def]
        for i in range(1, rows + 1):
            name = " ".join(rng.choice(WORDS) for _ in range(13))[:100]
            yield (i, rng.randint(1, 500), name, round(rng.uniform(1, 500), 2),
                   f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", rng.randint(0, 1000))  # fmt: skip

    conn.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?)", generate())
    conn.executemany(
        "INSERT INTO reviews VALUES (?, ?, ?, ?)",
        ((i, rng.randint(1, max(1, rows // 10)), rng.randint(1, 5),
          " ".join(rng.choice(WORDS) for _ in range(6))) for i in range(1, rows + 1)),
    )  # fmt: skip
    conn.execute("CREATE INDEX reviews_item ON reviews(item_id)")
    conn.execute("CREATE INDEX items_category ON items(category_id)")
    conn.execute("CREATE INDEX items_price ON items(price)")
    conn.commit()
    conn.execute("VACUUM")
    conn.close()


DECLARED = ["INTEGER", "TEXT", "REAL", "BLOB", "NUMERIC", "BOOLEAN", "DATE", ""]


def build_wide(path: Path, tables: int = 1000, columns: int = 20) -> None:
    """`tables` tables of `columns` columns (an INTEGER key and every kind of declared
    type), each with an index: what introspection and the OpenAPI document must read."""
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path)
    for t in range(tables):
        typed = ", ".join(
            f"c{j} {DECLARED[(t + j) % len(DECLARED)]}".rstrip() for j in range(1, columns)
        )
        conn.execute(f"CREATE TABLE t{t:04d} (id INTEGER PRIMARY KEY, {typed})")
        conn.execute(f"CREATE INDEX t{t:04d}_c1 ON t{t:04d}(c1)")
    conn.commit()
    conn.close()


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("big.db")
    build(target, int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
    print(f"wrote {target}")
