"""What is exposed: the file's schema after the configuration's hiding, the SQLite
authorizers that enforce it, and the named queries' columns. Read at startup and again
whenever the file's schema or identity changes; every route receives it whole.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlapi.auth.policies import NO_POLICIES, PolicyError, RowPolicies, row_policies
from sqlapi.config import ConfigError, Settings
from sqlapi.model.schema import Schema, fold
from sqlapi.sql.statements import build_probe_query, claim_parameters
from sqlapi.store import readonly
from sqlapi.store.clientsql import ClientRules
from sqlapi.store.introspect import READ_PRAGMAS, introspect, settle_view_types
from sqlapi.store.programs import ProgramReads, read_policy
from sqlapi.store.readonly import Authorizer, FileVersion, Limits
from sqlapi.store.reads import ReadModel, read_model, reads_of
from sqlapi.store.visibility import (
    RestrictionError,
    Restrictions,
    check_names,
    configured_hidden,
    hidden_from,
    restrict,
    without_columns,
)

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
    """Read the file's schema, what each object reads, and apply the configuration.
    Raises ConfigError for a configured name the file lacks (`strict`; otherwise such
    tables are withheld), OSError for a file that is gone, sqlite3.DatabaseError for one
    that is not SQLite."""
    rules = restrictions(settings)
    with readonly.introspection(settings.database, settings.immutable) as (conn, version):
        full = introspect(conn)
        try:
            if strict:
                check_names(full, rules)
            hidden, _ = configured_hidden(full, rules, strict=strict)
            model = read_model(conn, full, hidden, _compiling_under)
            full = settle_view_types(full, reads_of(full.tables, model))
            reveals = _reveals_hidden(conn, full, model)
            schema = restrict(full, rules, model, reveals, strict=strict)
            policies = row_policies(
                {name: rules.row_filter for name, rules in settings.tables.items()},
                schema,
                strict=strict,
            )
        except (RestrictionError, PolicyError) as error:
            raise ConfigError(str(error)) from error
        unfiltered = _without(schema, _readers_of(schema, policies.tables))
        policy = read_policy(conn, full, unfiltered)
    denied, hidden = hidden_from(full, schema)
    authorizer = readonly.make_authorizer(denied, hidden, shadow=full.shadow)
    widest = max((len(t.columns) for t in full.tables), default=0)
    client_limits = dataclasses.replace(
        sqlite_limits(settings),
        value_bytes=settings.sql_max_value_bytes,
        columns=max(CLIENT_COLUMNS, widest),  # the file's own tables must still parse
    )
    return Exposure(
        schema=schema,
        read_from=version,
        authorizer=authorizer,
        client_rules=ClientRules(
            policy,
            readonly.make_authorizer(
                denied | _readers_of(schema, policies.tables),
                hidden,
                hidden_read=sqlite3.SQLITE_DENY,
                shadow=full.shadow,
            ),
            client_limits,
        ),
        query_columns=check_queries(settings, authorizer, strict),
        row_policies=policies,
    )


def _compiling_under(hidden: frozenset[tuple[str, str]]) -> Authorizer:
    """The authorizer an object's program is compiled under to learn what it reads: the
    columns hidden as requests will see them, the schema readable, writes preparable (the
    programs of triggers), on the read-only introspection connection."""
    return readonly.make_authorizer(
        hidden=hidden, pragmas=READ_PRAGMAS, schema_text=True, shadow=readonly.ANY_TABLE
    )


def _reveals_hidden(
    conn: sqlite3.Connection, full: Schema, model: ReadModel
) -> Callable[[ProgramReads], bool]:
    """Whether a program reads a hidden column: a record slot of one, or an index or a
    virtual table that holds one (a seek compares its columns without reading them)."""
    visible = without_columns(full, model.hidden)
    policy = read_policy(conn, full, visible)
    handles = frozenset(
        h for h, name in model.handles.items() if not name or name in policy.virtual
    )
    return lambda program: policy.refusal(program, handles) is not None


def _readers_of(schema: Schema, tables: frozenset[str]) -> frozenset[str]:
    """The folded names of the objects that read any of `tables` (themselves included)."""
    if not tables:
        return frozenset()
    return frozenset(fold(t.name) for t in schema.tables if t.sources & tables)


def _without(schema: Schema, names: frozenset[str]) -> Schema:
    if not names:
        return schema
    kept = tuple(t for t in schema.tables if fold(t.name) not in names)
    return Schema(tables=kept, sqlite_version=schema.sqlite_version)


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
