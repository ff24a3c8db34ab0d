"""The folder tree is the architecture (docs/design.md): each stage package imports only the
stages below it, every import counted (function-local and type-only ones too), and the
pure core imports neither a web framework nor aiosqlite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "sqlapi"
# What each part may import, besides itself. Bottom to top: the pure core (model,
# request, sql), identity (auth) and the configuration, the database (store), what every
# request is served by (services), running and shaping answers (respond), the HTTP layer
# and the document, the wiring (app), the servers and the command.
BELOW: dict[str, set[str]] = {
    "model": set(),
    "request": {"model"},
    "sql": {"model", "request"},
    "auth": {"model", "request"},
    "config": {"model", "auth"},
    "store": {"model", "request", "sql", "auth", "config"},
    "respond": {"model", "request", "sql", "config", "store"},
    "services": {"model", "request", "sql", "auth", "config", "store", "respond"},
    "http": {"model", "request", "sql", "auth", "config", "store", "services", "respond"},
    "openapi": {
        "model",
        "request",
        "auth",
        "config",
        "store",
        "services",
        "respond",
        "http",
        "__init__",
    },
    "app": {
        "model",
        "config",
        "store",
        "auth",
        "services",
        "respond",
        "http",
        "openapi",
        "__init__",
    },
    "serving": {"config", "app"},
    "cli": {"model", "config", "store", "respond", "serving", "app", "auth", "__init__"},
    "__main__": {"cli"},
    "__init__": set(),
}
PURE = ("model", "request", "sql")
WEB = ("quart", "quart_schema", "quart_cors", "hypercorn", "werkzeug", "uvicorn")


def part(module: str) -> str:
    """The part a dotted sqlapi module belongs to: its stage package, or its own name
    (the package itself, and what it defines, `__version__`: "__init__")."""
    name = module.split(".")[1] if module.count(".") else "__init__"
    return "__init__" if name.startswith("__") and name != "__main__" else name


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "sqlapi":
                found |= {f"sqlapi.{alias.name}" for alias in node.names}
    return found


def modules() -> list[tuple[str, Path]]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        dotted = ".".join(("sqlapi", *path.relative_to(PACKAGE).with_suffix("").parts))
        found.append((dotted.removesuffix(".__init__"), path))
    return found


@pytest.mark.parametrize(("module", "path"), modules(), ids=lambda v: str(v))
def test_a_module_imports_only_the_stages_below_its_own(module: str, path: Path) -> None:
    own = part(module)
    assert own in BELOW, f"{module}: which stage is {own!r}? (add it to BELOW)"
    for imported in imports(path):
        if not imported.startswith("sqlapi") or part(imported) == own:
            continue
        assert part(imported) in BELOW[own], f"{module} imports {imported}"


@pytest.mark.parametrize(("module", "path"), [m for m in modules() if part(m[0]) in PURE])
def test_the_pure_core_imports_no_web_framework_and_no_async_database(
    module: str, path: Path
) -> None:
    found = {name.split(".")[0] for name in imports(path)}
    assert not found & {*WEB, "aiosqlite"}, module


def test_only_the_pool_imports_aiosqlite_and_only_http_and_app_import_quart() -> None:
    for module, path in modules():
        found = {name.split(".")[0] for name in imports(path)}
        if "aiosqlite" in found:
            assert module == "sqlapi.store.pool", module
        if found & set(WEB):
            assert part(module) in ("http", "openapi", "app", "serving", "services"), module


def test_the_stages_form_no_cycle() -> None:
    """BELOW itself is acyclic, so no chain of imports can come back to where it started."""
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(node: str) -> None:
        assert node not in visiting, f"a cycle through {node}"
        if node in done:
            return
        visiting.add(node)
        for below in BELOW[node]:
            visit(below)
        visiting.discard(node)
        done.add(node)

    for node in BELOW:
        visit(node)


def test_sql_text_is_built_only_in_the_sql_package() -> None:
    for module, path in modules():
        if part(module) == "sql":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
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
    each FROM and JOIN item is `scoped(scope, ...)` (sql.conditions)."""
    for path in (PACKAGE / "sql").glob("*.py"):
        if path.name == "statements.py":
            continue  # EXPLAIN probes of the schema and named queries: no request's rows
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.JoinedStr):
                continue
            for before, after in zip(node.values, node.values[1:], strict=False):
                if not (isinstance(before, ast.Constant) and isinstance(before.value, str)):
                    continue
                if not before.value.rstrip().upper().endswith(("FROM", "JOIN")):
                    continue
                assert isinstance(after, ast.FormattedValue), (path.name, before.value)
                source = ast.unparse(after.value)
                # `scoped` itself, the full-text index a search matches in (inside the
                # scoped statement of its content table), and the content table inside a
                # full-text index's own policy condition.
                own = path.name in ("conditions.py", "clauses.py") and source in {
                    "name", "fts", "table"
                }  # fmt: skip
                assert source.endswith(".sql") or own, (path.name, source)


def test_no_function_is_over_60_lines_no_class_over_200_no_module_over_400() -> None:
    """A function past ~60 lines, a class past 200, a module past 400 is doing two jobs."""
    long = []
    for module, path in modules():
        text = path.read_text()
        if len(text.splitlines()) > 400:
            long.append(f"{module}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            size = (node.end_lineno or node.lineno) - node.lineno + 1
            if size > (200 if isinstance(node, ast.ClassDef) else 60):
                long.append(f"{module}.{node.name}: {size} lines")
    assert not long, long
