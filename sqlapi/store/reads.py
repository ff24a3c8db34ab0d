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

import dataclasses
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlapi.model.schema import Schema, Table, fold
from sqlapi.sql.statements import (
    EPONYMOUS_TABLES,
    build_open_probes,
    build_read_probe,
)
from sqlapi.store.functions import allowed_function
from sqlapi.store.generated import generated_from
from sqlapi.store.introspect import parse_module
from sqlapi.store.programs import ProgramReads, program_reads
from sqlapi.store.readonly import INTROSPECTION, Authorizer
from sqlapi.store.triggers import Compiler, fed_by_triggers

SCHEMA_TABLE = "sqlite_schema"  # root page 1: the schema itself, which nothing exposes
_READ, _FUNCTION = 20, 31
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
    lists: str | None = None  # a vocabulary table: the full-text index whose words it lists


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


@dataclass(frozen=True)
class Storage:
    """Whose data each b-tree holds: root page -> the folded names of the objects holding
    it (a table, an index's table, a virtual table for its own tables; page 1 is the
    schema itself). SQLite never gives two objects one root page; a schema edited by hand
    can, and `shared` names each table whose b-tree another object claims too."""

    owners: Mapping[int, frozenset[str]]
    shared: Mapping[str, str]  # table -> another object its b-tree is also

    def of(self, root: object) -> frozenset[str]:
        found = self.owners.get(root) if isinstance(root, int) else None
        return found if found is not None else frozenset({SCHEMA_TABLE})


def _storage(conn: sqlite3.Connection, holder: Callable[[str], str]) -> Storage:
    claims: dict[int, list[tuple[str, str]]] = {1: [("table", SCHEMA_TABLE)]}
    listed = conn.execute(
        "SELECT type, name, tbl_name, rootpage FROM sqlite_schema WHERE rootpage > 0"
    )
    for kind, name, table, root in listed:
        owner = holder(fold(str(table if kind == "index" else name)))
        claims.setdefault(int(root), []).append((str(kind), owner))
    shared: dict[str, str] = {}
    for claimants in claims.values():
        names = {owner for _, owner in claimants}
        if len(names) > 1:
            for kind, owner in claimants:
                if kind == "table":
                    shared[owner] = min(names - {owner})
    owners = {root: frozenset(o for _, o in claimants) for root, claimants in claims.items()}
    return Storage(owners, shared)


def _holder(schema: Schema) -> Callable[[str], str]:
    virtual = sorted((fold(t.name) for t in schema.tables if t.virtual), key=len, reverse=True)

    def holder(name: str) -> str:
        if name in schema.shadow:
            return next((v for v in virtual if name.startswith(v + "_")), name)
        return name

    return holder


def _handles(probe: _Probe, schema: Schema) -> dict[str, str]:
    """Virtual table handle (as this connection's programs name it) -> folded name; the
    harmless eponymous tables map to "" (they hold nothing of the file)."""
    handles: dict[str, str] = {}
    virtual = [t.name for t in schema.tables if t.virtual]
    names = [fold(n) for n in virtual] + [""] * len(EPONYMOUS_TABLES)
    for sql, name in zip(build_open_probes(virtual), names, strict=True):
        try:
            program = probe.program(sql)
        except (sqlite3.Error, MemoryError):
            continue
        handles |= {str(row[5]): name for row in program if row[1] == "VOpen"}
    return handles


def _opened(reads: ProgramReads, storage: Storage, handles: Mapping[str, str]) -> set[str]:
    opened = {owner for root in reads.btrees for owner in storage.of(root)}
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
    table: Table, probe: _Probe, storage: Storage, handles: Mapping[str, str],
    sql: Mapping[str, str],
) -> ObjectReads:  # fmt: skip
    """The object's own sources (not yet closed) and program."""
    name = fold(table.name)
    sources = {name} if table.kind == "table" else set()
    if table.content is not None:
        sources.add(fold(table.content.table))
    lists = None
    parsed = parse_module(sql.get(name, "")) if table.virtual else None
    if parsed is not None and parsed[0] in _INDEXES_OF and parsed[1]:
        arguments = [a.strip("'\"`[]") for a in parsed[1]]
        lists = fold(arguments[1] if len(arguments) > 2 else arguments[0])
        sources.add(lists)
    if name in storage.shared:
        problem = f"its storage is also {storage.shared[name]!r}'s (a schema edited by hand)"
        return ObjectReads(frozenset(sources), problem=problem)
    if table.virtual or (table.kind == "table" and not any(c.generated for c in table.columns)):
        return ObjectReads(frozenset(sources), lists=lists)
    try:
        program = program_reads(probe.program(build_read_probe(table.name)))
    except (sqlite3.Error, MemoryError) as error:
        return ObjectReads(frozenset(sources), problem=str(error))
    sources |= _opened(program, storage, handles)
    return ObjectReads(frozenset(sources), program, _program_problem(program, handles))


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
    holder = _holder(schema)
    conn.set_authorizer(probe)
    try:
        storage = _storage(conn, holder)
        handles = _handles(probe, schema)
        objects = {fold(t.name): _direct(t, probe, storage, handles, sql) for t in schema.tables}
        fed = fed_by_triggers(conn, Compiler(probe.hear, storage.of, handles, holder), hidden)
    finally:
        conn.set_authorizer(INTROSPECTION)
    direct = {name: set(o.sources) for name, o in objects.items()}
    for target, sources in fed.feeders.items():
        direct.setdefault(target, set()).update(sources)
    views = {fold(t.name) for t in schema.tables if t.kind == "view"}
    closed = {
        name: dataclasses.replace(
            o,
            sources=(_closed(direct, name) | ({name} if name in o.sources else set())) - views,
            hidden_feed=name in fed.hidden,
        )
        for name, o in objects.items()
    }
    return ReadModel(closed, hidden, handles)


def reads_of(tables: Iterable[Table], model: ReadModel) -> dict[str, frozenset[str]]:
    return {fold(t.name): model.of(t).sources for t in tables}
