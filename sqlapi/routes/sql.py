"""Opt-in SQL: `GET /api/sql?sql=SELECT...`. Read-only is enforced by SQLite itself (a
read-only file, query_only, and an authorizer that refuses writes, ATTACH, pragmas,
extension loading, hidden columns and denied tables), never by reading the SQL text."""

from __future__ import annotations

from quart import Blueprint, Response, request

from sqlapi.encoding import shape_rows, value_converter
from sqlapi.errors import bad_request, not_found
from sqlapi.params import group, parse_int
from sqlapi.routes import gateway, respond

blueprint = Blueprint("sql", __name__)
MAX_SQL = 100_000


@blueprint.get("/api/sql")
async def run_sql() -> Response:
    g = gateway()
    if not g.settings.enable_sql:
        raise not_found("/api/sql is not enabled on this server (sqlapi serve --enable-sql).")
    g.require_unscoped("SQL")
    args = group(request.args.items(multi=True))
    statements = args.pop("sql", [])
    if len(statements) != 1 or not statements[0].strip():
        raise bad_request("give the statement once, as ?sql=SELECT ...")
    if len(statements[0]) > MAX_SQL:
        raise bad_request(f"the statement is longer than {MAX_SQL} characters")
    limits = args.pop("_limit", [])
    limit_arg = limits[0] if limits else None
    limit = (
        parse_int(limit_arg, "_limit", 1, g.limits.max_limit)
        if limit_arg
        else g.limits.default_limit
    )
    shape = (args.pop("_shape", None) or ["objects"])[0]
    ints = (args.pop("_ints", None) or ["number"])[0] == "string"
    args.pop("_", None)
    if shape not in ("objects", "arrays"):
        raise bad_request("_shape must be one of objects, arrays")
    unknown = [k for k in args if k.startswith("_")]
    if unknown:
        raise bad_request(
            f"unknown reserved parameter {unknown[0]!r}", allowed=["_limit", "_shape", "_ints"]
        )
    params = {name: values[-1] for name, values in args.items()}  # :name parameters, as text
    names, rows = await g.db.fetch_columns(statements[0], params, limit + 1, untrusted=True)
    convert = value_converter([], ints)
    document: dict[str, object] = {"columns": names}
    document["rows"] = shape_rows(names, rows[:limit], shape, convert)
    document["truncated"] = len(rows) > limit
    return respond(document)
