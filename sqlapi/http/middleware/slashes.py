"""A table or column name with "/" is reachable percent-encoded (`a%2Fb`, as JavaScript's
`encodeURIComponent` writes it) as well as tilde-encoded (`a~2Fb`).

ASGI servers decode `%2F` into the path before routing, where it splits the name in two
segments. The undecoded path (`raw_path`) still has it: for such requests this ASGI
middleware rebuilds the path from it, tilde-encoding the "/" inside a name, which the
table and column look-ups decode. The row key of `/api/tables/{table}/rows/{key}` is
routed whole (its "/" included), so it is decoded as the server would.
"""

from __future__ import annotations

from urllib.parse import unquote

from sqlapi.http.asgi import Asgi, Receive, Scope, Send
from sqlapi.model.names import tilde_encode


def routable_path(raw_path: bytes) -> str:
    """The path of `raw_path` with every "/" inside a segment tilde-encoded, but in a
    row key."""
    segments = raw_path.decode("latin-1").split("/")
    is_row = segments[1:3] == ["api", "tables"] and len(segments) > 5 and segments[4] == "rows"
    names, key = (segments[:5], segments[5:]) if is_row else (segments, [])
    decoded = [unquote(s, errors="replace") for s in names]
    path = "/".join(tilde_encode(s) if "/" in s else s for s in decoded)
    return path + ("/" + unquote("/".join(key), errors="replace") if key else "")


class EncodedSlashes:
    def __init__(self, app: Asgi) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or b""
            if b"%2f" in raw.lower():
                scope = {**scope, "path": routable_path(raw)}
        await self.app(scope, receive, send)
