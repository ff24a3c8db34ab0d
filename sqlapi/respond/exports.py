"""The one export streamer: every matching row (or `_limit` of them) of any statement, in
batches, in constant memory, written by the format registry. The first batch, and its
related rows, are read before the answer starts: a statement that fails at once (the time
limit, pages that cannot be read) is a problem response, not a cut body."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlapi.model.encoding import Convert
from sqlapi.model.schema import Column
from sqlapi.model.values import Row, Value
from sqlapi.respond.answers import Answer
from sqlapi.respond.formats import Format
from sqlapi.respond.related import Members
from sqlapi.store.database import Database

HEAVY_BATCH = 1024 * 1024  # bytes of an encoded batch: later ones are encoded in a thread


@dataclass(frozen=True)
class Export:
    """What to stream: a statement; of each row its first `width` values, named `names`
    (`columns` when they are a table's); at most `limit` rows; each batch's related rows
    (`members`); a file name for formats that are saved (CSV)."""

    sql: str
    params: Sequence[Value]
    names: list[str]
    convert: Convert | None
    filename: str
    width: int | None = None
    columns: Sequence[Column] | None = None
    limit: int | None = None
    arrays: bool = False
    members: Callable[[list[Row]], Awaitable[Members]] | None = None


async def export(db: Database, asked: Export, fmt: Format) -> Answer:
    batches = db.stream(asked.sql, asked.params)
    try:
        first: list[Row] = (await anext(batches, []))[: asked.limit]
        members = await asked.members(first) if asked.members and first else None
    except BaseException:
        await batches.aclose()
        raise
    body = _body(asked, fmt, batches, first, members)
    return Answer(body=body, media_type=fmt.media_type, headers=fmt.disposition(asked.filename))


async def _body(
    asked: Export,
    fmt: Format,
    batches: AsyncIterator[list[Row]],
    batch: list[Row],
    members: Members | None,
) -> AsyncIterator[bytes]:
    remaining, heavy = asked.limit, False

    def encode(rows: list[Row], related: Members | None) -> bytes:
        if asked.width is not None and rows and len(rows[0]) > asked.width:
            rows = [r[: asked.width] for r in rows]
        return fmt.batch(
            asked.names, rows, asked.convert, arrays=asked.arrays, columns=asked.columns,
            members=related,
        )  # fmt: skip

    try:
        if header := fmt.header(asked.names):
            yield header
        while batch:  # each cut to what `limit` leaves
            if remaining is not None:
                remaining -= len(batch)
            # batches of megabytes (huge values) are encoded off the event loop
            chunk = (
                await asyncio.to_thread(encode, batch, members) if heavy else encode(batch, members)
            )
            heavy = len(chunk) > HEAVY_BATCH
            yield chunk
            if remaining == 0:
                return
            batch = (await anext(batches, []))[:remaining]
            members = await asked.members(batch) if asked.members and batch else None
    finally:
        await batches.aclose()  # type: ignore[attr-defined]
