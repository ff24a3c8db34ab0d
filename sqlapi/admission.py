"""Admission: at most N requests are worked on at once; the rest wait their turn, in the
order they came. None is refused.

Why: one event loop serves every request. With hundreds of connections all asking at
once, each turn of the loop runs hundreds of requests' work, and a request that awaits
a pool query needs a few such turns to finish: it waits far longer than one answered on
the loop, and the slowest answers (p99) stretch to seconds. Letting a bounded number in
at a time keeps each turn short; the others wait first in first out, so every request
waits about as long as any other. Measured in bench/load.py (docs/benchmarks.md).

A request counts from when it is let in until its response starts: streamed bodies
(exports, event streams) do not hold a place while they stream. Health and metrics are
never held back, so a busy server does not look like a dead one to its orchestrator.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable, ASGISendEvent, Scope

Asgi = Callable[[Scope, ASGIReceiveCallable, ASGISendCallable], Awaitable[None]]


class Admission:
    """ASGI middleware around Quart's `asgi_app` (`app.asgi_app = Admission(...)`); the
    `ungated` paths skip the line."""

    def __init__(self, inner: Asgi, limit: int, ungated: Iterable[str]) -> None:
        self.inner = inner
        self.ungated = frozenset(ungated)
        self.waiting = 0  # requests not let in yet (a gauge in /metrics)
        self._places = asyncio.Semaphore(limit)

    async def __call__(
        self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable
    ) -> None:
        if scope["type"] != "http" or scope["path"] in self.ungated:
            await self.inner(scope, receive, send)
            return
        self.waiting += 1
        try:
            await self._places.acquire()
        finally:
            self.waiting -= 1
        holding = True

        async def sending(message: ASGISendEvent) -> None:
            nonlocal holding
            if holding and message["type"] == "http.response.start":
                holding = False
                self._places.release()
            await send(message)

        try:
            await self.inner(scope, receive, sending)
        finally:
            if holding:
                self._places.release()
