"""Response compression: gzip, and br and zstd where their libraries are installed
(`pip install sqlapi[compression]`), for JSON, NDJSON, CSV and the OpenAPI document.
Why: they are repetitive text, a fifth of the bytes or less once compressed, and bytes are
what a client on a slow link waits for. Pure ASGI: any app, any server.

Contract (API.md): a 200 of a listed media type, with no Content-Encoding or Content-Range,
is compressed in the best coding Accept-Encoding allows (highest q; at equal q zstd, br,
gzip), unless its whole body comes in one message under `min_size` and identity is
acceptable. A stream is compressed incrementally: each message from the app goes out
compressed and flushed at once, so a client decodes each batch as it is produced, in
constant memory. text/event-stream never is. Such responses, and 304s, say `Vary:
Accept-Encoding`. HEAD requests, requests without Accept-Encoding (identity suits any
cache) and other responses pass as they are.

ETags name one representation. A compressed 200 carries the app's tag with the coding
appended ("E" -> "E-gzip", W/ kept); a 200 sent as is keeps "E". Coming in, for the coding
this request would get, If-None-Match's "X-gzip" is read as "X", so the app matches either
form and answers 304 before any query. A 304 carries the form the client sent: "E-gzip" if
If-None-Match named it, else "E" (also for `*`). So a client always gets back the tag it
holds: big body, gzip accepted -> 200 "E-gzip", then 304 "E-gzip"; small body -> 200 "E",
then 304 "E"; no coding accepted -> nothing rewritten. A client holding "E" whose next 200
would be compressed gets 304 "E": same content, its copy is current. A tag of another
coding ("E-br" when this request gets gzip) is left as is: no match, a full 200.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from types import ModuleType

from hypercorn.typing import HTTPResponseBodyEvent, HTTPResponseStartEvent

from sqlapi.http.asgi import Asgi, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]
Whole = Callable[[bytes], bytes]  # a whole body, compressed in one call
Incremental = Callable[[bytes, bool], bytes]  # (chunk, last) -> compressed, flushed


def _optional(*names: str) -> ModuleType | None:
    for name in names:
        with contextlib.suppress(ImportError):
            return importlib.import_module(name)
    return None


zstandard, brotli = _optional("zstandard"), _optional("brotli", "brotlicffi")
LEVELS = {"zstd": 3, "br": 4, "gzip": 5}  # a body compressed whole (a page, the document)
# A stream (an export) is bound by throughput: gzip 1 compresses a 178 KB batch of NDJSON
# in 1.0 ms to 23.8 % where gzip 5 takes 2.3 ms for 18.6 %; br 1 0.5 ms against br 4's
# 1.5 ms (bench/compression.py). zstd 3 is as fast as zstd 1.
STREAM_LEVELS = {"zstd": 3, "br": 1, "gzip": 1}
WINDOW = 18  # log2 of a stream's window, for br and zstd: 256 KB (gzip's is 32 KB)
PREFERENCE = tuple(c for c, lib in (("zstd", zstandard), ("br", brotli), ("gzip", zlib)) if lib)
MEDIA_TYPES = frozenset({
    "application/json", "application/problem+json", "application/x-ndjson",
    "application/vnd.oai.openapi+json", "text/csv", "text/javascript",
    "application/javascript", "text/css", "text/html",
})  # fmt: skip
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")  # RFC 9110 12.4.2
NEVER = b"text/event-stream"  # an event must not wait for the next one to fill a block


def whole(coding: str, level: int) -> Whole:
    """Compresses a whole body in one call."""
    if coding == "gzip":
        return partial(zlib.compress, level=level, wbits=31)
    if coding == "br" and brotli:
        return partial(brotli.compress, quality=level)
    if coding == "zstd" and zstandard:  # one compressor, reused: calls never overlap
        return zstandard.ZstdCompressor(level=level).compress  # type: ignore[no-any-return]
    raise ValueError(f"coding {coding!r} is not available here")


def incremental(coding: str, level: int) -> Incremental:
    """A fresh encoder; each output ends with a flushed block, so it decodes to all the input
    so far (the last one ends the stream). br and zstd get WINDOW: about 1.2 MB held for as
    long as the stream lasts, not the 3 MB (zstd) or 7.5 MB (br) of their defaults, for the
    same ratio on export batches (gzip: 0.25 MB)."""
    if coding == "gzip":
        z = zlib.compressobj(level, zlib.DEFLATED, 31)
        sync, finish = zlib.Z_SYNC_FLUSH, zlib.Z_FINISH
        return lambda data, last: z.compress(data) + z.flush(finish if last else sync)
    if coding == "br" and brotli:
        b = brotli.Compressor(quality=level, lgwin=WINDOW)
        return lambda data, last: b.process(data) + (b.finish() if last else b.flush())
    if coding == "zstd" and zstandard:
        params = zstandard.ZstdCompressionParameters.from_level(level, window_log=WINDOW)
        z = zstandard.ZstdCompressor(compression_params=params).compressobj()  # streams overlap
        block, end = zstandard.COMPRESSOBJ_FLUSH_BLOCK, zstandard.COMPRESSOBJ_FLUSH_FINISH
        return lambda data, last: z.compress(data) + z.flush(end if last else block)
    raise ValueError(f"coding {coding!r} is not available here")


def negotiate(accept: str, offered: Iterable[str] = PREFERENCE) -> tuple[str | None, bool]:
    """(the coding to use, None for identity; whether identity is acceptable) for an
    Accept-Encoding value, per RFC 9110 12.5.3: the highest q wins, `offered` order breaks
    ties, q=0 excludes, `*` stands for codings not named (identity included)."""
    weights: dict[str, float] = {}
    for item in accept.lower().split(","):
        name, _, params = item.partition(";")
        name = "gzip" if (name := name.strip()) == "x-gzip" else name
        q = 1.0
        for key, _, value in (p.partition("=") for p in params.split(";")):
            if key.strip() == "q":  # malformed, NaN or out of range: excluded
                q = float(value) if _QVALUE.fullmatch(value.strip()) else 0.0
        if name:
            weights.setdefault(name, q)
    star = weights.get("*")
    best, best_q = None, 0.0
    for coding in offered:
        if (q := weights.get(coding, star or 0.0)) > best_q:
            best, best_q = coding, q
    return best, weights.get("identity", 1.0 if star is None else star) > 0


def with_vary(headers: Headers) -> Headers:
    """`headers` with Accept-Encoding in Vary, merged with any Vary already there."""
    places = [i for i, (name, _) in enumerate(headers) if name.lower() == b"vary"]
    tokens = {t.strip().lower() for i in places for t in headers[i][1].split(b",")}
    if b"accept-encoding" in tokens or b"*" in tokens:
        return headers
    if not places:
        return [*headers, (b"vary", b"Accept-Encoding")]
    headers = list(headers)
    name, value = headers[places[0]]
    headers[places[0]] = (name, (value + b", " if value.strip() else b"") + b"Accept-Encoding")
    return headers


def suffixed(etag: bytes, suffix: bytes) -> bytes | None:
    """'"E"' -> '"E-gzip"', 'W/"E"' -> 'W/"E-gzip"'; None for a malformed tag."""
    etag = etag.strip()
    return etag[:-1] + suffix + b'"' if len(etag) >= 2 and etag.endswith(b'"') else None


class Compression:
    """ASGI middleware: `app.asgi_app = Compression(app.asgi_app)`. `levels` per coding
    for bodies sent whole and `stream_levels` for streamed ones (default LEVELS and
    STREAM_LEVELS); `codings` offered, in order of preference (default: all installed)."""

    def __init__(
        self,
        app: Asgi,
        *,
        min_size: int = 1024,
        levels: Mapping[str, int] | None = None,
        stream_levels: Mapping[str, int] | None = None,
        media_types: Iterable[str] = MEDIA_TYPES,
        codings: Iterable[str] = PREFERENCE,
    ) -> None:
        self.app = app
        self.min_size = min_size
        self.codings = tuple(codings)
        levels = {**LEVELS, **(levels or {})}
        streams = {**STREAM_LEVELS, **(stream_levels or {})}
        self.codecs = {c: (whole(c, levels[c]), partial(incremental, c, streams[c]))
                       for c in self.codings}  # fmt: skip
        self.media_types = frozenset(t.lower().encode() for t in media_types) - {NEVER}
        self._negotiated: dict[bytes, tuple[str | None, bool]] = {}

    def choose(self, accept: bytes) -> tuple[str | None, bool]:
        """negotiate(), remembered: clients send a handful of distinct values."""
        found = self._negotiated.get(accept)
        if found is None:
            if len(self._negotiated) >= 256:
                self._negotiated.clear()
            found = self._negotiated[accept] = negotiate(accept.decode("latin-1"), self.codings)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        accept = match = None
        for name, value in scope["headers"]:
            if name == b"accept-encoding":
                accept = value if accept is None else accept + b"," + value
            elif name == b"if-none-match":
                match = value if match is None else match + b"," + value
        if accept is None:
            await self.app(scope, receive, send)
            return
        coding, identity = self.choose(accept)
        suffix = f"-{coding}".encode() if coding else b""
        if match is not None and coding and suffix + b'"' in match:
            scope = scope.copy()  # the app sees "E" for "E-gzip": it can answer 304 itself
            scope["headers"] = [
                (n, v.replace(suffix + b'"', b'"') if n == b"if-none-match" else v)
                for n, v in scope["headers"]
            ]
        await self.app(scope, receive, _Response(self, send, coding, identity, match).send)


class _Response:
    """One response on its way out; a compressible 200's start is held until its first body
    message, which tells whether the body is whole and small."""

    def __init__(self, owner: Compression, send: Send, coding: str | None,
                 identity: bool, match: bytes | None) -> None:  # fmt: skip
        self.owner, self.out, self.coding, self.identity, self.match = (
            owner, send, coding, identity, match)  # fmt: skip
        self.suffix = f"-{coding}".encode() if coding else b""
        self.passing = False  # nothing more to do: messages go out as they come
        self.started: HTTPResponseStartEvent
        self.held: Headers | None = None  # the start's headers, until the first body
        self.encode: Incremental | None = None

    async def send(self, message: Message) -> None:
        if self.passing:
            await self.out(message)
        elif message["type"] == "http.response.start":
            self.started = message
            await self.start(message["status"], list(message["headers"]))
        elif message["type"] == "http.response.body" and self.held is not None:
            await self.first(self.held, message)
        elif message["type"] == "http.response.body" and self.encode is not None:
            body, more = message["body"], message.get("more_body", False)
            if body or not more:  # an empty chunk would cost a flush marker for nothing
                await self.body(self.encode(body, not more), more)
        else:  # another extension's message: the held start goes first, as it was
            if self.held is not None:
                await self.begin(self.held)
            self.passing = True
            await self.out(message)

    async def start(self, status: int, headers: Headers) -> None:
        if status == 304:  # the tag the client sent (see the module's docstring)
            self.passing = True
            etag = [(n, self.tag_304(v) if n.lower() == b"etag" else v) for n, v in headers]
            await self.begin(with_vary(etag))
            return
        media = b""
        for name, value in headers:
            lower = name.lower()
            if lower == b"content-type":
                media = value.partition(b";")[0].strip().lower()
            elif lower in (b"content-encoding", b"content-range"):
                media = b""
                break
        if status != 200 or media not in self.owner.media_types:
            self.passing = True
            await self.out(self.started)
        elif self.coding is None:
            self.passing = True
            await self.begin(with_vary(headers))
        else:
            self.held = with_vary(headers)

    def tag_304(self, etag: bytes) -> bytes:
        """The suffixed form if If-None-Match named it, else the app's tag."""
        tag = suffixed(etag, self.suffix) if self.suffix and self.match else None
        return tag if tag and self.match and tag.removeprefix(b"W/") in self.match else etag

    async def first(self, headers: Headers, message: HTTPResponseBodyEvent) -> None:
        body, more, self.held = message["body"], message.get("more_body", False), None
        if self.coding is None or (not more and len(body) < self.owner.min_size and self.identity):
            self.passing = True
            await self.begin(headers)
            await self.out(message)
            return
        whole, incremental = self.owner.codecs[self.coding]
        kept = [(b"content-encoding", self.coding.encode())]
        for name, value in headers:
            lower = name.lower()
            if lower == b"etag":
                if tag := suffixed(value, self.suffix):  # a malformed one would name both
                    kept.append((name, tag))
            elif lower != b"content-length":  # a whole body's is set anew, a stream's unknown
                kept.append((name, value))
        if more:
            await self.begin(kept)
            self.encode = incremental()
            if body:
                await self.body(self.encode(body, False), True)
            return
        data = whole(body)
        self.passing = True
        await self.begin([*kept, (b"content-length", str(len(data)).encode())])
        await self.body(data, False)

    async def begin(self, headers: Headers) -> None:
        start = self.started.copy()  # keeps `trailers`, should the app have asked for them
        start["headers"] = headers
        await self.out(start)

    async def body(self, data: bytes, more: bool) -> None:
        await self.out({"type": "http.response.body", "body": data, "more_body": more})
