"""Named queries from the configuration: trusted SQL, typed `:parameters`, paged."""

from __future__ import annotations

from quart import Blueprint, Response

from sqlapi.auth.tokens import claim_scalar
from sqlapi.http.marks import documented_apart, unscoped
from sqlapi.http.responses import access, answered, arguments, here
from sqlapi.model.errors import not_found
from sqlapi.request.arguments import group
from sqlapi.request.reserved import NAMED_QUERY
from sqlapi.request.statements import bind_parameters, page_offset, parse_statement_page
from sqlapi.respond.statements import named_query_page, query_scope
from sqlapi.services import Services
from sqlapi.sql.statements import claim_parameters


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("queries", __name__)

    @routes.get("/queries/<name>")
    @documented_apart
    @unscoped
    async def named_query(name: str) -> Response:
        queries = services.settings.queries
        query = queries.get(name)
        if query is None:
            raise not_found(
                f"No query named {name!r}", problem_type="unknown-query", allowed=sorted(queries)
            )
        args = group(arguments())
        page = parse_statement_page(args, services.limits, NAMED_QUERY)
        bound = bind_parameters(query.params, args)
        sql, claims = claim_parameters(query.sql)
        who = access().caller
        bound |= {name: claim_scalar(who.claims, path) for name, path in claims.items()}
        offset = page_offset(page, query_scope(name))
        return answered(await named_query_page(services.db, name, sql, bound, page, offset, here()))

    return routes
