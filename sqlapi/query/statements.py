"""Statements that are not built from a request: a named query paged, and the probes
that tell what a statement or a table compiles to."""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.keys import Value
from sqlapi.query.clauses import quote


def build_named_query(sql: str, fetch: int, offset: int) -> tuple[str, dict[str, Value]]:
    """A configured query (trusted SQL with `:named` parameters), paged: the operator's SQL
    wrapped as a subquery; the page bounds are named parameters no configuration can use."""
    body = sql.strip().rstrip(";").strip()
    wrapped = f"SELECT * FROM ({body}) LIMIT :__sqlapi_limit OFFSET :__sqlapi_offset"
    return wrapped, {"__sqlapi_limit": fetch, "__sqlapi_offset": offset}


def build_probe_query(sql: str) -> str:
    """The configured query's columns, without running it."""
    return f"SELECT * FROM ({sql.strip().rstrip(';').strip()}) LIMIT 0"


def build_column_probe(table: str, column: str) -> str:
    """A program that reads one column of a table, without an index: it shows the record
    slot SQLite stores the column in (`bytecode.read_policy`)."""
    return f"EXPLAIN SELECT {quote(column)} FROM main.{quote(table)} NOT INDEXED"


EPONYMOUS_TABLES = ("json_each('[]')", "json_tree('[]')")  # harmless virtual tables


def build_open_probes(virtual_tables: Sequence[str]) -> list[str]:
    """Programs that open each of these virtual tables and SQLite's harmless eponymous
    ones (`bytecode.calibration`)."""
    sources = [f"main.{quote(name)}" for name in virtual_tables]
    return [f"EXPLAIN SELECT * FROM {source}" for source in [*sources, *EPONYMOUS_TABLES]]
