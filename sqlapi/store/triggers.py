"""What triggers copy from one object into another. Reads never fire a trigger, but what
a trigger wrote is there to be read: a table a trigger fills from a denied table, a
hidden column or a filtered table reveals it.

For every object that has triggers (a table, a view's INSTEAD OF triggers, a virtual
table's own table), an INSERT, an UPDATE of every column and a DELETE are compiled (never
run, on the read-only introspection connection): their programs hold the triggers'
programs, whose writes (`OpenWrite`, `VUpdate`) and reads (`OpenRead`) say which object is
filled from which, and the authorizer hears the columns the triggers read. Where SQLite
cannot compile such a write here (a trigger calls a function this process does not have),
every object the triggers' text names counts as filled from everything it names: the
analysis fails closed."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlapi.model.schema import fold
from sqlapi.sql.statements import build_write_probes

_WRITES = frozenset({"OpenWrite"})
_NO_TRIGGER = re.compile(r"cannot modify .* because it is a view")
_VIRTUAL_WRITES = frozenset({"VUpdate", "VOpen"})
_NAME = re.compile(r'"((?:[^"]|"")*)"|`((?:[^`]|``)*)`|\[([^\]]*)\]|\'((?:[^\']|\'\')*)\'|(\w+)')
Program = list[tuple[object, ...]]


@dataclass
class Fed:
    """What each object is filled from (folded names), and which are filled by triggers
    that read a hidden column."""

    feeders: dict[str, set[str]] = field(default_factory=dict)
    hidden: set[str] = field(default_factory=set)

    def add(self, targets: Iterable[str], sources: Iterable[str], hidden: bool) -> None:
        for target in targets:
            self.feeders.setdefault(target, set()).update(set(sources) - {target})
            if hidden:
                self.hidden.add(target)


@dataclass(frozen=True)
class Compiler:
    """How a write is compiled and read: `hear(sql)` gives its program and the (table,
    column) pairs its triggers read; `owners(root)` and `handles` name what it opens;
    `holder(name)` is the object a virtual table's own table belongs to."""

    hear: Callable[[str], tuple[Program, set[tuple[str, str]]]]
    owners: Callable[[object], frozenset[str]]
    handles: Mapping[str, str]
    holder: Callable[[str], str]


def fed_by_triggers(
    conn: sqlite3.Connection, compiler: Compiler, hidden: frozenset[tuple[str, str]]
) -> Fed:
    fed = Fed()
    triggers: dict[str, list[str]] = {}
    for table, sql in conn.execute(
        "SELECT tbl_name, sql FROM sqlite_schema WHERE type = 'trigger'"
    ):
        triggers.setdefault(str(table), []).append(str(sql or ""))
    known = {
        fold(str(n))
        for (n,) in conn.execute("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')")
    }
    for table, texts in triggers.items():
        name = compiler.holder(fold(table))
        reads_hidden = any(t == fold(table) for t, _ in hidden)
        columns = [
            str(c) for c, kind in conn.execute(
                "SELECT name, hidden FROM pragma_table_xinfo(?)", (table,)
            ) if kind in (0, 1)
        ]  # fmt: skip
        for sql in build_write_probes(table, columns):
            try:
                program, heard = compiler.hear(sql)
            except (sqlite3.Error, MemoryError) as error:
                if _NO_TRIGGER.search(str(error)):
                    continue  # a view with no trigger for this write: none to read
                named = {compiler.holder(n) for n in _names(texts) & known}
                any_hidden = reads_hidden or any(t in named for t, _ in hidden)
                fed.add(named - {name}, {name, *named}, any_hidden)  # fails closed
                continue
            read = {o for r in program if r[1] == "OpenRead" for o in compiler.owners(r[3])}
            written = {o for r in program if r[1] in _WRITES for o in compiler.owners(r[3])}
            written |= {
                compiler.handles.get(str(r[5]), "") for r in program if r[1] in _VIRTUAL_WRITES
            }
            fed.add(written - {name, ""}, {name, *read}, bool(heard & hidden))
    return fed


def _names(texts: Iterable[str]) -> set[str]:
    """Every name a trigger's text could mean (identifiers, quoted or not), folded."""
    found: set[str] = set()
    for text in texts:
        for match in _NAME.finditer(text):
            word = next(g for g in match.groups() if g is not None)
            found.add(fold(word.replace('""', '"').replace("``", "`").replace("''", "'")))
    return found
