"""Generated columns computed from hidden ones: hidden with them. SQLite's authorizer is
not asked about a generated column's expression, so each expression (read from the
`CREATE TABLE` with SQLite's tokens) is compiled over its table, and the authorizer hears
which columns it reads."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping

from sqlapi.model.schema import Schema, fold
from sqlapi.sql.statements import build_expression_probe
from sqlapi.store.readonly import INTROSPECTION

_READ, _FUNCTION = 20, 31

_TOKEN = re.compile(
    r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|`(?:[^`]|``)*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)"""
    r"""|[A-Za-z_][A-Za-z0-9_$]*|\s+|.""",
    re.S,
)


def _unquoted(token: str) -> str:
    if token[:1] in '"`[' and len(token) >= 2:
        closing = "]" if token[0] == "[" else token[0]
        inner = token[1:-1]
        return inner if closing == "]" else inner.replace(closing * 2, closing)
    return token


def generated_expressions(create_sql: str) -> dict[str, str]:
    """Folded column name -> the text of its `AS (expression)`, for the generated columns
    of a CREATE TABLE statement (read with SQLite's tokens: quotes, comments, parentheses)."""
    tokens = [(m.group(), m.start()) for m in _TOKEN.finditer(create_sql)]
    found: dict[str, str] = {}
    depth, definition = 0, list[tuple[str, int]]()
    for text, start in tokens:
        if text == "(":
            depth += 1
            if depth == 1:
                definition = []
                continue
        elif text == ")":
            depth -= 1
            if depth == 0:
                found |= _generated(definition, create_sql)
                break
        if depth == 1 and text == ",":
            found |= _generated(definition, create_sql)
            definition = []
        elif depth >= 1:
            definition.append((text, start))
    return found


def _generated(definition: list[tuple[str, int]], sql: str) -> dict[str, str]:
    words = [(t, s) for t, s in definition if not t.isspace() and not t.startswith(("--", "/*"))]
    if not words:
        return {}
    depth = 0
    for position, (text, _) in enumerate(words):
        depth += {"(": 1, ")": -1}.get(text, 0)
        following = words[position + 1] if position + 1 < len(words) else None
        if depth == 0 and text.upper() == "AS" and following is not None and following[0] == "(":
            inner, start = 0, following[1]
            for later, at in words[position + 1 :]:
                inner += {"(": 1, ")": -1}.get(later, 0)
                if inner == 0:
                    return {fold(_unquoted(words[0][0])): sql[start + 1 : at]}
    return {}


def generated_from(
    conn: sqlite3.Connection,
    schema: Schema,
    hidden: frozenset[tuple[str, str]],
    sql: Mapping[str, str],
) -> frozenset[tuple[str, str]]:
    """The generated columns computed, however indirectly, from a hidden column: each
    expression compiled over its table, the columns it reads heard by the authorizer. An
    expression that cannot be read this way counts as computed from a hidden one."""
    found: set[tuple[str, str]] = set()
    for table in schema.tables:
        name = fold(table.name)
        generated = [fold(c.name) for c in table.columns if c.generated]
        if not generated or not any(t == name for t, _ in hidden):
            continue
        expressions = generated_expressions(sql.get(name, ""))
        depends: dict[str, set[str]] = {}
        for column in generated:
            depends[column] = _heard(conn, table.name, expressions.get(column))
        closed = {t_c[1] for t_c in hidden if t_c[0] == name}
        changed = True
        while changed:
            before = len(closed)
            closed |= {c for c, on in depends.items() if on & closed or "*" in on}
            changed = len(closed) != before
        found |= {(name, c) for c in closed if c in depends}
    return frozenset(found)


def _heard(conn: sqlite3.Connection, table: str, expression: str | None) -> set[str]:
    """The columns of `table` an expression reads ({"*"}: it could not be read)."""
    if expression is None:
        return {"*"}
    heard: set[str] = set()

    def listen(
        action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None
    ) -> int:
        if action == _READ and arg1 is not None and arg2 is not None:
            if fold(arg1) == fold(table):
                heard.add(fold(arg2))
            return sqlite3.SQLITE_OK
        return sqlite3.SQLITE_OK if action in (21, _FUNCTION) else sqlite3.SQLITE_DENY

    conn.set_authorizer(listen)
    try:
        conn.execute(build_expression_probe(table, expression)).fetchall()
    except (sqlite3.Error, MemoryError):
        return {"*"}
    finally:
        conn.set_authorizer(INTROSPECTION)
    return heard
