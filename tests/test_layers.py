"""Imports flow one way (STYLE.md): the pure core imports neither quart nor aiosqlite, and
only the routes and the app wiring touch the database module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[1] / "sqlapi"
PURE = [
    "schema",
    "introspect",
    "params",
    "keys",
    "encoding",
    "errors",
    "scans",
    "grammar",
    "filters",
    "relations",
    "aggregates",
    "auth/policies",
    "query/__init__",
    "query/clauses",
    "query/conditions",
    "query/rows",
    "query/relations",
    "query/aggregates",
    "query/statements",
]


def imports(module: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("name", PURE)
def test_pure_core_has_no_web_or_async_database_imports(name: str) -> None:
    found = imports(PACKAGE / f"{name}.py")
    assert not {
        m for m in found if m.split(".")[0] in ("quart", "aiosqlite", "hypercorn", "werkzeug")
    }
    assert "sqlapi.db" not in found and "sqlapi.routes" not in found


def test_only_the_pool_imports_aiosqlite_and_only_the_web_layer_imports_db() -> None:
    for module in PACKAGE.rglob("*.py"):
        found = imports(module)
        relative = module.relative_to(PACKAGE).as_posix()
        if "aiosqlite" in found:
            assert relative == "pool.py"
        if "sqlapi.db" in found:
            assert relative in ("app.py", "gateway.py") or relative.startswith("routes/"), relative


def test_sql_text_is_built_only_in_the_query_package() -> None:
    for module in PACKAGE.rglob("*.py"):
        if module.parent.name == "query":
            continue
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value
                    for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
                assert not any(k in text.upper() for k in ("SELECT ", " FROM ", " WHERE ")), (
                    module,
                    text,
                )


def test_every_table_a_built_statement_reads_comes_through_its_scope() -> None:
    """Row policies hold on every path because the builders name no table themselves:
    each FROM and JOIN item is `scope.source(...)` (query.clauses.Scope)."""
    for module in (PACKAGE / "query").glob("*.py"):
        if module.name == "statements.py":
            continue  # EXPLAIN probes of the schema and named queries: no request's rows
        for node in ast.walk(ast.parse(module.read_text())):
            if not isinstance(node, ast.JoinedStr):
                continue
            for before, after in zip(node.values, node.values[1:], strict=False):
                if not (isinstance(before, ast.Constant) and isinstance(before.value, str)):
                    continue
                if not before.value.rstrip().upper().endswith(("FROM", "JOIN")):
                    continue
                assert isinstance(after, ast.FormattedValue), (module.name, before.value)
                source = ast.unparse(after.value)
                # Scope.source itself, the full-text index a search matches in
                # (`search_clause`: inside the scoped statement of its content table), and
                # the content table inside a full-text index's own policy condition.
                own = module.name == "clauses.py" and source in {"name", "fts", "table"}
                assert source.endswith(".sql") or own, (module.name, source)
