"""How Quart meets each HTTP request: the same as Quart's own, with fewer tasks and sends.

Quart's ASGIHTTPConnection starts two tasks per request, one that handles it and one
(the watcher) that reads the body and notices the client leaving, then waits for the
first to end; it sends a body as one message per chunk and then an empty last one.
Here:

- the handling runs in the task the server already made for the request;
- the watcher starts only when the handling first waits for something (a callback the
  event loop runs then), and not at all once a whole body is on its way: a page or a
  row by key, whose query runs on the loop, is answered without one. A request that
  waits (a query on the pool, an export, an event stream) gets its watcher, and when
  the client leaves first the handling is cancelled, as with Quart's, so a query is
  interrupted and nothing runs for nobody;
- a body held in memory goes out as one last message, not as a chunk and an empty end.

Measured side by side in docs/benchmarks.md (row by key +10 % requests per second,
which keeps it above 2.5x Datasette's). It overrides two private methods of Quart's
class, so `install_connection` puts it in place (with Quart's own hook,
`app.asgi_http_class`) only where Quart's class has the shape it was written against
(Quart 0.20 to 0.22, bounded in pyproject.toml); any other Quart keeps its own.
"""

from __future__ import annotations

import asyncio
import inspect
import logging

from quart import Quart
from quart.asgi import ASGIHTTPConnection
from quart.typing import ResponseTypes
from quart.utils import encode_headers
from quart.wrappers.response import DataBody, Response

from sqlapi.http.asgi import Receive, Send


class HTTPConnection(ASGIHTTPConnection):
    answering = False  # a whole body is on its way: no client leaving can stop anything now

    async def __call__(self, receive: Receive, send: Send) -> None:
        request = self._create_request_from_scope(send)
        handling = asyncio.current_task()
        assert handling is not None
        left = False
        watcher: asyncio.Task[None] | None = None

        def on_watcher_done(done: asyncio.Task[None]) -> None:
            nonlocal left
            if not done.cancelled() and done.exception() is None:  # the client left
                left = True
                handling.cancel()

        def watch() -> None:  # the loop runs this when the handling first waits
            nonlocal watcher
            if not self.answering:
                watcher = asyncio.ensure_future(self.handle_messages(request, receive))
                watcher.add_done_callback(on_watcher_done)

        start = asyncio.get_running_loop().call_soon(watch)
        try:
            await self.handle_request(request, send)
        except asyncio.CancelledError:
            if not left:
                raise  # cancelled by the server (shutdown): not ours to swallow
            handling.uncancel()
        finally:
            start.cancel()
            if watcher is not None:
                watcher.remove_done_callback(on_watcher_done)
                watcher.cancel()

    async def _send_response(self, send: Send, response: ResponseTypes) -> None:
        body = response.response if isinstance(response, Response) else None
        if not isinstance(body, DataBody):  # streamed: Quart's way, chunk by chunk
            await super()._send_response(send, response)
            return
        self.answering = True
        headers = encode_headers(response.headers)
        await send({"type": "http.response.start", "status": response.status_code,
                    "headers": headers})  # fmt: skip
        whole = (body.begin, body.end) == (0, len(body.data))  # else a Range was asked for
        data = body.data if whole else body.data[body.begin : body.end]
        await send({"type": "http.response.body", "body": data, "more_body": False})


_SHAPE = {  # the methods this relies on, with their parameters
    "__call__": ["self", "receive", "send"],
    "handle_messages": ["self", "request", "receive"],
    "handle_request": ["self", "request", "send"],
    "_create_request_from_scope": ["self", "send"],
    "_send_response": ["self", "send", "response"],
}


def fits(base: type = ASGIHTTPConnection) -> bool:
    """Whether Quart's connection class is the one this was written against."""
    for name, parameters in _SHAPE.items():
        method = getattr(base, name, None)
        if method is None or list(inspect.signature(method).parameters) != parameters:
            return False
    return True


def install_connection(app: Quart) -> bool:
    """Use `HTTPConnection` for `app`; False (and Quart's own class, with a warning) if
    Quart's class is not the one `HTTPConnection` was written against."""
    if not fits(app.asgi_http_class):
        logging.getLogger("sqlapi").warning(
            "this Quart's connection class is not the one sqlapi's faster one extends: "
            "serving with Quart's own (correct, about 10 %% slower by key)"
        )
        return False
    app.asgi_http_class = HTTPConnection
    return True
