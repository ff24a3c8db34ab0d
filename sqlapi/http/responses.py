"""From Quart's request to what handlers read, and from an Answer to Quart's response:
the caller's access (set by the API's gate), the URL being answered, the format
negotiated, JSON and streamed bodies."""

from __future__ import annotations

from collections.abc import Mapping

from quart import Request, Response, g, request
from werkzeug.datastructures import Headers

from sqlapi.model.encoding import dumps
from sqlapi.model.schema import Table
from sqlapi.respond.answers import Answer, Here
from sqlapi.respond.formats import ACCEPTED, FORMATS, JSON, Format
from sqlapi.services import Access


def header(headers: Headers, name: str) -> str:
    """A header's values joined, "" when absent. werkzeug's `get` and `in` raise and catch
    an exception for every header that is absent, which is most of them on most requests."""
    return ", ".join(headers.getlist(name))


def current() -> Request:
    """The request itself, not its proxy: one context look-up, not one per attribute
    (werkzeug's LocalProxy API; Quart types `request` as the Request it stands for)."""
    found: Request = request._get_current_object()  # type: ignore[attr-defined]
    return found


def access() -> Access:
    """What this request's caller may reach, as the API's gate found it."""
    found: Access = g.access
    return found


def requested_table() -> Table:
    """The table or view the path names, as the API's gate resolved and authorized it."""
    found: Table = g.table
    return found


def here() -> Here:
    req = current()
    return Here(req.path, list(req.args.items(multi=True)))


def arguments() -> list[tuple[str, str]]:
    return list(current().args.items(multi=True))


def negotiate() -> Format:
    """`_format` wins; otherwise the client's Accept header (JSON unless it prefers another)."""
    req = current()
    chosen = req.args.get("_format")
    if chosen is not None and chosen in FORMATS:
        return FORMATS[chosen]
    accept = header(req.headers, "Accept")
    if "csv" not in accept and "ndjson" not in accept:
        return JSON  # no other format named: no need to weigh the header
    best = req.accept_mimetypes.best_match(list(ACCEPTED), default="application/json")
    return FORMATS[ACCEPTED.get(best or "", "json")]


def respond(
    document: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(dumps(document), status, dict(headers or {}), content_type="application/json")


def answered(answer: Answer) -> Response:
    if answer.body is not None:
        return Response(answer.body, answer.status, answer.headers, content_type=answer.media_type)
    return respond(answer.document, answer.status, answer.headers)
