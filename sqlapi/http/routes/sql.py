"""Opt-in SQL: `GET /api/sql?sql=SELECT...`. Read-only is enforced by SQLite itself (a
read-only file, query_only, and an authorizer that refuses writes, ATTACH, pragmas,
extension loading, hidden columns and denied tables), never by reading the SQL text."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import hide

from sqlapi.http.marks import unscoped, untagged
from sqlapi.http.responses import access, answered, arguments
from sqlapi.model.errors import bad_request, not_found
from sqlapi.request.arguments import group
from sqlapi.request.reserved import SQL
from sqlapi.request.statements import parse_statement_page
from sqlapi.respond.statements import client_sql
from sqlapi.services import Services

MAX_SQL = 100_000


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("sql", __name__)
    if not services.settings.enable_sql:

        @routes.get("/sql")
        @hide
        @untagged
        async def sql_disabled() -> Response:
            raise not_found("/api/sql is not enabled on this server (sqlapi serve --enable-sql).")

        return routes

    @routes.get("/sql")
    @unscoped
    async def run_sql() -> Response:
        args = group(arguments())
        statements = args.pop("sql", [])
        if len(statements) != 1 or not statements[0].strip():
            raise bad_request("give the statement once, as ?sql=SELECT ...")
        if len(statements[0]) > MAX_SQL:
            raise bad_request(f"the statement is longer than {MAX_SQL} characters")
        page = parse_statement_page(args, services.limits, SQL)
        params = {name: values[-1] for name, values in args.items() if not name.startswith("_")}
        rules = access().exposure.client_rules
        return answered(await client_sql(services.db, rules, statements[0], params, page))

    return routes
