"""What each object of the file can reveal: its read set, computed once per schema.

An object's *sources* are the objects holding data (tables and virtual tables) whose
data its answers can carry, closed over every way data reaches it:

- what its compiled program opens (`bytecode.program_reads`): the b-trees by root page
  (an index stands for its table, a virtual table's own tables for it) and the virtual
  tables by handle. It sees through views, `USING`, `NATURAL JOIN` and `count(*)`, which
  SQLite's authorizer is never asked about;
- a full-text index's `content=` option (a table, or a view resolved through its own
  sources), and what an `fts5vocab`/`fts4aux` table reads (the index it names);
- what the triggers that write a table read (`INSERT`/`UPDATE`/`DELETE` compiled on a
  read-only connection hold the triggers' programs): a table a trigger fills from another
  reveals that other's data.

Exposure, roles, row policies and client SQL all decide through these sources (see
exposure.py and docs/security.md). Beside them, columns: a generated column computed from
a hidden column is hidden too, a view whose program reads a hidden column's slot (a
`USING` on it) is not served, and a table filled by a trigger that reads a hidden column
is not served.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlapi.model.schema import Schema, Table, fold
from sqlapi.sql.statements import (
    EPONYMOUS_TABLES,
    build_expression_probe,
    build_open_probes,
    build_read_probe,
    build_write_probes,
)
from sqlapi.store.functions import allowed_function
from sqlapi.store.introspect import parse_module
from sqlapi.store.programs import ProgramReads, program_reads
from sqlapi.store.readonly import INTROSPECTION, Authorizer

SCHEMA_TABLE = "sqlite_schema"  # root page 1: the schema itself, which nothing exposes
_READ, _FUNCTION = 20, 31
_WRITES = frozenset({"OpenWrite"})
_VIRTUAL_WRITES = frozenset({"VUpdate", "VOpen"})
_INDEXES_OF = frozenset({"fts5vocab", "fts4aux"})  # their first table argument is an index


@dataclass(frozen=True)
class ObjectReads:
    """What one object reveals: its `sources` (folded names, closed, itself included
    when it holds data); the program it compiles to (views, virtual tables, tables with
    generated columns), read under the hiding of columns; `problem`, why SQLite's program
    for it is one sqlapi does not run (None: it may be served)."""

    sources: frozenset[str]
    program: ProgramReads | None = None
    problem: str | None = None
    hidden_feed: bool = False  # filled by triggers that read a hidden column


@dataclass(frozen=True)
class ReadModel:
    objects: Mapping[str, ObjectReads]  # folded name ->
    hidden: frozenset[tuple[str, str]]  # hidden columns, with the generated ones they make
    handles: Mapping[str, str] = field(default_factory=dict)  # vtab handle -> folded name

    def of(self, table: Table) -> ObjectReads:
        return self.objects.get(fold(table.name), ObjectReads(frozenset({fold(table.name)})))


class _Probe:
    """The connection's authorizer while programs are compiled: the given one (columns
    hidden read as NULL, exactly as requests will read them), but every function may be
    called, so that the program shows which (allowed_function decides), and the columns
    each trigger and each generated column reads are heard."""

    def __init__(self, conn: sqlite3.Connection, base: Authorizer) -> None:
        self.conn, self.base = conn, base
        self.heard: set[tuple[str, str]] = set()  # (table, column), folded, read in a trigger
        self.listening = False

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
    ) -> int:
        if action == _READ and self.listening and src is not None and arg1 and arg2:
            self.heard.add((fold(arg1), fold(arg2)))  # inside a trigger's program
        if action == _FUNCTION:
            return sqlite3.SQLITE_OK
        return self.base(action, arg1, arg2, db, src)

    def program(self, sql: str) -> list[tuple[object, ...]]:
        return [tuple(row) for row in self.conn.execute(sql)]

    def hear(self, sql: str) -> tuple[list[tuple[object, ...]], set[tuple[str, str]]]:
        """A program, and the columns its triggers read (heard before a hidden one is
        blanked)."""
        self.heard, self.listening = set(), True
        try:
            return self.program(sql), self.heard
        finally:
            self.listening = False


def _owners(conn: sqlite3.Connection, schema: Schema) -> dict[int, str]:
    """Root page -> the folded name of the object holding that b-tree's data: a table, an
    index's table, a virtual table's own table's virtual table; page 1 is the schema."""
    virtual = sorted((fold(t.name) for t in schema.tables if t.virtual), key=len, reverse=True)

    def holder(name: str) -> str:
        if name in schema.shadow:
            return next((v for v in virtual if name.startswith(v + "_")), name)
        return name

    owners = {1: SCHEMA_TABLE}
    listed = conn.execute(
        "SELECT type, name, tbl_name, rootpage FROM sqlite_schema WHERE rootpage > 0"
    )
    for kind, name, table, root in listed:
        owners[int(root)] = holder(fold(str(table if kind == "index" else name)))
    return owners


def _handles(probe: _Probe, schema: Schema) -> dict[str, str]:
    """Virtual table handle (as this connection's programs name it) -> folded name; the
    harmless eponymous tables map to "" (they hold nothing of the file)."""
    handles: dict[str, str] = {}
    virtual = [t.name for t in schema.tables if t.virtual]
    names = [fold(n) for n in virtual] + [""] * len(EPONYMOUS_TABLES)
    for sql, name in zip(build_open_probes(virtual), names, strict=True):
        try:
            program = probe.program(sql)
        except sqlite3.Error:
            continue
        handles |= {str(row[5]): name for row in program if row[1] == "VOpen"}
    return handles


def _opened(reads: ProgramReads, owners: Mapping[int, str], handles: Mapping[str, str]) -> set[str]:
    opened = {owners.get(root, SCHEMA_TABLE) for root in reads.btrees}
    return opened | {handles[h] for h in reads.handles if handles.get(h)}


def _program_problem(reads: ProgramReads, handles: Mapping[str, str]) -> str | None:
    calls = sorted(f for f in reads.functions if not allowed_function(f))
    if calls:
        return f"calls {calls[0]}(), which sqlapi does not run"
    if any(h not in handles for h in reads.handles):
        return "reads a virtual table whose module sqlapi does not serve"
    if reads.refused:
        return f"compiles to {min(reads.refused)}, which a read never needs"
    return None


def _direct(
    table: Table, probe: _Probe, owners: Mapping[int, str], handles: Mapping[str, str],
    sql: Mapping[str, str],
) -> ObjectReads:  # fmt: skip
    """The object's own sources (not yet closed) and program."""
    name = fold(table.name)
    sources = {name} if table.kind == "table" else set()
    if table.content is not None:
        sources.add(fold(table.content.table))
    parsed = parse_module(sql.get(name, "")) if table.virtual else None
    if parsed is not None and parsed[0] in _INDEXES_OF and parsed[1]:
        arguments = [a.strip("'\"`[]") for a in parsed[1]]
        sources.add(fold(arguments[1] if len(arguments) > 2 else arguments[0]))
    if table.virtual or (table.kind == "table" and not any(c.generated for c in table.columns)):
        return ObjectReads(frozenset(sources))
    try:
        program = program_reads(probe.program(build_read_probe(table.name)))
    except sqlite3.Error as error:
        return ObjectReads(frozenset(sources), problem=str(error))
    sources |= _opened(program, owners, handles)
    return ObjectReads(frozenset(sources), program, _program_problem(program, handles))


def _triggers(
    conn: sqlite3.Connection, schema: Schema, probe: _Probe, owners: Mapping[int, str],
    handles: Mapping[str, str], hidden: frozenset[tuple[str, str]],
) -> tuple[dict[str, set[str]], set[str]]:  # fmt: skip
    """(what each table's triggers fill it from, the tables filled by triggers that read
    a hidden column): the programs of a write to every table with triggers."""
    feeders: dict[str, set[str]] = {}
    hidden_fed: set[str] = set()
    triggered = {fold(str(r[0])) for r in conn.execute(
        "SELECT tbl_name FROM sqlite_schema WHERE type = 'trigger'")}  # fmt: skip
    for table in schema.tables:
        name = fold(table.name)
        if name not in triggered or table.kind != "table" or table.virtual:
            continue
        columns = [c.name for c in table.columns if not c.generated and not c.is_rowid]
        for sql in build_write_probes(table.name, columns):
            try:
                program, heard = probe.hear(sql)
            except sqlite3.Error:
                continue  # a write SQLite cannot compile: no trigger of it can fire either
            read = {_owner(owners, row) for row in program if row[1] == "OpenRead"}
            written = {_owner(owners, row) for row in program if row[1] in _WRITES}
            written |= {
                handles.get(str(row[5]), "") for row in program if row[1] in _VIRTUAL_WRITES
            }
            for target in written - {name, ""}:
                feeders.setdefault(target, set()).update({name, *read} - {target})
                if heard & hidden:
                    hidden_fed.add(target)
    return feeders, hidden_fed


def _owner(owners: Mapping[int, str], row: tuple[object, ...]) -> str:
    root = row[3]
    return owners.get(root, SCHEMA_TABLE) if isinstance(root, int) else SCHEMA_TABLE


def _closed(direct: Mapping[str, set[str]], start: str) -> frozenset[str]:
    seen, stack = set(), [start]
    while stack:
        for source in direct.get(stack.pop(), ()):
            if source not in seen:
                seen.add(source)
                stack.append(source)
    return frozenset(seen)


def read_model(
    conn: sqlite3.Connection,
    schema: Schema,
    hidden: frozenset[tuple[str, str]],
    authorizer: Callable[[frozenset[tuple[str, str]]], Authorizer],
) -> ReadModel:
    """The read set of every object of `schema` (the file's, as introspected), with the
    columns in `hidden` (folded) hidden, through `conn` (allowed to read the schema).
    `authorizer(hidden)` is the authorizer requests will compile under."""
    sql = {fold(str(n)): str(s or "") for n, s in conn.execute(
        "SELECT name, sql FROM sqlite_schema WHERE type = 'table'")}  # fmt: skip
    hidden = hidden | generated_from(conn, schema, hidden, sql)
    probe = _Probe(conn, authorizer(hidden))
    conn.set_authorizer(probe)
    try:
        owners = _owners(conn, schema)
        handles = _handles(probe, schema)
        objects = {fold(t.name): _direct(t, probe, owners, handles, sql) for t in schema.tables}
        feeders, hidden_fed = _triggers(conn, schema, probe, owners, handles, hidden)
    finally:
        conn.set_authorizer(INTROSPECTION)
    direct = {name: set(o.sources) for name, o in objects.items()}
    for target, sources in feeders.items():
        direct.setdefault(target, set()).update(sources)
    views = {fold(t.name) for t in schema.tables if t.kind == "view"}
    closed = {
        name: ObjectReads(
            (_closed(direct, name) | ({name} if name in o.sources else set())) - views,
            o.program,
            o.problem,
            name in hidden_fed,
        )
        for name, o in objects.items()
    }
    return ReadModel(closed, hidden, handles)


# -- generated columns ------------------------------------------------------------------

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
    except sqlite3.Error:
        return {"*"}
    finally:
        conn.set_authorizer(INTROSPECTION)
    return heard


def reads_of(tables: Iterable[Table], model: ReadModel) -> dict[str, frozenset[str]]:
    return {fold(t.name): model.of(t).sources for t in tables}
