"""What the configuration leaves visible of the file: `restrict` turns the introspected
schema into the exposed one, deciding each object by what it reads (reads.py).

An object is served when the configuration does not take it away, SQLite's program for
it is one sqlapi runs, every object whose data it reveals (its sources) is itself
served, and it reveals no hidden column: a view whose program reads a hidden column's
slot (a `USING` on it, which the authorizer never hears of) is not served, a generated
column computed from a hidden one is hidden with it, a full-text index's copies of
hidden columns are hidden, and a table filled by triggers that read a hidden column is
not served. Every object not served for a reason of its own is in `Schema.skipped`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlapi.model.schema import (
    Column,
    ForeignKey,
    FullText,
    Reference,
    Schema,
    Skipped,
    Table,
    fold,
)
from sqlapi.store.programs import ProgramReads
from sqlapi.store.reads import ObjectReads, ReadModel

Hidden = frozenset[tuple[str, str]]  # (table, column), folded
RevealsHidden = Callable[[ProgramReads], bool]


class RestrictionError(ValueError):
    """A configured table or column that the database does not have."""


@dataclass(frozen=True)
class Restrictions:
    """What the configuration takes away: whole tables, and columns of tables."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    hidden: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> hidden columns
    columns_allow: dict[str, tuple[str, ...]] = field(default_factory=dict)


def check_names(schema: Schema, rules: Restrictions) -> None:
    """RestrictionError for a table the configuration names and the file does not have."""
    _check_names(schema, rules.allow or (), "tables_allow")
    _check_names(schema, rules.deny, "tables_deny")
    _check_names(schema, tuple(rules.hidden) + tuple(rules.columns_allow), "tables")


def _check_names(schema: Schema, names: tuple[str, ...], where: str) -> None:
    for name in names:
        if schema.table(name) is None:
            raise RestrictionError(f"{where}: the database has no table or view {name!r}")


def _hidden_by_rules(table: Table, rules: Restrictions) -> set[str]:
    """The folded names of the columns the rules hide in `table`; RestrictionError if
    they name a column it does not have."""
    hidden_names = rules.hidden.get(table.name, ())
    allowed = rules.columns_allow.get(table.name)
    for name in [*hidden_names, *(allowed or ())]:
        if table.column(name) is None:
            raise RestrictionError(
                f"tables.{table.name}: {table.kind} {table.name!r} has no column {name!r}"
            )
    hidden = {fold(n) for n in hidden_names}
    if allowed is not None:  # the rowid stays: a table's rows must be told apart
        keep = {fold(n) for n in allowed}
        hidden |= {
            fold(c.name) for c in table.columns if fold(c.name) not in keep and not c.is_rowid
        }
    return hidden


def configured_hidden(
    schema: Schema, rules: Restrictions, *, strict: bool = True
) -> tuple[Hidden, frozenset[str]]:
    """(the hidden columns, the tables whose column rules no longer fit the file): the
    latter only when not `strict`, which otherwise raises RestrictionError."""
    hidden: set[tuple[str, str]] = set()
    unfit: set[str] = set()
    for table in schema.tables:
        try:
            hidden |= {(fold(table.name), c) for c in _hidden_by_rules(table, rules)}
        except RestrictionError:
            if strict:
                raise
            unfit.add(fold(table.name))
    return frozenset(hidden), frozenset(unfit)


def _kind(table: Table) -> Literal["table", "view", "virtual table"]:
    return "virtual table" if table.virtual else table.kind


def restrict(
    schema: Schema,
    rules: Restrictions,
    model: ReadModel | None = None,
    reveals_hidden: RevealsHidden | None = None,
    *,
    strict: bool = True,
) -> Schema:
    """The schema as configured: what is not served is gone from it, and so from
    everything built on it (listings, rows, filters, keys, the OpenAPI document).

    `model` is what each object reads (without one, each reads itself and its content);
    `reveals_hidden` tells a program that reads a hidden column. A configured name the
    file does not have is a RestrictionError; not `strict` (a file that changed while
    served), unknown table names are ignored and a table whose column rules name a column
    it lacks is withheld: never shown without its rules."""
    if strict:
        check_names(schema, rules)
    hidden, unfit = configured_hidden(schema, rules, strict=strict)
    if model is not None:
        hidden = model.hidden
    allowed = {fold(n) for n in rules.allow} if rules.allow is not None else None
    configured_out = {
        fold(t.name)
        for t in schema.tables
        if fold(t.name) in {fold(n) for n in rules.deny}
        or (allowed is not None and fold(t.name) not in allowed)
    }
    reads = {fold(t.name): _reads_of(t, model) for t in schema.tables}
    judge = _Judge(schema, reads, configured_out, hidden, reveals_hidden)
    reasons = judge.decide(configured_out | unfit)
    skipped = list(schema.skipped)
    kept = []
    for table in schema.tables:
        name = fold(table.name)
        if name in configured_out:
            continue
        why = "its configured columns no longer fit" if name in unfit else reasons[name]
        if why is not None:
            skipped.append(Skipped(table.name, _kind(table), why))
            continue
        kept.append(_visible(table, hidden, reads[name].sources))
    exposed = _with_search(kept)
    keyed = [(t, _visible_keys(Schema(tuple(exposed), schema.sqlite_version), t)) for t in exposed]
    incoming: dict[str, list[Reference]] = {}
    for table, keys in keyed:
        for fk in keys:
            refs = tuple(r for r in fk.references if r is not None)
            incoming.setdefault(fold(fk.table), []).append(Reference(table.name, fk.columns, refs))
    return Schema(
        tables=tuple(
            dataclasses.replace(t, foreign_keys=keys, referenced_by=refs, _by_name={})
            for t, keys in keyed
            for refs in [tuple(incoming.get(fold(t.name), ()))]
        ),
        sqlite_version=schema.sqlite_version,
        skipped=tuple(sorted(skipped, key=lambda s: fold(s.name))),
        shadow=schema.shadow,
    )


def _reads_of(table: Table, model: ReadModel | None) -> ObjectReads:
    if model is not None:
        return model.of(table)
    own = {fold(table.name)} if table.kind == "table" else set()
    content = {fold(table.content.table)} if table.content is not None else set()
    return ObjectReads(frozenset(own | content))


@dataclass
class _Judge:
    """Decides, for every object the configuration keeps, why it is not served (None:
    it is): at once for what it is itself, then again until no object reads one that is
    not served (a view of a table that a trigger fills from a hidden column, say)."""

    schema: Schema
    reads: Mapping[str, ObjectReads]
    configured_out: set[str]
    hidden: Hidden
    reveals_hidden: RevealsHidden | None

    @property
    def hidden_tables(self) -> set[str]:
        return {t for t, _ in self.hidden}

    def decide(self, out: set[str]) -> dict[str, str | None]:
        holders = {fold(t.name) for t in self.schema.tables if t.kind == "table"} - out
        while True:
            reasons = {fold(t.name): self._why_not(t, holders) for t in self.schema.tables}
            served = {name for name in holders if reasons[name] is None}
            if served == holders:
                return reasons
            holders = served

    def _why_not(self, table: Table, holders: set[str]) -> str | None:
        reads = self.reads[fold(table.name)]
        if reads.problem is not None:
            return reads.problem
        outside = sorted(reads.sources - holders - {fold(table.name)})
        if any(source in self.configured_out for source in outside):
            return "reads a table the configuration does not expose"
        if outside:
            found = self.schema.table(outside[0])
            return f"reads {found.name if found else 'the schema'!r}, which is not served"
        if reads.hidden_feed:
            return "filled by triggers that read a hidden column"
        program, reveals = reads.program, self.reveals_hidden
        view = table.kind == "view"  # (a table's own hidden columns are simply not shown)
        if view and program is not None and reveals is not None and reveals(program):
            return "reads a hidden column"
        if reads.lists is not None and self._hides_words(reads.lists):
            return "lists the words of a hidden column"
        return self._indexed_view(table)

    def _hides_words(self, name: str) -> bool:
        """Whether a full-text index holds words of a hidden column: its own, or its
        content table's it copies."""
        index = self.schema.table(name)
        if index is None:
            return True  # not served anyway; its words are no one's to list
        content = fold(index.content.table) if index.content is not None else None
        return any(
            (fold(index.name), fold(c.name)) in self.hidden
            or (content, fold(c.name)) in self.hidden
            for c in index.columns
        )

    def _indexed_view(self, table: Table) -> str | None:
        """A full-text index of a view holds the view's text as its writer read it, hidden
        columns and all: not served where the view reads a table with hidden columns."""
        if table.content is None:
            return None
        content = fold(table.content.table)
        source = self.reads.get(content)
        is_view = source is not None and content not in source.sources
        if is_view and source is not None and source.sources & self.hidden_tables:
            return "indexes a view of a table with hidden columns"
        return None


def _visible(table: Table, hidden: Hidden, sources: frozenset[str]) -> Table:
    """`table` without its hidden columns (a full-text index: nor its content table's),
    its keys and indexes to what remains."""
    name = fold(table.name)
    content = fold(table.content.table) if table.content is not None else None
    columns = tuple(
        c
        for c in table.columns
        if (name, fold(c.name)) not in hidden and (content, fold(c.name)) not in hidden
    )
    names = {c.name for c in columns}
    fts = table.fts
    if fts is not None and fts.key is None and any(n not in names for n in fts.columns):
        fts = None  # a MATCH would search the hidden column's text too
    # SQLite names every read of the true rowid `ROWID` to the authorizer where a column is
    # called that: hidden, it blanks the rowid, which then settles no ties
    blanked = any(fold(c.name) == "rowid" and c.name not in names for c in table.columns)
    return dataclasses.replace(
        table,
        columns=columns,
        primary_key=table.primary_key if set(table.primary_key) <= names else (),
        fts=fts if fts is None or fts.key is None else None,  # chosen again: _with_search
        indexes=tuple(
            ix for ix in table.indexes if all(c is None or c in names for c in ix.columns)
        ),
        tie_breaker=None if blanked else table.tie_breaker,
        reads=sources,
        _by_name={},
    )


def _with_search(tables: list[Table]) -> list[Table]:
    """Each served table's `_search`: the first served full-text index (by name) whose
    content it is, searchable whole, whose columns it shows."""
    chosen: dict[str, FullText] = {}
    by_name = {fold(t.name): t for t in tables}
    for table in sorted(tables, key=lambda t: fold(t.name)):
        content, fts = table.content, table.fts
        if content is None or fts is None or fts.key is not None:
            continue
        target = by_name.get(fold(content.table))
        if target is None or fold(content.table) in chosen:
            continue
        exact = target.identified_by(content.key)  # else a match would find other rows
        if exact and all(target.column(c) is not None for c in fts.columns):
            chosen[fold(content.table)] = FullText(table.name, fts.columns, content.key)
    return [
        dataclasses.replace(t, fts=chosen[fold(t.name)], _by_name={})
        if fold(t.name) in chosen and t.fts is None
        else t
        for t in tables
    ]


def _visible_keys(exposed: Schema, table: Table) -> tuple[ForeignKey, ...]:
    """Foreign keys that name only visible columns of exposed tables, with the columns they
    refer to named (a key that names none refers to the target's primary key)."""
    kept = []
    for fk in table.foreign_keys:
        target = exposed.table(fk.table)
        if target is None or target.kind != "table" or target.virtual:
            continue
        if any(table.column(c) is None for c in fk.columns):
            continue
        refs = fk.references
        if all(r is None for r in refs):
            refs = tuple(c.name for c in target.key_columns)
        found: list[Column | None] = [target.column(r) if r is not None else None for r in refs]
        if len(found) != len(fk.columns) or any(c is None for c in found):
            continue
        kept.append(
            ForeignKey(
                tuple(table.column(c).name for c in fk.columns),  # type: ignore[union-attr]
                target.name,
                tuple(c.name for c in found if c is not None),
            )
        )
    return tuple(kept)


def without_columns(schema: Schema, hidden: Hidden) -> Schema:
    """Every object of `schema`, without the `hidden` columns."""
    tables = tuple(
        dataclasses.replace(
            t,
            columns=tuple(c for c in t.columns if (fold(t.name), fold(c.name)) not in hidden),
            _by_name={},
        )
        for t in schema.tables
    )
    return Schema(tables, schema.sqlite_version, shadow=schema.shadow)


def hidden_from(full: Schema, exposed: Schema) -> tuple[frozenset[str], Hidden]:
    """(tables not served, hidden (table, column) pairs), folded: what SQLite's authorizer
    must refuse or blank even when a view or /api/sql reaches for it."""
    tables = frozenset(fold(t.name) for t in full.tables if exposed.table(t.name) is None)
    tables |= frozenset(fold(s.name) for s in full.skipped)
    columns = frozenset(
        (fold(t.name), fold(c.name))
        for t in full.tables
        if (kept := exposed.table(t.name)) is not None
        for c in t.columns
        if not c.is_rowid and kept.column(c.name) is None
    )
    return tables, columns
