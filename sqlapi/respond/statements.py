"""Statements not built from a table, run and shaped: a named query (the operator's SQL,
paged by offset) and a client's own SQL (/api/sql, checked by its compiled program)."""

from __future__ import annotations

from collections.abc import Mapping

from sqlapi.model.cursors import Cursor, encode_cursor
from sqlapi.model.encoding import shape_rows, unique_names, value_converter
from sqlapi.model.values import Row
from sqlapi.request.types import StatementPage
from sqlapi.respond.answers import Answer, Here
from sqlapi.sql.statements import build_named_query
from sqlapi.store.clientsql import ClientRules
from sqlapi.store.database import Database


def _shaped(names: list[str], rows: list[Row], page: StatementPage) -> list[object]:
    convert = value_converter([], page.ints_as_strings)
    return shape_rows(names, rows[: page.limit], page.shape, convert)


async def named_query_page(
    db: Database,
    name: str,
    sql: str,
    bound: Mapping[str, object],
    page: StatementPage,
    offset: int,
    here: Here,
) -> Answer:
    """A page of a named query: `query`, `rows` (and `columns` for arrays), `next`."""
    wrapped, bounds = build_named_query(sql, page.limit + 1, offset)
    names, rows = await db.fetch_columns(wrapped, {**bound, **bounds}, page.limit + 1)
    names = unique_names(names)
    more = len(rows) > page.limit
    token = encode_cursor(Cursor(offset=offset + page.limit), query_scope(name)) if more else None
    url, headers = here.next_links(token)
    document: dict[str, object] = {"query": name}
    if page.shape == "arrays":
        document["columns"] = names
    document |= {"rows": _shaped(names, rows, page), "next": token, "next_url": url}
    return Answer(document, headers=headers)


def query_scope(name: str) -> str:
    """What a named query's cursor is bound to."""
    return f"query\x1f{name}"


async def client_sql(
    db: Database, rules: ClientRules, sql: str, params: Mapping[str, object], page: StatementPage
) -> Answer:
    """A client's statement: `columns`, at most `_limit` `rows`, whether it was `truncated`."""
    names, rows = await db.run_client_sql(rules, sql, params, page.limit + 1)
    names = unique_names(names)
    document = {"columns": names, "rows": _shaped(names, rows, page)}
    return Answer({**document, "truncated": len(rows) > page.limit})
