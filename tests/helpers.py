"""What many tests need: waiting for an observable condition instead of sleeping, small
databases written by "another program" than sqlapi, and event loops that end cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


def wait_for(
    check: Callable[[], T],
    seconds: float = 10,
    *,
    what: str | Callable[[], str] = "",
    ignoring: tuple[type[BaseException], ...] = (),
    every: float = 0.05,
) -> T:
    """The first truthy value of `check()`, polled every `every` seconds; fails after
    `seconds` saying `what` was awaited (a string, or a function that tells it then) and
    the last value seen. Exceptions of the kinds in `ignoring` (a server not listening
    yet: OSError) count as a false value."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value: Any = check()
        except ignoring as error:
            value = error
        else:
            if value:
                return value  # type: ignore[no-any-return]
        if time.monotonic() >= deadline:
            awaited = (what() if callable(what) else what) or "the condition"
            raise AssertionError(
                f"{awaited} still not true after {seconds} s (last value: {value!r})"
            )
        time.sleep(every)


def write(path: Path, *statements: str, params: Any = ()) -> None:
    """Commit statements, one at a time, from a connection of another program than sqlapi
    (creating the file if need be); `params` go with every statement."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for statement in statements:
            conn.execute(statement, params) if params else conn.execute(statement)
    finally:
        conn.close()


def make_db(path: Path, table: str, rows: int = 3, journal: str = "delete") -> Path:
    """A database of one table `table` (id, title), its titles "<table> 0", "<table> 1"...
    `journal`: "delete" (rollback: one file) or "wal"."""
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA journal_mode = {journal}")
        conn.execute(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY, title TEXT NOT NULL)")
        conn.executemany(
            f"INSERT INTO {table} (title) VALUES (?)", [(f"{table} {i}",) for i in range(rows)]
        )
        conn.commit()
    finally:
        conn.close()
    return path


def make_wal_db(path: Path, values: tuple[str, ...] = ("a", "b")) -> Path:
    """A WAL database of one table t (id, v), one row per value."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
        conn.executemany("INSERT INTO t (v) VALUES (?)", [(v,) for v in values])
        conn.commit()
    finally:
        conn.close()
    return path


def leased(pool: Any) -> int:
    """How many of a sqlapi pool's connections are running a query now (are leased)."""
    return int(pool.size - pool._idle.qsize())


def finish_loop(loop: asyncio.AbstractEventLoop) -> None:
    """What asyncio.run does once its coroutine has returned, for a loop a test ran on a
    thread of its own: cancel the tasks still pending (and let them unwind on this loop,
    in their own contexts, not in the garbage collector's), close async generators and
    the default executor, close the loop."""
    try:
        tasks = asyncio.all_tasks(loop)
        for task in tasks:
            task.cancel()
        if tasks:
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        for task in tasks:
            if not task.cancelled() and task.exception() is not None:
                loop.call_exception_handler(
                    {
                        "message": "unhandled exception in a task still pending at the end",
                        "exception": task.exception(),
                        "task": task,
                    }
                )
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
