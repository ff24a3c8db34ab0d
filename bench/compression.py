"""What compression costs, per codec and level: a 50-row JSON page compressed whole, and the
1,000-row NDJSON batches of an export (what it sends per message) compressed and flushed by
one stream's encoder; microseconds per call and the compressed size as a share of the
original. Also what the middleware adds to a request it does not compress.

    python bench/compression.py

The bodies are as the app serves them: the page from the sample database's books, the
batches from bench/make_big.py's items table (10,000 of its rows, in a temporary file).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from make_big import build

from sqlapi.app import create_app
from sqlapi.config import Settings, sample_database
from sqlapi.http.middleware.compression import (
    LEVELS,
    PREFERENCE,
    STREAM_LEVELS,
    Compression,
    incremental,
    whole,
)

ALTERNATIVES = {"gzip": [1, 5, 6, 9], "br": [1, 4, 5, 6], "zstd": [1, 3, 6]}


async def served(database: Path, url: str) -> list[bytes]:
    """The body messages the app sends for `url`."""
    app = create_app(Settings(database=database))
    inner, chunks = app.asgi_app, []

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Any) -> None:
            if message["type"] == "http.response.body" and message["body"]:
                chunks.append(message["body"])
            await send(message)

        await inner(scope, receive, sending if scope["type"] == "http" else send)

    app.asgi_app = recording  # type: ignore[method-assign]
    async with app.test_app():
        await (await app.test_client().get(url)).get_data()
    return chunks


def per_call_us(function: Any, target: float = 0.2) -> float:
    """Median of 5 rounds, each about `target` seconds long."""
    number, _ = timeit.Timer(function).autorange()
    number = max(1, int(number * target / 0.2))
    return statistics.median(
        t / number * 1e6 for t in timeit.repeat(function, number=number, repeat=5)
    )


def stream_us(coding: str, level: int, batches: list[bytes]) -> tuple[float, float]:
    """(median µs per batch, compressed share) for batches fed in order to one encoder
    (the first one left out: it includes making the encoder); five streams."""
    times, sizes = [], 0
    for _ in range(5):
        encoder, sizes = incremental(coding, level), 0
        for i, batch in enumerate(batches):
            began = time.perf_counter()
            out = encoder(batch, False)
            if i:
                times.append(time.perf_counter() - began)
                sizes += len(out)
    return statistics.median(times) * 1e6, sizes / sum(map(len, batches[1:]))


def codecs(page: bytes, batches: list[bytes]) -> None:
    size = statistics.median(map(len, batches))
    print(f"page: {len(page):,} bytes (50 rows); {len(batches)} batches of {size:,.0f} bytes")
    print(
        f"{'coding':7} {'level':>5} {'page µs':>8} {'page size':>9} {'batch µs':>9} {'batch size':>10}"
    )
    for coding in PREFERENCE:
        for level in ALTERNATIVES[coding]:
            compress = whole(coding, level)
            page_us = per_call_us(lambda: compress(page))  # noqa: B023
            batch_us, batch_share = stream_us(coding, level, batches)
            chosen = " *" if LEVELS[coding] == level else ""
            chosen += " s" if STREAM_LEVELS[coding] == level else ""
            print(f"{coding:7} {level:>5} {page_us:>8.0f} {len(compress(page)) / len(page):>9.1%} "
                  f"{batch_us:>9.0f} {batch_share:>10.1%}{chosen}")  # fmt: skip
    print("* the default level of a body sent whole; s: of a stream's batches")


def overhead() -> None:
    """One request through the middleware that it leaves uncompressed, minus the bare app."""
    small = b'{"id": 1}'

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"etag", b'"e"')]})  # fmt: skip
        await send({"type": "http.response.body", "body": small, "more_body": False})

    async def send(message: Any) -> None:
        pass

    wrapped = Compression(app)
    plain = [(b"host", b"x"), (b"accept", b"*/*"), (b"user-agent", b"bench")]
    gzip = [*plain, (b"accept-encoding", b"gzip, deflate, br, zstd")]
    loop = asyncio.new_event_loop()

    def run(target: Any, headers: list[tuple[bytes, bytes]]) -> Any:
        scope = {"type": "http", "method": "GET", "headers": headers}
        return lambda: loop.run_until_complete(target(scope, None, send))

    bare = per_call_us(run(app, plain))
    print(f"a {len(small)}-byte body, per request, beyond the bare app's {bare:.1f} µs:")
    print(f"  no Accept-Encoding:  {per_call_us(run(wrapped, plain)) - bare:+.2f} µs")
    print(
        f"  Accept-Encoding set: {per_call_us(run(wrapped, gzip)) - bare:+.2f} µs (not compressed: small)"
    )
    loop.close()


def main() -> None:
    page = b"".join(asyncio.run(served(sample_database(), "/api/tables/books/rows?_limit=50")))
    with tempfile.TemporaryDirectory() as folder:
        build(Path(folder) / "items.db", 10_000)
        batches = asyncio.run(
            served(Path(folder) / "items.db", "/api/tables/items/rows?_format=ndjson")
        )
    codecs(page, batches)
    print()
    overhead()


if __name__ == "__main__":
    main()
