"""Named queries from the configuration: trusted SQL, typed `:parameters`, paged."""

from __future__ import annotations

from quart import Blueprint, Response, request

from sqlapi.auth.tokens import claim_scalar
from sqlapi.config import NamedQuery
from sqlapi.encoding import shape_rows, unique_names, value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.gateway import Gateway
from sqlapi.keys import Cursor, CursorError, decode_cursor, encode_cursor
from sqlapi.params import NAMED_QUERY, group, parse_query_value, parse_statement_page
from sqlapi.query import build_named_query, claim_parameters
from sqlapi.routes import caller, documented_apart, next_links, respond, unscoped


def bind(query: NamedQuery, args: dict[str, list[str]]) -> dict[str, object]:
    """The query string as the query's declared, typed parameters; anything else is a 400."""
    unknown = sorted(set(args) - set(query.params) - NAMED_QUERY - {"_"})
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


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("queries", __name__)

    @routes.get("/queries/<name>")
    @documented_apart
    @unscoped
    async def named_query(name: str) -> Response:
        query = gateway.settings.queries.get(name)
        if query is None:
            raise not_found(
                f"No query named {name!r}",
                problem_type="unknown-query",
                allowed=sorted(gateway.settings.queries),
            )
        args = group(request.args.items(multi=True))
        page = parse_statement_page(args, gateway.limits, NAMED_QUERY)
        bound = bind(query, args)
        scope = f"query\x1f{name}"
        offset = 0
        if page.after is not None:
            try:
                offset = decode_cursor(page.after, scope, 0).offset or 0
            except CursorError as error:
                raise bad_request(f"_after: {error}") from error
        body, claims = claim_parameters(query.sql)
        bound |= {name: claim_scalar(caller().claims, path) for name, path in claims.items()}
        sql, bounds = build_named_query(body, page.limit + 1, offset)
        names, rows = await gateway.db.fetch_columns(sql, {**bound, **bounds}, page.limit + 1)
        names = unique_names(names)
        convert = value_converter([], page.ints_as_strings)
        more = len(rows) > page.limit
        token = encode_cursor(Cursor(offset=offset + page.limit), scope) if more else None
        url, headers = next_links(token)
        document: dict[str, object] = {"query": name}
        if page.shape == "arrays":
            document["columns"] = names
        document |= {
            "rows": shape_rows(names, rows[: page.limit], page.shape, convert),
            "next": token,
            "next_url": url,
        }
        return respond(document, headers=headers)

    return routes
