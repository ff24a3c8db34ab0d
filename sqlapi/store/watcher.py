"""Follows the served file: a commit by another process is a new `version` (and wakes the
event streams); a new schema or a replaced file is read anew; a file that is gone or
unreadable makes the database unavailable (503s) until it is back.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlapi.model.errors import ProblemError
from sqlapi.store.errors import is_busy
from sqlapi.store.pool import Connection, Pool
from sqlapi.store.readonly import WATCHER, FileVersion, file_identity

log = logging.getLogger("sqlapi")
_VERSIONS = "SELECT * FROM pragma_data_version, pragma_schema_version"
Refresher = Callable[[], Awaitable[FileVersion]]


def _unreadable(error: Exception) -> str:
    """Why the file cannot be served, for the 503s while it lasts."""
    if isinstance(error, ProblemError):
        return error.detail
    if isinstance(error, OSError):
        missing = error.errno == errno.ENOENT
        return f"The database file is {'missing' if missing else (error.strerror or error)}."
    return f"The database file cannot be read: {error}."


def file_stamp(path: Path) -> str:
    """What the database's content is, as far as its files tell: the same in every process
    and worker serving the file, and changed by every commit (which appends to the -wal
    file or rewrites the database file) unless the file clock is too coarse to tell it
    from the one before (see `Watcher.look`). The base of every ETag. An empty -wal (made
    by the first reader of a WAL file, or truncated by a checkpoint) holds nothing: the
    content is the database file's, as when there is no -wal.

    Only `stat`: sqlapi never opens the file outside SQLite, because closing any
    descriptor on it drops every POSIX lock this process holds on it, SQLite's own
    included, and a writer could then change pages a reader is reading (this was tried:
    reading the header's change counter here made the 64-reader test read a malformed
    page)."""
    stamps = []
    for suffix in ("", "-wal"):
        try:
            found = os.stat(f"{path}{suffix}")
        except OSError:
            continue
        if suffix and not found.st_size:
            continue
        stamps.append(f"{found.st_ino}:{found.st_size}:{found.st_mtime_ns}")
    return hashlib.blake2s("|".join(stamps).encode(), digest_size=8).hexdigest()


class Watcher:
    """Looks at the file every `poll_interval_s` (`start`), or when asked (`look`).

    `exposed_from` is the file and schema version the exposed schema was read from; when
    the file no longer matches it, `refresh` reads it anew (and renews the connections)
    and returns what it read."""

    def __init__(
        self,
        path: Path,
        pool: Pool,
        refresh: Refresher,
        *,
        exposed_from: FileVersion | None,
        poll_interval_s: float,
        on_change: Callable[[], None],
    ) -> None:
        self.path = path
        self.pool = pool
        self.refresh = refresh
        self.exposed_from = exposed_from
        self.poll_interval_s = poll_interval_s
        self.on_change = on_change
        self.version = 0  # changes seen since the start
        self.stamp = self._file_stamp = file_stamp(path)  # the ETag base; the files' own
        self._changed = asyncio.Event()
        self._connection: Connection | None = None
        self._data_version: int | None = None  # as `_connection` last read it
        self._looking = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Look now, before anything is served, then every `poll_interval_s`."""
        await self._look_on()
        self._task = asyncio.create_task(self._watch())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._connection is not None:
            await self._connection.close()
            self._connection = None

    def change_signal(self) -> asyncio.Event:
        """Set at the next commit by another process. Take it *before* reading, then wait:
        a commit in between is not missed."""
        return self._changed

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.poll_interval_s)
            await self._look_on()

    async def _look_on(self) -> None:
        try:
            await self.look()
        except Exception:  # a watcher that dies would leave the API stale: log, go on
            log.exception("watching %s failed; trying again", self.path)

    async def look(self) -> None:
        """Follow the file now: gone or unreadable -> unavailable; replaced, back, or with a
        new schema -> read anew onto new connections; any commit -> a new `version`."""
        async with self._looking:
            try:
                identity = file_identity(self.path)
                if self._connection is None or self._connection.identity != identity:
                    if self._connection is not None:
                        self.pool.retire(self._connection)
                    self._connection = None
                    self._data_version = None  # one connection's count means nothing to another
                    self._connection = await self.pool.connect(WATCHER)
                rows = await self._connection.conn.execute_fetchall(_VERSIONS)
                data_version, schema_version = next(iter(rows))
            except (OSError, sqlite3.Error, ProblemError) as error:
                if isinstance(error, sqlite3.Error) and is_busy(error):
                    return  # a writer holds the file for now: look again at the next poll
                return self._lost(_unreadable(error))
            current = FileVersion(identity, schema_version)
            self.exposed_from = self.exposed_from or current
            refreshed = False
            if self.pool.unavailable is not None or current != self.exposed_from:
                refreshed = await self._read_anew()
                if not refreshed:
                    return
            # A commit shows in the files' stamp, compared with the one last counted (from
            # construction on, so one before the first look counts too), and in
            # data_version, which also sees a commit the file clock is too coarse to tell
            # from the one before. Then the ETag base takes this worker's count, so that
            # no client gets a 304 for rows that changed (workers disagree on the tag
            # until the next commit the clock does tell apart: more 200s, never stale).
            stamp = file_stamp(self.path)
            committed = self._data_version not in (None, data_version)
            self._data_version = data_version
            if refreshed or committed or stamp != self._file_stamp:
                unseen = stamp == self._file_stamp
                self._file_stamp = stamp
                self._changed_now(f"{stamp}.{self.version + 1}" if unseen else stamp)

    async def _read_anew(self) -> bool:
        try:
            self.exposed_from = await self.refresh()
        except (OSError, sqlite3.Error, ProblemError) as error:
            self._lost(_unreadable(error))
            return False
        if self.pool.unavailable is not None:
            log.warning("%s: available again", self.path)
            self.pool.unavailable = None
        return True

    def _lost(self, reason: str) -> None:
        if reason != self.pool.unavailable:
            log.warning("%s: %s Answering 503 until it is back.", self.path, reason.rstrip("."))
        self.pool.unavailable = reason

    def _changed_now(self, stamp: str) -> None:
        self.version += 1
        self.stamp = stamp
        self.on_change()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()
