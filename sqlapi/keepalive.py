"""hypercorn's keep-alive timeout, without a task made and cancelled for every request.

hypercorn (0.17, 0.18) gives each connection an idle task: when a response ends it
starts one (which itself starts another, for `wait_for`, and a timer), and when the next
request arrives it cancels it and waits for the cancellation. On a busy keep-alive
connection that is about 100,000 instructions per request, 5.8 % of a row by key
(docs/benchmarks.md, counted with bench/instructions.py).

Here the connection keeps one watcher that sleeps until the idle period would end,
looks at when the connection last became idle, and sleeps again or closes it: the same
timeout (`keep_alive_timeout`), the same prompt close of idle connections at shutdown,
two attribute writes per request instead of two tasks, and one sleeping task per open
connection. Installed by `install()` only where hypercorn's connection server has the
shape this was written against, so a hypercorn that changes falls back to its own
behaviour (a test says which is running).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hypercorn.asyncio import run, tcp_server


class KeepAlive:
    """Stands in for hypercorn's `AsyncioSingleTask` as a connection's `idle_task`."""

    def __init__(self, server: tcp_server.TCPServer) -> None:
        self.server = server
        self.idle_since: float | None = None
        self.watcher: asyncio.Task[None] | None = None

    async def restart(self, task_group: Any, action: Any) -> None:
        """The connection is idle from now (hypercorn's `action` is replaced by `watch`)."""
        self.idle_since = self.server.loop.time()
        if self.watcher is None:
            self.watcher = task_group._task_group.create_task(self.watch())

    async def stop(self) -> None:
        """A request arrived: not idle (the watcher notices when it next wakes)."""
        self.idle_since = None

    def end(self) -> None:
        if self.watcher is not None:
            self.watcher.cancel()

    async def watch(self) -> None:
        server = self.server
        timeout = server.config.keep_alive_timeout
        terminated = server.context.terminated
        try:
            while self.idle_since is not None:
                left = self.idle_since + timeout - server.loop.time()
                if left <= 0 or terminated.is_set():
                    await asyncio.shield(server._initiate_server_close())
                    return
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(left):  # in this task: no second task
                        await terminated.wait()
        finally:
            self.watcher = None


class TCPServer(tcp_server.TCPServer):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.idle_task = KeepAlive(self)  # type: ignore[assignment]

    async def _close(self) -> None:
        await super()._close()
        self.idle_task.end()  # type: ignore[attr-defined]


def fits() -> bool:
    """Whether the installed hypercorn's connection server is the one this replaces."""
    stock = tcp_server.TCPServer
    replaced = ("_initiate_server_close", "_close", "_idle_timeout")
    return (
        getattr(run, "TCPServer", None) in (stock, TCPServer)
        and hasattr(tcp_server, "AsyncioSingleTask")
        and all(hasattr(stock, name) for name in replaced)
    )


def install() -> bool:
    """Make hypercorn's worker use `TCPServer`; False (and nothing changed) if it does not fit."""
    if not fits():
        return False
    setattr(run, "TCPServer", TCPServer)  # noqa: B010 (the module does not export it)
    return True
