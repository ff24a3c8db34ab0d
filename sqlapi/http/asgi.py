"""The ASGI types, defined once (as starlette/types.py does): every middleware and the
connection shim speak them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hypercorn.typing import (
    ASGIReceiveCallable as Receive,
)
from hypercorn.typing import (
    ASGISendCallable as Send,
)
from hypercorn.typing import (
    ASGISendEvent as Message,
)
from hypercorn.typing import (
    Scope,
)

Asgi = Callable[[Scope, Receive, Send], Awaitable[None]]

__all__ = ["Asgi", "Message", "Receive", "Scope", "Send"]
