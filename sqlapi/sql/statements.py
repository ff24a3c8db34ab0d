"""Statements that are not built from a request: a named query paged, and the probes
that tell what a statement or a table compiles to."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence

from sqlapi.model.values import Value
from sqlapi.sql.clauses import quote

# What SQLite reads as one token a claim parameter cannot hide in: a string, a quoted
# name, a comment. Anything else is scanned for `:claims.a.b`.
_OPAQUE = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)""", re.S
)
_CLAIM = re.compile(r"(?<![\w:])[:@$]claims\.([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
CLAIM_PREFIX = "__sqlapi_claim_"


@functools.lru_cache(maxsize=256)
def claim_parameters(sql: str) -> tuple[str, Mapping[str, str]]:
    """A named query's SQL with each `:claims.NAME` (SQLite has no dotted parameter names)
    as a parameter of its own, and which claim path each one binds."""
    names: dict[str, str] = {}  # claim path -> its parameter

    def rename(match: re.Match[str]) -> str:
        return ":" + names.setdefault(match[1], f"{CLAIM_PREFIX}{len(names)}")

    parts, position = [], 0
    for opaque in _OPAQUE.finditer(sql):
        parts.append(_CLAIM.sub(rename, sql[position : opaque.start()]))
        parts.append(opaque[0])
        position = opaque.end()
    parts.append(_CLAIM.sub(rename, sql[position:]))
    return "".join(parts), {parameter: path for path, parameter in names.items()}


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


def build_read_probe(table: str) -> str:
    """A program that reads every column of a table or view (compiling it is enough)."""
    return f"EXPLAIN SELECT * FROM main.{quote(table)}"


def build_write_probes(table: str, columns: Sequence[str]) -> list[str]:
    """Programs that insert into, update every column of, and delete from a table: they
    hold its triggers' programs, which show what the triggers write and read (compiled
    only, on a read-only connection)."""
    name = f"main.{quote(table)}"
    probes = [f"EXPLAIN INSERT INTO {name} DEFAULT VALUES", f"EXPLAIN DELETE FROM {name}"]
    if columns:
        assignments = ", ".join(f"{quote(c)} = {quote(c)}" for c in columns)
        probes.append(f"EXPLAIN UPDATE {name} SET {assignments}")
    return probes


def build_expression_probe(table: str, expression: str) -> str:
    """A program that computes a generated column's expression (the file's own text, a
    balanced parenthesis) over its table: the authorizer hears which columns it reads."""
    return f"EXPLAIN SELECT ({expression}) FROM main.{quote(table)}"


def build_open_probes(virtual_tables: Sequence[str]) -> list[str]:
    """Programs that open each of these virtual tables and SQLite's harmless eponymous
    ones (`bytecode.calibration`)."""
    tables = [build_read_probe(name) for name in virtual_tables]
    return tables + [f"EXPLAIN SELECT * FROM {source}" for source in EPONYMOUS_TABLES]
