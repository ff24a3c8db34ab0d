"""Compression middleware: real round trips (decoded with the codecs' own libraries, compared
byte for byte) through the real app and through small ASGI apps of our own."""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator
from typing import Any

import brotli
import pytest
import zstandard

from sqlapi.config import Settings, sample_database
from sqlapi.http.middleware.compression import Compression, negotiate
from tests.fixtures import LiveApp

CODINGS = ["gzip", "br", "zstd"]
BIG_PAGE = "/api/tables/books/rows?_limit=200"  # ~47 KB of JSON
SMALL = "/api/tables/books/rows/1"  # ~280 bytes
Message = dict[str, Any]


def decoder(coding: str) -> Callable[[bytes], bytes]:
    """An incremental decoder: each call returns what the bytes so far decode to."""
    if coding == "gzip":
        return zlib.decompressobj(31).decompress
    if coding == "br":
        brotli_decoder = brotli.Decompressor()

        def brotli_decode(data: bytes) -> bytes:  # brotli 1.2.1 may hand out 32 KB a call
            out = part = brotli_decoder.process(data)
            while part:
                part = brotli_decoder.process(b"")
                out += part
            return out  # type: ignore[no-any-return]

        return brotli_decode
    return zstandard.ZstdDecompressor().decompressobj().decompress


def decode(coding: str, data: bytes) -> bytes:
    return decoder(coding)(data)


class Recorded:
    """What the middleware sent for the last request."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    @property
    def start(self) -> Message:
        return self.messages[0]

    @property
    def headers(self) -> dict[str, str]:
        return {k.decode().lower(): v.decode() for k, v in self.start["headers"]}

    @property
    def bodies(self) -> list[bytes]:
        return [m["body"] for m in self.messages[1:]]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LiveApp, Recorded]]:
    """The sample app, started once, with Compression around its asgi_app and a recorder
    outside that."""
    live = LiveApp(Settings(database=sample_database()))
    compressed, recorded = Compression(live.app.asgi_app), Recorded()

    async def recording(scope: Any, receive: Any, send: Any) -> None:
        async def sending(message: Message) -> None:
            recorded.messages.append(message)
            await send(message)

        if scope["type"] == "http":
            recorded.messages = []
            await compressed(scope, receive, sending)
        else:
            await compressed(scope, receive, send)

    live.app.asgi_app = recording  # type: ignore[method-assign]
    yield live, recorded
    live.close()


def get(live: LiveApp, url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    response = live.get(url, headers)
    return response.status, response.headers, response.body


async def call(app: Any, accept: str = "gzip") -> Recorded:
    """Drive a bare ASGI app once with this Accept-Encoding; the messages that came out."""
    recorded = Recorded()
    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", accept.encode())]}

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        recorded.messages.append(message)

    await app(scope, receive, send)
    return recorded


def answering(body: bytes, content_type: str = "application/json", status: int = 200,
              headers: list[tuple[bytes, bytes]] | None = None) -> Any:  # fmt: skip
    """An ASGI app answering one whole body."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        sent = [(b"content-type", content_type.encode()), *(headers or [])]
        await send({"type": "http.response.start", "status": status, "headers": sent})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app


BIG = b"[%s]" % b",".join(b'{"id": %d, "title": "Book %d"}' % (i, i) for i in range(200))


# Negotiation


@pytest.mark.parametrize(
    ("accept", "coding", "identity"),
    [
        ("gzip", "gzip", True),
        ("gzip, deflate, br, zstd", "zstd", True),
        ("gzip, br", "br", True),
        ("GZIP , Br", "br", True),
        ("gzip;q=0, br", "br", True),
        ("gzip;q=1.0, br;q=0.5", "gzip", True),
        (" gzip ; q=0.8 , br;q=0.9", "br", True),
        ("br;q=0.5, gzip;q=0.5, zstd;q=0.5", "zstd", True),  # equal q: the server's order
        ("*", "zstd", True),
        ("*;q=0.5, zstd;q=0", "br", True),
        ("*;q=0", None, False),
        ("*;q=0, identity", None, True),
        ("identity;q=0, gzip", "gzip", False),
        ("identity", None, True),
        ("deflate", None, True),
        ("", None, True),
        ("gzip;q=0", None, True),
        ("gzip;q=abc, br;q=2", None, True),  # malformed and out of range: excluded
        ("x-gzip", "gzip", True),
        ("gzip;level=9;q=0.3", "gzip", True),
    ],
)
def test_negotiation(accept: str, coding: str | None, identity: bool) -> None:
    assert negotiate(accept) == (coding, identity)


def test_negotiation_among_codings_offered() -> None:
    assert negotiate("zstd, br, gzip", ["gzip"]) == ("gzip", True)
    assert negotiate("zstd", ["gzip"]) == (None, True)


# Real round trips through the sample app


@pytest.mark.parametrize("coding", CODINGS)
def test_whole_json_page(served: tuple[LiveApp, Recorded], coding: str) -> None:
    live, recorded = served
    status, plain_headers, plain = get(live, BIG_PAGE)
    assert status == 200 and "content-encoding" not in plain_headers
    status, headers, body = get(live, BIG_PAGE, **{"Accept-Encoding": coding})
    assert status == 200
    assert headers["content-encoding"] == coding
    assert decode(coding, body) == plain
    assert len(body) < len(plain) / 4
    sent = recorded.headers
    assert sent["content-length"] == str(len(body))
    assert sent["vary"] == "Accept, Accept-Encoding"
    assert sent["etag"] == plain_headers["etag"][:-1] + f'-{coding}"'
    assert len(recorded.bodies) == 1  # compressed in one call, sent in one message


@pytest.mark.parametrize("coding", CODINGS)
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_exports_stream_incrementally(
    served: tuple[LiveApp, Recorded], coding: str, fmt: str
) -> None:
    live, recorded = served
    url = f"/api/tables/books/rows?_format={fmt}"  # 1,800 rows: two batches of 1,000
    _, _, plain = get(live, url)
    plain_chunks = [b for b in recorded.bodies if b]
    status, headers, body = get(live, url, **{"Accept-Encoding": coding})
    chunks = recorded.bodies
    assert status == 200 and headers["content-encoding"] == coding
    assert "content-length" not in recorded.headers  # not known until the end
    assert decode(coding, body) == plain
    assert len(chunks) == len(plain_chunks) + 1 >= 3  # each chunk, then the end
    decoding, seen = decoder(coding), b""
    for chunk, original in zip(chunks, plain_chunks, strict=False):
        seen += decoding(chunk)
        assert seen.endswith(original)  # decodable as soon as it arrives: flushed


def test_openapi_document(served: tuple[LiveApp, Recorded]) -> None:
    live, _ = served
    _, _, plain = get(live, "/openapi.json")
    status, headers, body = get(live, "/openapi.json", **{"Accept-Encoding": "br"})
    assert status == 200 and headers["content-encoding"] == "br"
    assert brotli.decompress(body) == plain


def test_small_body_not_compressed_but_varies(served: tuple[LiveApp, Recorded]) -> None:
    live, recorded = served
    _, _, plain = get(live, SMALL)
    status, headers, body = get(live, SMALL, **{"Accept-Encoding": "gzip"})
    assert status == 200 and body == plain and len(plain) < 1024
    assert "content-encoding" not in headers
    assert recorded.headers["vary"] == "Accept, Accept-Encoding"


def test_small_body_compressed_when_identity_is_refused(served: tuple[LiveApp, Recorded]) -> None:
    live, _ = served
    _, _, plain = get(live, SMALL)
    status, headers, body = get(live, SMALL, **{"Accept-Encoding": "identity;q=0, gzip"})
    assert status == 200 and headers["content-encoding"] == "gzip"
    assert decode("gzip", body) == plain


def test_problem_responses_not_compressed(served: tuple[LiveApp, Recorded]) -> None:
    live, recorded = served
    refused = {"Accept-Encoding": "identity;q=0, gzip"}  # even a small body would be compressed
    status, headers, _ = get(live, "/api/tables/nope/rows", **refused)
    assert status == 404 and "content-encoding" not in headers
    assert "accept-encoding" not in recorded.headers.get("vary", "").lower()


@pytest.mark.parametrize(
    "url",
    [
        BIG_PAGE,
        "/api/tables/books/rows?_format=csv",
        "/openapi.json",
        "/",
        "/tables/books",
        "/docs",
        "/assets/swagger-ui-bundle.js",
    ],
)
def test_a_request_without_accept_encoding_is_told_the_answer_varies_by_it(
    served: tuple[LiveApp, Recorded], url: str
) -> None:
    """A shared cache must not hand this plain body to a client that accepts gzip (or the
    gzip body to one that does not): Vary says Accept-Encoding either way."""
    live, _ = served
    status, headers, _ = get(live, url)
    assert status == 200 and "content-encoding" not in headers
    assert "accept-encoding" in headers.get("vary", "").lower(), headers


def test_head_passes_through(served: tuple[LiveApp, Recorded]) -> None:
    live, recorded = served
    response = live.run(live.client.head(BIG_PAGE, headers={"Accept-Encoding": "gzip"}))
    assert response.status_code == 200
    assert "content-encoding" not in recorded.headers
    assert not recorded.headers["etag"].endswith('-gzip"')


# ETags: the four round trips (small/big body x coding accepted or not), and the crossings


@pytest.mark.parametrize("url", [SMALL, BIG_PAGE])
@pytest.mark.parametrize("accept", [None, "identity", "gzip", "br, gzip", "zstd"])
def test_etag_round_trip(served: tuple[LiveApp, Recorded], url: str, accept: str | None) -> None:
    live, recorded = served
    asked = {"Accept-Encoding": accept} if accept else {}
    status, headers, _ = get(live, url, **asked)
    assert status == 200
    etag = headers["etag"]
    compressed = "content-encoding" in headers
    assert compressed == (url == BIG_PAGE and accept not in (None, "identity"))
    assert etag.endswith(f'-{headers["content-encoding"]}"') if compressed else "-" not in etag
    status, headers, body = get(live, url, **asked, **{"If-None-Match": etag})
    assert (status, body) == (304, b"")
    assert headers["etag"] == etag  # the 304 names what the client holds
    assert headers["cache-control"] == "no-cache"  # the app's other headers kept
    # said whether or not this request sent Accept-Encoding: another client's may differ
    assert "accept-encoding" in recorded.headers.get("vary", "").lower()


def test_identity_tag_still_current_when_compression_is_accepted(
    served: tuple[LiveApp, Recorded],
) -> None:
    live, _ = served
    _, headers, _ = get(live, BIG_PAGE)
    plain_tag = headers["etag"]
    asked = {"Accept-Encoding": "gzip", "If-None-Match": plain_tag}
    status, headers, _ = get(live, BIG_PAGE, **asked)
    assert status == 304 and headers["etag"] == plain_tag


def test_a_compressed_tag_matches_only_its_coding(served: tuple[LiveApp, Recorded]) -> None:
    live, _ = served
    _, headers, _ = get(live, BIG_PAGE, **{"Accept-Encoding": "gzip"})
    gzip_tag = headers["etag"]
    status, _, _ = get(live, BIG_PAGE, **{"If-None-Match": gzip_tag})
    assert status == 200  # the client no longer takes gzip: its copy is not this one
    status, headers, _ = get(live, BIG_PAGE, **{"Accept-Encoding": "br", "If-None-Match": gzip_tag})
    assert status == 200 and headers["content-encoding"] == "br"
    br_tag = headers["etag"]
    assert br_tag == gzip_tag.replace("-gzip", "-br")
    both = f"{br_tag}, W/{gzip_tag}"
    status, headers, _ = get(live, BIG_PAGE, **{"Accept-Encoding": "gzip", "If-None-Match": both})
    assert status == 304 and headers["etag"] == gzip_tag


# Small ASGI apps of our own


@pytest.mark.parametrize("coding", CODINGS)
async def test_stream_flushed_before_the_next_chunk_is_produced(coding: str) -> None:
    seen: list[bytes] = []
    decoding = decoder(coding)
    chunks = [b"%d,%s\r\n" % (i, b"x" * i) for i in range(1, 6)]

    async def streaming(scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/csv"), (b"content-length", b"99")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for i, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            assert b"".join(seen) == b"".join(chunks[: i + 1])  # the client has it all
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def client(message: Message) -> None:
        if message["type"] == "http.response.start":
            assert (b"content-length", b"99") not in message["headers"]
        else:
            seen.append(decoding(message["body"]))

    scope = {"type": "http", "method": "GET", "headers": [(b"accept-encoding", coding.encode())]}
    await Compression(streaming)(scope, None, client)  # type: ignore[arg-type]
    assert b"".join(seen) == b"".join(chunks)
    assert len(seen) == len(chunks) + 1


async def test_event_stream_never_compressed() -> None:
    chunks = [b"data: %d\n\n" % i * 300 for i in range(3)]

    async def events(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream")]})  # fmt: skip
        for chunk in chunks:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    media = ["text/event-stream", "application/json"]
    recorded = await call(Compression(events, media_types=media))
    assert "content-encoding" not in recorded.headers and "vary" not in recorded.headers
    assert recorded.bodies == [*chunks, b""]


@pytest.mark.parametrize(
    ("vary", "expected"),
    [
        ([], ["Accept-Encoding"]),
        ([b"Accept, Origin"], ["Accept, Origin, Accept-Encoding"]),
        ([b"accept-encoding, Origin"], ["accept-encoding, Origin"]),
        ([b"Origin", b"Accept-Encoding"], ["Origin", "Accept-Encoding"]),
        ([b"*"], ["*"]),
        ([b""], ["Accept-Encoding"]),
    ],
)
async def test_vary_merged(vary: list[bytes], expected: list[str]) -> None:
    for body in (BIG, b"{}"):  # compressed or not, the response varies
        app = answering(body, headers=[(b"Vary", v) for v in vary])
        recorded = await call(Compression(app))
        got = [v.decode() for k, v in recorded.start["headers"] if k.lower() == b"vary"]
        assert got == expected


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (200, [(b"content-encoding", b"br")]),
        (206, [(b"content-range", b"bytes 0-99/1000")]),
        (200, [(b"Content-Range", b"bytes 0-99/1000")]),
        (404, []),
        (500, []),
    ],
)
async def test_left_alone(status: int, headers: list[tuple[bytes, bytes]]) -> None:
    app = answering(BIG, status=status, headers=headers)
    recorded = await call(Compression(app))
    assert recorded.start["headers"] == [(b"content-type", b"application/json"), *headers]
    assert recorded.bodies == [BIG]


@pytest.mark.parametrize("content_type", ["image/png", "text/plain", "application/octet-stream"])
async def test_other_media_types_left_alone(content_type: str) -> None:
    recorded = await call(Compression(answering(BIG, content_type)))
    assert recorded.bodies == [BIG] and "vary" not in recorded.headers


@pytest.mark.parametrize(
    "content_type",
    ["text/csv; charset=utf-8; header=present", "Application/JSON", "text/html; charset=utf-8"],
)
async def test_media_type_parameters_and_case(content_type: str) -> None:
    recorded = await call(Compression(answering(BIG, content_type)))
    assert recorded.headers["content-encoding"] == "gzip"
    assert decode("gzip", recorded.bodies[0]) == BIG


@pytest.mark.parametrize(
    ("etag", "expected"),
    [(b'"abc"', '"abc-zstd"'), (b'W/"abc"', 'W/"abc-zstd"'), (b"unquoted", None)],
)
async def test_etag_per_representation(etag: bytes, expected: str | None) -> None:
    app = answering(BIG, headers=[(b"etag", etag), (b"content-length", str(len(BIG)).encode())])
    recorded = await call(Compression(app), "zstd")
    assert recorded.headers.get("etag") == expected
    assert recorded.headers["content-length"] == str(len(recorded.bodies[0]))
    assert [k for k, _ in recorded.start["headers"]].count(b"content-length") == 1


async def test_min_size_and_levels_configurable() -> None:
    app = answering(b"{}" * 100)
    recorded = await call(Compression(app, min_size=100))
    assert recorded.headers["content-encoding"] == "gzip"
    recorded = await call(Compression(app, min_size=201))
    assert "content-encoding" not in recorded.headers
    fast = await call(Compression(answering(BIG), levels={"gzip": 1}))
    best = await call(Compression(answering(BIG), levels={"gzip": 9}))
    assert decode("gzip", fast.bodies[0]) == decode("gzip", best.bodies[0]) == BIG
    assert fast.bodies[0] != best.bodies[0]


def streamed(body: bytes, parts: int = 4) -> Any:
    """An ASGI app streaming one body in `parts` messages, as an export does."""
    size = -(-len(body) // parts)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        start = {"type": "http.response.start", "status": 200,
                 "headers": [(b"content-type", b"application/x-ndjson")]}  # fmt: skip
        await send(start)
        for i in range(0, len(body), size):
            await send(
                {"type": "http.response.body", "body": body[i : i + size], "more_body": True}
            )
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def test_streams_have_levels_of_their_own() -> None:
    """A stream is compressed for throughput (gzip 1 by default), a whole body for size
    (gzip 5): the same bytes streamed come out as level 1 makes them, not level 5."""
    body = BIG * 4
    default = await call(Compression(streamed(body)))
    one = await call(Compression(streamed(body), stream_levels={"gzip": 1}))
    nine = await call(Compression(streamed(body), stream_levels={"gzip": 9}))
    whole = await call(Compression(answering(body)))
    for recorded in (default, one, nine, whole):
        assert decode("gzip", b"".join(recorded.bodies)) == body
    assert b"".join(default.bodies) == b"".join(one.bodies)
    assert len(b"".join(nine.bodies)) < len(b"".join(one.bodies))
    assert len(whole.bodies[0]) < len(b"".join(one.bodies))


async def test_requests_without_accept_encoding_bypass() -> None:
    """No wrapping at all: the app gets the server's own scope and send."""
    got: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        got.extend([scope, send])

    scope = {"type": "http", "method": "GET", "headers": [(b"if-none-match", b'"E-gzip"')]}
    send = object()
    await Compression(app)(scope, None, send)  # type: ignore[arg-type]
    assert got[0] is scope and got[1] is send
    lifespan = {"type": "lifespan"}
    await Compression(app)(lifespan, None, send)  # type: ignore[arg-type]
    assert got[2] is lifespan and got[3] is send


async def test_if_none_match_rewritten_for_the_chosen_coding_only() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.extend(v for k, v in scope["headers"] if k == b"if-none-match")

    match = b'"a-gzip", W/"b-gzip", "c-br", "d"'
    headers = [(b"accept-encoding", b"gzip"), (b"if-none-match", match)]
    await Compression(app)({"type": "http", "method": "GET", "headers": headers}, None, None)  # type: ignore[arg-type]
    assert seen == [b'"a", W/"b", "c-br", "d"']
