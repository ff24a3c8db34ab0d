"""What is exposed: the file's schema after the configuration's hiding, the SQLite
authorizers that enforce it, and the named queries' columns. Read at startup and again
whenever the file's schema or identity changes; every route receives it whole.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlapi import readonly
from sqlapi.auth.policies import NO_POLICIES, PolicyError, RowPolicies, row_policies
from sqlapi.bytecode import read_policy
from sqlapi.clientsql import ClientRules
from sqlapi.config import ConfigError, Settings
from sqlapi.introspect import introspect
from sqlapi.query import build_probe_query, claim_parameters
from sqlapi.readonly import Authorizer, FileVersion, Limits
from sqlapi.schema import Column, ForeignKey, Reference, Schema, Table, fold

log = logging.getLogger("sqlapi")
CLIENT_COLUMNS = 100  # result columns a client's statement may have, or the widest table's


@dataclass(frozen=True)
class Exposure:
    """The schema as configured, the authorizers that enforce it, the named queries'
    columns, and which file and schema version it was read from."""

    schema: Schema
    read_from: FileVersion
    authorizer: Authorizer
    client_rules: ClientRules  # what clients' SQL (/api/sql) may do
    query_columns: Mapping[str, list[str]]
    row_policies: RowPolicies = NO_POLICIES


class RestrictionError(ValueError):
    """A configured table or column that the database does not have."""


@dataclass(frozen=True)
class Restrictions:
    """What the configuration takes away: whole tables, and columns of tables."""

    allow: tuple[str, ...] | None = None
    deny: tuple[str, ...] = ()
    hidden: dict[str, tuple[str, ...]] = field(default_factory=dict)  # table -> hidden columns
    columns_allow: dict[str, tuple[str, ...]] = field(default_factory=dict)


def _check_names(schema: Schema, names: tuple[str, ...], where: str) -> None:
    for name in names:
        if schema.table(name) is None:
            raise RestrictionError(f"{where}: the database has no table or view {name!r}")


def _visible_columns(table: Table, rules: Restrictions, where: str) -> tuple[Column, ...]:
    hidden = {fold(n) for n in rules.hidden.get(table.name, ())}
    allowed = rules.columns_allow.get(table.name)
    for name in [*rules.hidden.get(table.name, ()), *(allowed or ())]:
        if table.column(name) is None:
            raise RestrictionError(
                f"{where}.{table.name}: {table.kind} {table.name!r} has no column {name!r}"
            )
    keep = {fold(n) for n in allowed} if allowed is not None else None
    return tuple(
        c
        for c in table.columns
        if fold(c.name) not in hidden and (keep is None or fold(c.name) in keep or c.is_rowid)
    )


def restrict(schema: Schema, rules: Restrictions, *, strict: bool = True) -> Schema:
    """The schema as configured: denied tables and hidden columns are gone from it, and so
    from everything built on it. An FTS index follows its content table: denied with it,
    its copies of hidden columns hidden too, and `_search` is off wherever it would
    match text in a hidden column.

    A configured name the file does not have is a RestrictionError; not `strict` (a file
    that changed while served), unknown table names are ignored and a table whose
    column rules name a column it lacks is withheld: never shown without its rules."""
    if strict:
        _check_names(schema, rules.allow or (), "tables_allow")
        _check_names(schema, rules.deny, "tables_deny")
        _check_names(schema, tuple(rules.hidden) + tuple(rules.columns_allow), "tables")
    allowed = {fold(n) for n in rules.allow} if rules.allow is not None else None
    denied = {fold(n) for n in rules.deny}
    owners = {
        fold(t.fts.table): t for t in schema.tables if t.fts is not None and t.fts.key is not None
    }
    tables = []
    for table in schema.tables:
        owner = owners.get(fold(table.name), table)  # an FTS index is governed by its content table
        if fold(owner.name) in denied or (allowed is not None and fold(owner.name) not in allowed):
            continue
        try:
            columns = _visible_columns(table, rules, "tables")
            visible = {fold(c.name) for c in _visible_columns(owner, rules, "tables")}
        except RestrictionError:
            if strict:
                raise
            continue
        columns = tuple(c for c in columns if c.is_rowid or fold(c.name) in visible)
        visible = {fold(c.name) for c in columns} if owner is table else visible
        fts = table.fts
        if fts is not None and any(fold(name) not in visible for name in fts.columns):
            fts = None
        names = {c.name for c in columns}
        key = table.primary_key if set(table.primary_key) <= names else ()
        indexes = tuple(
            ix for ix in table.indexes if all(c is None or c in names for c in ix.columns)
        )
        # SQLite names every read of the true rowid `ROWID` to the authorizer where a column
        # is called that: hidden, it blanks the rowid, which then settles no ties
        blanked = any(fold(c.name) == "rowid" and c.name not in names for c in table.columns)
        tie_breaker = None if blanked else table.tie_breaker
        tables.append(
            dataclasses.replace(
                table,
                columns=columns,
                primary_key=key,
                fts=fts,
                indexes=indexes,
                tie_breaker=tie_breaker,
                _by_name={},
            )
        )
    exposed = Schema(tables=tuple(tables), sqlite_version=schema.sqlite_version)
    keyed = [(t, _visible_keys(exposed, t)) for t in tables]
    incoming: dict[str, list[Reference]] = {}
    for table, keys in keyed:
        for fk in keys:
            refs = tuple(r for r in fk.references if r is not None)
            incoming.setdefault(fold(fk.table), []).append(Reference(table.name, fk.columns, refs))
    return Schema(
        tables=tuple(
            dataclasses.replace(
                t,
                foreign_keys=keys,
                referenced_by=tuple(incoming.get(fold(t.name), ())),
                _by_name={},
            )
            for t, keys in keyed
        ),
        sqlite_version=schema.sqlite_version,
    )


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
        found = [target.column(r) if r is not None else None for r in refs]
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


def hidden_from(full: Schema, exposed: Schema) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    """(denied tables, hidden (table, column) pairs), folded: what SQLite's authorizer must
    refuse or blank even when a view or /api/sql reaches for it."""
    tables = frozenset(fold(t.name) for t in full.tables if exposed.table(t.name) is None)
    columns = frozenset(
        (fold(t.name), fold(c.name))
        for t in full.tables
        if (kept := exposed.table(t.name)) is not None
        for c in t.columns
        if not c.is_rowid and kept.column(c.name) is None
    )
    return tables, columns


def restrictions(settings: Settings) -> Restrictions:
    return Restrictions(
        allow=settings.tables_allow,
        deny=settings.tables_deny,
        hidden={name: rules.hidden_columns for name, rules in settings.tables.items()},
        columns_allow={
            n: r.columns_allow for n, r in settings.tables.items() if r.columns_allow is not None
        },
    )


def expose(settings: Settings, *, strict: bool = True) -> Exposure:
    """Read the file's schema and apply the configuration. Raises ConfigError for a
    configured name the file lacks (`strict`; otherwise such tables are withheld),
    OSError for a file that is gone, sqlite3.DatabaseError for one that is not SQLite."""
    with readonly.introspection(settings.database, settings.immutable) as (conn, version):
        full = introspect(conn)
        try:
            schema = restrict(full, restrictions(settings), strict=strict)
            policies = row_policies(
                {name: rules.row_filter for name, rules in settings.tables.items()},
                schema,
                strict=strict,
            )
        except (RestrictionError, PolicyError) as error:
            raise ConfigError(str(error)) from error
        public = _without(schema, _escaping_policies(conn, schema, policies.tables))
        policy = read_policy(conn, full, _without(public, policies.tables))
    authorizer = readonly.make_authorizer(*hidden_from(full, schema))
    denied, hidden = hidden_from(full, public)
    widest = max((len(t.columns) for t in full.tables), default=0)
    client_limits = dataclasses.replace(
        sqlite_limits(settings),
        value_bytes=settings.sql_max_value_bytes,
        columns=max(CLIENT_COLUMNS, widest),  # the file's own tables must still parse
    )
    return Exposure(
        schema=public,
        read_from=version,
        authorizer=authorizer,
        client_rules=ClientRules(
            policy,
            readonly.make_authorizer(
                denied | policies.tables, hidden, hidden_read=sqlite3.SQLITE_DENY
            ),
            client_limits,
        ),
        query_columns=check_queries(settings, authorizer, strict),
        row_policies=policies,
    )


def _without(schema: Schema, names: frozenset[str]) -> Schema:
    if not names:
        return schema
    kept = tuple(t for t in schema.tables if fold(t.name) not in names)
    return Schema(tables=kept, sqlite_version=schema.sqlite_version)


def _escaping_policies(
    conn: sqlite3.Connection, schema: Schema, filtered: frozenset[str]
) -> frozenset[str]:
    """The tables through which a filtered table's rows would escape its filter, withheld
    from callers: its full-text index (a copy of its text; its own `_search` still works)
    and every view that reads it, however deeply (SQLite names the view for each read)."""
    if not filtered:
        return frozenset()
    escaping = {
        fold(t.fts.table)
        for t in schema.tables
        if fold(t.name) in filtered and t.fts is not None and t.fts.key is not None
    }
    escaping |= readonly.views_reading(conn, [t.name for t in schema.tables if t.kind == "view"],
                                       filtered)  # fmt: skip
    return frozenset(escaping)


def sqlite_limits(settings: Settings) -> Limits:
    """SQLite's limits on the API's own statements (`readonly.Limits`)."""
    return Limits(value_bytes=settings.max_value_bytes, pattern_length=settings.max_pattern_length)


def expose_again(settings: Settings) -> Exposure:
    """The file changed while served: expose what still fits the configuration, and say
    what no longer does."""
    try:
        return expose(settings)
    except ConfigError as error:
        log.warning("%s: the configuration no longer fits: %s", settings.database, error)
    return expose(settings, strict=False)


def check_queries(
    settings: Settings, authorizer: Authorizer, strict: bool = True
) -> dict[str, list[str]]:
    """Every configured query prepares, under the same rules as requests; its columns."""
    probes = {}
    for name, query in settings.queries.items():
        sql, claims = claim_parameters(query.sql)
        probes[name] = (build_probe_query(sql), (*query.params, *claims))
    try:
        return readonly.probe_queries(
            settings.database, settings.immutable, authorizer, probes, strict
        )
    except ValueError as error:
        raise ConfigError(str(error)) from error
