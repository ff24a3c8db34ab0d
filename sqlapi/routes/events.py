"""Live updates over Server-Sent Events: `change` when another process commits, and for
tables with an INTEGER key each new row as `row` with `id:`, resumable by Last-Event-ID."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import weakref
from collections.abc import AsyncIterator

from quart import Blueprint, Response, request

from sqlapi.db import Database
from sqlapi.encoding import dumps, shape_rows, value_converter
from sqlapi.errors import SchemaChanged, Unavailable
from sqlapi.gateway import Gateway
from sqlapi.params import EVENTS, Options, parse_int, parse_rows
from sqlapi.query import Filter, RowsRequest, SortKey, build_rows_query
from sqlapi.routes import caller, documented_apart, untagged
from sqlapi.routes.metrics import EVENT_STREAMS
from sqlapi.schema import Column, Table

BATCH = 500
RETRY_MS = 2000


def integer_key(table: Table) -> Column | None:
    keys = table.key_columns
    return keys[0] if len(keys) == 1 and keys[0].json_type == "integer" else None


def event(kind: str, data: bytes, event_id: object = None) -> bytes:
    head = f"event: {kind}\n" + (f"id: {event_id}\n" if event_id is not None else "")
    return head.encode() + b"data: " + data + b"\n\n"


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


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("events", __name__)

    @routes.get("/tables/<table_name>/events")
    @documented_apart
    @untagged
    async def events(table_name: str) -> Response:
        """Live updates of a table (Server-Sent Events)

        `event: change` when another process commits to the file; for tables with an INTEGER
        primary key also `event: row` with `id:` for each new row. Send `Last-Event-ID` (as
        EventSource does on reconnect) to receive the rows after that id. Column filters and
        `_select` narrow the rows."""
        who = caller()
        table = gateway.table(table_name, who)
        context = gateway.context(who)
        base, options = parse_rows(table, request.args.items(multi=True), context, accept=EVENTS)
        key = integer_key(table)
        last_id = request.headers.get("Last-Event-ID")
        last = parse_int(last_id, "Last-Event-ID") if key is not None and last_id else None
        subscribers, db = gateway.subscribers, gateway.db
        release = subscribers.reserve()  # before anything awaits: the bound is exact
        try:
            if key is not None and last is None:  # start from now: only rows added from here on
                newest = build_rows_query(
                    RowsRequest(table, (key,), context.scope, sort=(SortKey(key, True),), limit=1)
                )
                top = await db.fetch_one(newest.sql, newest.params)
                last = top[0] if top else -(2**63)
        except BaseException:
            release()
            raise

        async def stream() -> AsyncIterator[bytes]:
            nonlocal last
            EVENT_STREAMS.inc()
            try:
                yield f"retry: {RETRY_MS}\n\n".encode()
                while True:
                    signal = db.change_signal()  # taken before reading: no commit slips between
                    try:
                        if key is not None and last is not None:
                            async for row_id, data in rows_after(db, base, key, last, options):
                                last = row_id
                                yield event("row", data, row_id)
                    except SchemaChanged:
                        return  # the table is gone or changed: a reconnect gets it anew, or a 404
                    except Unavailable:
                        pass  # the file is gone or busy for now: read again at the next change
                    closing = subscribers.closing
                    waiters = [
                        asyncio.ensure_future(signal.wait()),
                        asyncio.ensure_future(closing.wait()),
                    ]
                    wait = gateway.settings.keepalive_s
                    if who.expires is not None:  # the token's claims hold until it expires
                        wait = min(wait, max(0.0, who.expires - time.time()))
                    try:
                        done, _ = await asyncio.wait(
                            waiters, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                        )
                    finally:
                        for waiter in waiters:
                            waiter.cancel()
                    if closing.is_set():
                        return  # the server is shutting down: end the stream cleanly
                    if who.expires is not None and time.time() >= who.expires:
                        return  # the client reconnects with a fresh token
                    if not done:
                        yield b": keep-alive\n\n"
                        continue
                    yield event("change", dumps({"table": table.name, "version": db.version}))
            finally:
                release()
                EVENT_STREAMS.dec()

        body = stream()
        weakref.finalize(body, release)  # a stream never started gives its place back too
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        return Response(body, content_type="text/event-stream", headers=headers)

    return routes
