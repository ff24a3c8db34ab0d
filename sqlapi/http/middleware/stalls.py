"""A streamed answer (an export, an event stream) whose client stops reading is cut after
`timeout_s` without progress: otherwise a client that never reads holds its export slot,
its connection and the batch waiting to be sent for as long as it keeps the socket
open. Answers sent whole are the server's to time out (hypercorn's own timeouts)."""

from __future__ import annotations

import asyncio

from sqlapi.http.asgi import Asgi, Message, Receive, Scope, Send


class SlowReaders:
    """ASGI middleware: each chunk of a streamed body must be taken by the client (the
    server's send returns) within `timeout_s`, or the answer ends there."""

    def __init__(self, app: Asgi, timeout_s: float) -> None:
        self.app = app
        self.timeout_s = timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def guarded(message: Message) -> None:
            if message["type"] == "http.response.body" and message.get("more_body"):
                async with asyncio.timeout(self.timeout_s):  # in this task: a client that
                    await send(message)  # leaves still cancels it (wait_for could swallow that)
            else:
                await send(message)

        await self.app(scope, receive, guarded)
