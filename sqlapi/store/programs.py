"""Client SQL (/api/sql) reads only what is exposed, whatever its syntax.

SQLite's authorizer is not asked about every use of a column (a column named only in
`USING (...)` or a `NATURAL JOIN`, an FTS5 `MATCH 'col : word'`), so hiding that relies
on it alone leaks. Here a statement is compiled first (`EXPLAIN`) and its program read
before it runs: SQLite can read the file only through cursors the program opens, so
checking every cursor checks every read, however the SQL was written:

- a table or index b-tree may be opened only if it is exposed (by root page; FTS shadow
  tables, `sqlite_schema`, `sqlite_stat1`, denied tables and their indexes never are);
- on a table with hidden columns, only the record slots of visible columns may be read,
  and only indexes whose every column is visible may be opened (an index seek compares
  its columns without reading them through the table);
- a virtual table may be opened only if it is exposed with all its columns visible (an
  FTS5 query string can name any column), or is one of SQLite's harmless eponymous
  tables (`json_each`, `json_tree`);
- nothing in the temp schema, and no opcode that writes or reads the file another way.

The check and the statement run in one read transaction, so they see the same schema.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sqlapi.model.encoding import JSON_VALUE
from sqlapi.model.errors import NotExposed, ProblemError
from sqlapi.model.schema import Schema, Table, fold
from sqlapi.sql.statements import build_column_probe, build_open_probes
from sqlapi.store.functions import allowed_function
from sqlapi.store.readonly import Authorizer

_OPENS = frozenset({"OpenRead", "ReopenIdx"})
_COLUMN_READS = frozenset({"Column", "Offset"})
# Opcodes a read-only SELECT never needs: writes, schema and file administration, and
# transaction control (the check holds the transaction itself).
_REFUSED = frozenset(
    {
        "OpenWrite", "IntegrityCk", "VUpdate", "SqlExec", "ParseSchema", "Vacuum",
        "CreateBtree", "Destroy", "Clear", "JournalMode", "Checkpoint", "VCreate",
        "VDestroy", "TableLock", "LoadAnalysis", "DropTable", "DropIndex", "DropTrigger",
        "SetCookie", "Pagecount", "MaxPgcnt", "IncrVacuum", "AutoCommit", "Savepoint",
        "Program", "VRename", "Expire",
    }
)  # fmt: skip
_P2_IS_REGISTER = 0x10  # OPFLAG_P2ISREG: the root page comes from a register


_CALLS = frozenset(
    {"Function", "PureFunc", "AggStep", "AggStep1", "AggInverse", "AggValue", "AggFinal"}
)


@dataclass(frozen=True)
class ProgramReads:
    """What a compiled program (EXPLAIN's rows) reads: the b-trees it opens (root pages),
    the record slots it reads of each, the virtual tables it opens (per-connection
    handles), the functions it calls, and the opcodes no read needs. Every read of the file
    goes through a cursor one of these opcodes opens, whatever the SQL that compiled to it:
    this is what client SQL is checked by and what an object of the file reveals."""

    btrees: frozenset[int] = frozenset()
    slots: Mapping[int, frozenset[int]] = field(default_factory=dict)  # root -> slots read
    handles: frozenset[str] = frozenset()
    functions: frozenset[str] = frozenset()  # lower case
    refused: frozenset[str] = frozenset()  # opcodes, and "elsewhere" for another schema


def program_reads(program: Sequence[Sequence[object]]) -> ProgramReads:
    cursors: dict[object, int] = {}  # cursor -> the root page it reads
    btrees: set[int] = set()
    slots: dict[int, set[int]] = {}
    handles: set[str] = set()
    functions: set[str] = set()
    refused: set[str] = set()
    for _, op, p1, p2, p3, p4, p5, *_ in program:
        if op in _REFUSED:
            refused.add(str(op))
        elif op in _OPENS:
            if p3 != 0 or (isinstance(p5, int) and p5 & _P2_IS_REGISTER) or not isinstance(p2, int):
                refused.add("elsewhere")  # another schema, or a root page from a register
                continue
            btrees.add(p2)
            cursors[p1] = p2
            slots.setdefault(p2, set())
        elif op == "VOpen":
            handles.add(str(p4))
        elif op in _COLUMN_READS and p1 in cursors and isinstance(p2, int):
            slots[cursors[p1]].add(p2)
        elif op in _CALLS and isinstance(p4, str):
            functions.add(p4.split("(", 1)[0].lower())
    return ProgramReads(
        frozenset(btrees),
        {root: frozenset(read) for root, read in slots.items()},
        frozenset(handles),
        frozenset(functions),
        frozenset(refused),
    )


@dataclass(frozen=True)
class ReadPolicy:
    """What a program may read: b-trees by root page (with, for tables that have hidden
    columns, the record slots it may read) and virtual tables by name."""

    btrees: frozenset[int] = frozenset()
    slots: Mapping[int, frozenset[int]] = field(default_factory=dict)  # root -> readable
    virtual: frozenset[str] = frozenset()  # folded names

    def refusal(self, reads: ProgramReads, handles: frozenset[str]) -> str | None:
        """Why a program that reads `reads` may not run (None: it may); `handles` are the
        virtual tables it may open, as this connection names them (`opened_handles`)."""
        if reads.refused:
            return f"needs {min(reads.refused)}, which a read never does"
        if not reads.btrees <= self.btrees:
            return "reads a table or index that is not exposed"
        if not reads.handles <= handles:
            return "reads a virtual table that is not exposed whole"
        for root, read in reads.slots.items():
            if root in self.slots and not read <= self.slots[root]:
                return "reads a hidden column"
        calls = sorted(f for f in reads.functions if not allowed_function(f))
        if calls:
            return f"calls {calls[0]}(), which sqlapi does not run"
        return None

    def refuse(self, why: str) -> ProblemError:
        """`why` is for the reader of this code: the answer is the same for every reason,
        so that nothing tells a hidden name from one that does not exist."""
        return NotExposed()


def _rows(conn: sqlite3.Connection, sql: str, *params: object) -> list[tuple[object, ...]]:
    return list(conn.execute(sql, params))


def _visible_indexes(conn: sqlite3.Connection, name: str, visible: set[str]) -> list[str]:
    """Indexes of table `name` whose every column (key and stored) is visible."""
    usable = []
    for _, index, _, _, partial in _rows(conn, "SELECT * FROM pragma_index_list(?)", name):
        columns = _rows(conn, "SELECT cid, name FROM pragma_index_xinfo(?)", index)
        named = all(cid == -1 or (column is not None and fold(str(column)) in visible)
                    for cid, column in columns)  # fmt: skip
        if named and not partial:
            usable.append(str(index))
    return usable


def _slots(conn: sqlite3.Connection, table: str, root: int, columns: Sequence[str]) -> set[int]:
    """The record slots a program reads for these stored columns of `table`, as SQLite
    itself compiles them (generated and WITHOUT ROWID tables store columns out of order).
    Never a VIRTUAL generated column: its program reads the columns it is computed from,
    which may be hidden ones."""
    slots: set[int] = set()
    for column in columns:
        program = _rows(conn, build_column_probe(table, column))
        cursors = {p1 for _, op, p1, p2, *_ in program if op == "OpenRead" and p2 == root}
        slots |= {int(p2) for _, op, p1, p2, *_ in program if op == "Column" and p1 in cursors}  # type: ignore[call-overload]
    return slots


def read_policy(conn: sqlite3.Connection, full: Schema, exposed: Schema) -> ReadPolicy:
    """The policy of `exposed` (the configured schema) over the file's `full` schema, read
    through `conn` (a connection allowed to read the schema)."""
    roots: dict[str, int] = {}
    owners: dict[str, str] = {}  # index -> its table
    for kind, name, table, root in _rows(
        conn, "SELECT type, name, tbl_name, rootpage FROM sqlite_schema WHERE rootpage > 0"
    ):
        roots[fold(str(name))] = int(root)  # type: ignore[call-overload]
        if kind == "index":
            owners[fold(str(name))] = fold(str(table))
    btrees: set[int] = set()
    slots: dict[int, frozenset[int]] = {}
    virtual: set[str] = set()
    for table in exposed.tables:
        whole = full.table(table.name)
        if whole is None or table.kind != "table":
            continue
        visible = {fold(c.name) for c in table.columns}
        declared = _rows(conn, "SELECT name, pk, hidden FROM pragma_table_xinfo(?)", table.name)
        hidden = [(str(n), pk, kind) for n, pk, kind in declared  # kind 1: a virtual table's
                  if fold(str(n)) not in visible and kind != 1]  # own, not the file's  # fmt: skip
        if table.virtual:
            if not hidden:
                virtual.add(fold(table.name))
            continue
        root = roots.get(fold(table.name))
        if root is None:
            continue
        if not hidden:
            btrees.add(root)
            btrees |= {r for i, r in roots.items() if owners.get(i) == fold(table.name)}
            continue
        if any(pk for _, pk, _ in hidden) and (whole.without_rowid or _rowid_key(whole)):
            continue  # a hidden key: every seek compares it, every cursor reveals it
        btrees.add(root)
        rowid = _rowid_key(whole)  # its column is read as the rowid, not from a slot
        stored = [str(n) for n, pk, kind in declared
                  if fold(str(n)) in visible and kind != 2 and not (pk and rowid)]  # fmt: skip
        slots[root] = frozenset(_slots(conn, table.name, root, stored))
        btrees |= {roots[fold(i)] for i in _visible_indexes(conn, table.name, visible)}
    return ReadPolicy(frozenset(btrees), slots, frozenset(virtual))


def _rowid_key(table: Table) -> bool:
    """The table's primary key is its rowid (an INTEGER PRIMARY KEY)."""
    return any(c.is_rowid and c.primary_key for c in table.columns) and not table.without_rowid


def calibration(policy: ReadPolicy) -> list[str]:
    """Statements whose programs open each virtual table `policy` allows: a program names
    a virtual table by a handle (`vtab:...`) that is only valid on one connection, so each
    client connection learns the handles it may open from these (see `opened_handles`)."""
    return build_open_probes(sorted(policy.virtual))


def opened_handles(program: Sequence[Sequence[object]]) -> frozenset[str]:
    return frozenset(str(row[5]) for row in program if row[1] == "VOpen")


def check_program(
    program: Sequence[Sequence[object]], policy: ReadPolicy, handles: frozenset[str]
) -> None:
    """Raise a 403 problem unless every read of `program` (EXPLAIN's rows) is allowed."""
    why = policy.refusal(program_reads(program), handles)
    if why is not None:
        raise policy.refuse(why)


class InternalSteps:
    """A client's connection's authorizer, with a switch for sqlapi's own steps around
    the client's statement (BEGIN, COMMIT and the EXPLAIN that checks it). sqlapi's own
    SQL function is not the client's to call."""

    TRANSACTION, FUNCTION = 22, 31

    def __init__(self, authorizer: Authorizer) -> None:
        self.authorizer = authorizer
        self.internal = False

    def __call__(
        self, action: int, arg1: str | None, arg2: str | None, db: str | None, src: str | None
    ) -> int:
        if self.internal and action == self.TRANSACTION:
            return sqlite3.SQLITE_OK
        if action == self.FUNCTION and (arg2 or "").lower() == JSON_VALUE:
            return sqlite3.SQLITE_DENY  # sqlapi's own, for the statements it builds
        return self.authorizer(action, arg1, arg2, db, src)
