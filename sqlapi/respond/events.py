"""Live updates over Server-Sent Events: `change` when another process commits, and for
tables with an INTEGER key each new row as `row` with `id:`, resumable by Last-Event-ID.
The stream takes the change signal *before* reading new rows, then waits on it: a commit
that lands while it reads is not missed. No queue per subscriber: a slow one delays only
itself."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from sqlapi.model.encoding import dumps, shape_rows, value_converter
from sqlapi.model.errors import SchemaChanged, Unavailable
from sqlapi.model.schema import Column, Table
from sqlapi.request.types import Filter, Options, RowsRequest, SortKey
from sqlapi.respond.answers import Answer
from sqlapi.sql.rows import build_rows_query
from sqlapi.store.database import Database

BATCH = 500
RETRY_MS = 2000
OLDEST = -(2**63)


@dataclass
class Subscribers:
    """Open event streams, bounded exactly (a place is taken before anything awaits);
    `closing` ends them when the server shuts down."""

    limit: int
    open: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def reserve(self) -> Callable[[], None]:
        """Take a place now (a 503 problem if none is left); the function returned gives it
        back, once however often it is called."""
        if self.open >= self.limit:
            raise Unavailable(f"{self.limit} event streams are open; try again later.")
        self.open += 1
        taken = True

        def release() -> None:
            nonlocal taken
            if taken:
                taken = False
                self.open -= 1

        return release


@dataclass(frozen=True)
class Subscription:
    """One stream: the rows it sends (`base`: its table, filters, columns, the caller's
    scope), the key they are sent by, where it starts, and until when it may last (the
    caller's token's expiry)."""

    base: RowsRequest
    options: Options
    key: Column | None
    last: int | None
    expires: float | None
    keepalive_s: float


def integer_key(table: Table) -> Column | None:
    keys = table.key_columns
    return keys[0] if len(keys) == 1 and keys[0].json_type == "integer" else None


def event(kind: str, data: bytes, event_id: object = None) -> bytes:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + data + b"\n\n"


async def newest_key(db: Database, base: RowsRequest, key: Column) -> int:
    """The key of the newest row the caller may see: a stream sends only rows after it."""
    newest = build_rows_query(
        RowsRequest(base.table, (key,), base.scope, sort=(SortKey(key, True),), limit=1)
    )
    top = await db.fetch_one(newest.sql, newest.params)
    return int(top[0]) if top else OLDEST


async def rows_after(
    db: Database, base: RowsRequest, key: Column, last: int, options: Options
) -> AsyncIterator[tuple[int, bytes]]:
    """(key, row JSON) of every matching row with key > last, in key order, in batches."""
    names = [c.name for c in base.select]
    convert = value_converter(base.select, options.ints_as_strings, options.json_columns)
    while True:
        page = dataclasses.replace(
            base, filters=(*base.filters, Filter(key, "gt", last)), limit=BATCH
        )
        query = build_rows_query(page)
        fetched = await db.fetch_all(query.sql, query.params, inline=query.inline)
        position = query.key_positions[0]
        for row in fetched[:BATCH]:
            last = row[position]
            (shaped,) = shape_rows(names, [row[: query.width]], "objects", convert)
            yield last, dumps(shaped)
        if len(fetched) <= BATCH:
            return


def stream(
    db: Database,
    subscription: Subscription,
    subscribers: Subscribers,
    release: Callable[[], None],
    count: Callable[[int], None] = lambda _: None,
) -> Answer:
    """The event stream of `subscription`, holding its place among `subscribers` until it
    ends (or, never started, until it is collected); `count(+1)` when it starts and
    `count(-1)` when it ends (a gauge of open streams)."""
    body = _events(db, subscription, subscribers, release, count)
    weakref.finalize(body, release)  # a stream never started gives its place back too
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return Answer(body=body, media_type="text/event-stream", headers=headers)


async def _events(
    db: Database,
    asked: Subscription,
    subscribers: Subscribers,
    release: Callable[[], None],
    count: Callable[[int], None],
) -> AsyncIterator[bytes]:
    last = asked.last
    count(1)
    try:
        yield f"retry: {RETRY_MS}\n\n".encode()
        while True:
            signal = db.change_signal()  # taken before reading: no commit slips between
            try:
                if asked.key is not None and last is not None:
                    rows = rows_after(db, asked.base, asked.key, last, asked.options)
                    async for row_id, data in rows:
                        last = row_id
                        yield event("row", data, row_id)
            except SchemaChanged:
                return  # the table is gone or changed: a reconnect gets it anew, or a 404
            except Unavailable:
                pass  # the file is gone or busy for now: read again at the next change
            changed = await _next_change(signal, subscribers.closing, asked)
            if changed is None:
                return  # the server is shutting down, or the caller's token expired
            if not changed:
                yield b": keep-alive\n\n"
                continue
            yield event("change", dumps({"table": asked.base.table.name, "version": db.version}))
    finally:
        release()
        count(-1)


async def _next_change(
    signal: asyncio.Event, closing: asyncio.Event, asked: Subscription
) -> bool | None:
    """True at the next commit, False after the keep-alive interval, None when the stream
    must end (the server closes, the caller's token expires: it reconnects with a fresh
    one)."""
    wait = asked.keepalive_s
    if asked.expires is not None:  # the token's claims hold until it expires
        wait = min(wait, max(0.0, asked.expires - time.time()))
    waiters = [asyncio.ensure_future(signal.wait()), asyncio.ensure_future(closing.wait())]
    try:
        done, _ = await asyncio.wait(waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    if closing.is_set() or (asked.expires is not None and time.time() >= asked.expires):
        return None
    return bool(done)
