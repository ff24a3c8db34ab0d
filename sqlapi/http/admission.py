"""Admission: at most N API requests are worked on at once; the rest wait their turn, in
the order they came. None is refused.

Why: one event loop serves every request. With hundreds of connections all asking at
once, each turn of the loop runs hundreds of requests' work, and a request that awaits
a pool query needs a few such turns to finish: it waits far longer than one answered on
the loop, and the slowest answers (p99) stretch to seconds. Letting a bounded number in
at a time keeps each turn short; the others wait first in first out, so every request
waits about as long as any other. Measured in bench/load.py (docs/benchmarks.md).

A request holds its place from when it is let in until its response is ready to send:
streamed bodies (exports, event streams) do not hold one while they stream. Only the API
blueprint's requests take a place (its first hook); health and metrics never wait, so a
busy server does not look like a dead one to its orchestrator.
"""

from __future__ import annotations

import asyncio


class Admission:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.waiting = 0  # requests not let in yet (a gauge in /metrics)
        self._places = asyncio.Semaphore(limit)

    async def acquire(self) -> None:
        self.waiting += 1
        try:
            await self._places.acquire()
        finally:
            self.waiting -= 1

    def release(self) -> None:
        self._places.release()
