"""The HTTP ceilings: what the servers and Quart cost with no database work at all.

Both apps answer every request with the same 50-row page sqlapi would send (read once,
from bench/big.db, at import):

    raw    a bare ASGI callable: the server's own ceiling
    app    a Quart app with one route: the framework's ceiling

    hypercorn 'ceiling:raw' / uvicorn ceiling:app --no-access-log ...   (from bench/)
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
from quart import Quart, Response

_conn = sqlite3.connect(Path(__file__).with_name("big.db"))
_cursor = _conn.execute("SELECT * FROM items ORDER BY id LIMIT 50")
_names = [d[0] for d in _cursor.description]
PAGE = orjson.dumps({"rows": [dict(zip(_names, r, strict=True)) for r in _cursor], "next": None})
_conn.close()
HEADERS = [(b"content-type", b"application/json"), (b"content-length", str(len(PAGE)).encode())]


async def raw(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
    await send({"type": "http.response.body", "body": PAGE})


app = Quart(__name__)


@app.get("/api/tables/items/rows")
async def rows() -> Response:
    return Response(PAGE, content_type="application/json")
