"""Opt-in SQL: `GET /api/sql?sql=SELECT...`. Read-only is enforced by SQLite itself (a
read-only file, query_only, and an authorizer that refuses writes, ATTACH, pragmas,
extension loading, hidden columns and denied tables), never by reading the SQL text."""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_schema import hide

from sqlapi.encoding import shape_rows, unique_names, value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.gateway import Gateway
from sqlapi.params import SQL, group, parse_statement_page
from sqlapi.routes import respond, unscoped, untagged

MAX_SQL = 100_000


def blueprint(gateway: Gateway) -> Blueprint:
    routes = Blueprint("sql", __name__)
    if not gateway.settings.enable_sql:

        @routes.get("/sql")
        @hide
        @untagged
        async def sql_disabled() -> Response:
            raise not_found("/api/sql is not enabled on this server (sqlapi serve --enable-sql).")

        return routes

    @routes.get("/sql")
    @unscoped
    async def run_sql() -> Response:
        args = group(request.args.items(multi=True))
        statements = args.pop("sql", [])
        if len(statements) != 1 or not statements[0].strip():
            raise bad_request("give the statement once, as ?sql=SELECT ...")
        if len(statements[0]) > MAX_SQL:
            raise bad_request(f"the statement is longer than {MAX_SQL} characters")
        page = parse_statement_page(args, gateway.limits, SQL)
        params = {name: values[-1] for name, values in args.items() if not name.startswith("_")}
        names, rows = await gateway.db.run_client_sql(
            gateway.exposure.client_rules, statements[0], params, page.limit + 1
        )
        names = unique_names(names)
        convert = value_converter([], page.ints_as_strings)
        document: dict[str, object] = {"columns": names}
        document["rows"] = shape_rows(names, rows[: page.limit], page.shape, convert)
        document["truncated"] = len(rows) > page.limit
        return respond(document)

    return routes
