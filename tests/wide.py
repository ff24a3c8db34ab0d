"""A database of many identical tables (20 columns each), for the OpenAPI document at
scale: the api tests check its size and validity, the system tests Swagger UI on it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

TABLES = 200


PER_TABLE = 25_000  # bytes of the compact JSON document, the bound


PAINTED_WITHIN = 10.0  # seconds from navigation to the first painted operation, the issue's


def build_wide_db(path: Path, tables: int) -> Path:
    """`tables` tables of 20 columns: id INTEGER PRIMARY KEY and 19 of INTEGER, TEXT and
    REAL in turn (as test_openapi.py's large-schema test)."""
    conn = sqlite3.connect(path)
    columns = ", ".join(f"c{j} {('INTEGER', 'TEXT', 'REAL')[j % 3]}" for j in range(19))
    for t in range(tables):
        conn.execute(f"CREATE TABLE t{t:04d} (id INTEGER PRIMARY KEY, {columns})")
    conn.execute("INSERT INTO t0000 (id, c0, c1, c2) VALUES (1, 7, 'seven', 7.5)")
    conn.commit()
    conn.close()
    return path
