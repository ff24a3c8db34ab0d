"""What a handler hands back, before it is HTTP: a JSON document or a stream of bytes,
with its status, media type and headers (the http layer makes the response); and the
URL being answered, which a page's `next_url` is built from."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode


@dataclass
class Answer:
    document: object = None  # sent as JSON, unless `body` streams
    body: AsyncIterator[bytes] | None = None
    status: int = 200
    media_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Here:
    """The request being answered: its path and query arguments (repeated keys kept)."""

    path: str
    args: Sequence[tuple[str, str]]

    def next_links(self, cursor: str | None) -> tuple[str | None, dict[str, str]]:
        """This request's URL with `_after` set to the next cursor (and no `_offset`), and
        the `Link: rel="next"` header that mirrors it; nothing on the last page."""
        if cursor is None:
            return None, {}
        pairs = [(k, v) for k, v in self.args if k not in ("_after", "_offset")]
        pairs.append(("_after", cursor))
        url = quote(self.path) + "?" + urlencode(pairs)
        return url, {"Link": f'<{url}>; rel="next"'}
