"""Named queries from the configuration: trusted SQL, typed `:parameters`, paged."""

from __future__ import annotations

from quart import Blueprint, Response, request

from sqlapi.config import NamedQuery
from sqlapi.encoding import shape_rows, value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.keys import Cursor, CursorError, decode_cursor, encode_cursor
from sqlapi.params import group, parse_int, parse_query_value
from sqlapi.query import build_named_query
from sqlapi.routes import gateway, respond
from sqlapi.routes.rows import next_links

blueprint = Blueprint("queries", __name__)
RESERVED = frozenset({"_limit", "_after", "_shape", "_ints", "_"})


def bind(query: NamedQuery, args: dict[str, list[str]]) -> dict[str, object]:
    """The query string as the query's declared, typed parameters; anything else is a 400."""
    unknown = sorted(set(args) - set(query.params) - RESERVED)
    if unknown:
        raise bad_request(f"unknown parameter {unknown[0]!r}", allowed=sorted(query.params))
    bound: dict[str, object] = {}
    for name, kind in query.params.items():
        values = args.get(name)
        if not values:
            raise bad_request(f"missing parameter {name!r} ({kind})", allowed=sorted(query.params))
        if len(values) > 1:
            raise bad_request(f"{name} is given {len(values)} times; give it once")
        bound[name] = parse_query_value(kind, values[0], name)
    return bound


@blueprint.get("/api/queries/<name>")
async def named_query(name: str) -> Response:
    g = gateway()
    query = g.settings.queries.get(name)
    if query is None:
        raise not_found(
            f"No query named {name!r}", kind="unknown-query", allowed=sorted(g.settings.queries)
        )
    g.require_unscoped("A named query")
    args = group(request.args.items(multi=True))
    bound = bind(query, args)
    limit_arg = args["_limit"][0] if args.get("_limit") else None
    limit = (
        parse_int(limit_arg, "_limit", 1, g.limits.max_limit)
        if limit_arg
        else g.limits.default_limit
    )
    scope = f"query\x1f{name}"
    offset = 0
    if args.get("_after"):
        try:
            offset = decode_cursor(args["_after"][0], scope, 0).offset or 0
        except CursorError as error:
            raise bad_request(f"_after: {error}") from error
    sql, page = build_named_query(query.sql, limit + 1, offset)
    names, rows = await g.db.fetch_columns(sql, {**bound, **page}, limit + 1)
    shape = (args.get("_shape") or ["objects"])[0]
    if shape not in ("objects", "arrays"):
        raise bad_request("_shape must be one of objects, arrays")
    convert = value_converter([], (args.get("_ints") or ["number"])[0] == "string")
    token = encode_cursor(Cursor(offset=offset + limit), scope) if len(rows) > limit else None
    url, headers = next_links(token)
    document: dict[str, object] = {"query": name}
    if shape == "arrays":
        document["columns"] = names
    document |= {
        "rows": shape_rows(names, rows[:limit], shape, convert),
        "next": token,
        "next_url": url,
    }
    return respond(document, headers=headers)
