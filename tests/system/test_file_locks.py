"""Following the file never drops this process's locks on it: another process checks."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from sqlapi.store.database import Database
from tests.helpers import make_db
from tests.processes import spawn


@pytest.mark.slow
def test_following_the_file_keeps_this_processs_locks_on_it(tmp_path: Path) -> None:
    """Closing any descriptor on a file drops every POSIX lock the process holds on it,
    SQLite's included: the watcher must not open the file itself. While a reader here
    holds its lock, another process can still not take the file for writing."""
    path = make_db(tmp_path / "t.db", "t")
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (3,)  # a SHARED lock

    async def look() -> None:
        db = Database(path, poll_interval_s=3600)
        await db.open()  # looks at the file once
        await db.look()
        await db.close()

    try:
        asyncio.run(look())
        writer = spawn(
            [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], "
             "timeout=0, isolation_level=None); c.execute('BEGIN EXCLUSIVE')", str(path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        _, error = writer.communicate(timeout=60)
    finally:
        reader.close()
    assert writer.returncode != 0 and "database is locked" in error, error
