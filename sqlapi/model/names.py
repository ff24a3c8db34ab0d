"""Names as they travel in URLs: tilde-encoded compound keys and path segments (Datasette's
tilde encoding: `,` `~` `/` `%` as ~XX)."""

from __future__ import annotations

import re
import urllib.parse

_TILDE = re.compile(r"~([0-9A-Fa-f]{2})")


_NEEDS_TILDE = re.compile(r"[,~/%]")


def tilde_encode(text: str) -> str:
    """Encode `,` and `~` (and `/`, `%`, which trip URL handling) as ~XX."""
    return _NEEDS_TILDE.sub(lambda m: f"~{ord(m.group()):02X}", text)


def tilde_decode(text: str) -> str:
    if "~" in _TILDE.sub("", text):
        raise ValueError(f"{text!r} has a '~' that is not followed by two hex digits")
    raw = bytearray()
    position = 0
    for match in _TILDE.finditer(text):
        raw += text[position : match.start()].encode()
        raw.append(int(match.group(1), 16))
        position = match.end()
    raw += text[position:].encode()
    return raw.decode("utf-8")


def path_segment(name: str) -> str:
    """A table or column name as one URL path segment: "/" cannot travel even
    percent-encoded, so such names are tilde-encoded first."""
    return urllib.parse.quote(tilde_encode(name) if "/" in name else name, safe="")


def split_row_key(segment: str, parts: int) -> list[str]:
    if parts == 1:
        return [segment]
    pieces = segment.split(",")
    if len(pieces) != parts:
        raise ValueError(f"this table's key has {parts} parts joined by ',', got {len(pieces)}")
    return [tilde_decode(p) for p in pieces]
