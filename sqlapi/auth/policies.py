"""Row policies: `[tables.T] row_filter = { column = "claim" }` makes a row of T visible
only to a caller whose verified token carries that claim with the row's value.

A policy becomes a `Scope` per caller: for each filtered table, a condition over its own
columns with the claims' values bound (never written into the SQL). The SQL builder names
every table it reads through the scope (`sql.conditions.scoped`), so the condition
holds on every path a row can travel: pages, one row, counts, values, exports, event
streams, aggregates, expansions, embeddings and related filters.

A claim's value is converted to its column's type as a query-string value would be; a
claim holding a list admits any of its values. A missing claim, one that does not
convert, an empty list, or no token at all (API keys, the anonymous role) admits no row.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlapi.auth.tokens import MISSING, Claims, claim_value
from sqlapi.model.errors import ProblemError
from sqlapi.model.schema import Column, Schema, Table, fold
from sqlapi.model.values import Value, numeric_affinity
from sqlapi.request.columns import convert
from sqlapi.request.types import EVERY_ROW, NO_ROW, BoolGroup, Condition, Filter, Indexed, Scope

SCOPES_KEPT = 10_000


class PolicyError(ValueError):
    """A row filter the exposed schema cannot honour, worded for one line."""


def _claim_text(value: object) -> str | None:
    """A scalar claim as a query string would carry it; None for anything else (a
    boolean, null, an object or a list inside a list)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return None


def _canonical(value: Value, text: str, column: Column) -> bool:
    """Whether `text` is the one spelling of `value`: digits as Python writes an integer,
    a REAL as its shortest round trip (an integral one only in a REAL column: elsewhere
    it equals the integer, whose spelling is the one; zero only as 0.0), BLOBs as padded
    standard base64, text as itself."""
    if isinstance(value, int):
        return text == str(value)
    if isinstance(value, float):
        integer_spelled = value.is_integer() and abs(value) < 2**63  # an integer equals it
        zero = value == 0 and text != "0.0"  # SQLite compares -0.0 equal to 0.0
        return (
            text == repr(value) and not zero and (column.affinity == "REAL" or not integer_spelled)
        )
    if isinstance(value, bytes):
        return text == base64.b64encode(value).decode("ascii")
    return True


def claim_values(column: Column, claim: object) -> tuple[Value, ...]:
    """The values of `column` a claim admits: its value (or each value of a list) as the
    column holds it after SQLite's affinity applies (NUMERIC affinity turns " 1001",
    "+1001", "01001", "1001.0" and "1.001e3" into the INTEGER 1001), kept only when the
    claim is that value's one spelling: a subject is an opaque string, and two different
    strings must never be one caller. The others are dropped."""
    items: Iterable[object] = claim if isinstance(claim, tuple) else (claim,)
    values: list[Value] = []
    for item in items:
        text = _claim_text(item)
        if text is None:
            continue
        try:
            value = convert(column, text, "claim")
        except ProblemError:
            continue
        if column.affinity in ("NUMERIC", "INTEGER", "REAL") and isinstance(value, str):
            value = numeric_affinity(value)  # what SQLite compares the bound text as
        if _canonical(value, text, column):
            values.append(value)
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class RowFilter:
    """One table's policy: each column must equal the claim at its path."""

    table: Table
    terms: tuple[tuple[Column, str], ...]

    def condition(self, claims: Claims | None) -> Condition:
        if not self.terms:
            return NO_ROW  # a policy the schema no longer fits shows nothing
        filters = []
        for column, path in self.terms:
            found = MISSING if claims is None else claim_value(claims, path)
            values = () if found is MISSING else claim_values(column, found)
            if not values:
                return NO_ROW
            filters.append(Filter(column, "in", values))
        return BoolGroup("and", tuple(filters))


@dataclass(frozen=True)
class IndexFilter:
    """A full-text index over a filtered table (its `content=`): one of its rows is
    visible exactly when the content row whose key it holds is."""

    content: RowFilter
    key: str  # the content table's column that the index's rowids are

    @property
    def terms(self) -> tuple[tuple[Column, str], ...]:
        return self.content.terms

    def condition(self, claims: Claims | None) -> Condition:
        inner = self.content.condition(claims)
        return NO_ROW if inner is NO_ROW else Indexed(self.content.table, self.key, inner)


@dataclass(frozen=True)
class RowPolicies:
    """Every configured row filter, checked against the exposed schema; the full-text
    indexes of filtered tables, filtered by them; and the objects that read a filtered
    table where no filter can be applied (`blocked`: object -> the table they read)."""

    filters: Mapping[str, RowFilter | IndexFilter]  # folded table name ->
    blocked: Mapping[str, str] = field(default_factory=dict)
    # Scopes made, by the identity of the caller they were made for (which names the
    # values of every claim a policy reads), oldest first.
    _scopes: dict[str, Scope] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tables(self) -> frozenset[str]:
        """The folded names of the filtered tables (full-text indexes included)."""
        return frozenset(self.filters)

    def refusal(self, table: Table) -> str | None:
        """Why no caller may read `table` (it reads a filtered table that cannot filter
        it), naming that table; None: the filters apply to it."""
        policy = self.blocked.get(fold(table.name))
        if policy is None:
            return None
        return (
            f"{table.name!r} reads {policy!r}, which has a row filter that cannot be applied "
            f"to this {table.kind}."
        )

    @property
    def claims(self) -> frozenset[str]:
        """The claim paths the policies read."""
        return frozenset(path for f in self.filters.values() for _, path in f.terms)

    def scope(self, claims: Claims | None, identity: str | None = None) -> Scope:
        """The rows a caller with these claims (None: no token) may read; made once per
        `identity` (a caller's, which tells apart every claim value a policy reads)."""
        if not self.filters:
            return EVERY_ROW
        made = self._scopes.get(identity) if identity is not None else None
        if made is None:
            made = Scope({name: f.condition(claims) for name, f in self.filters.items()})
            if identity is not None:
                if len(self._scopes) >= SCOPES_KEPT:
                    del self._scopes[next(iter(self._scopes))]
                self._scopes[identity] = made
        return made


NO_POLICIES = RowPolicies({})


def row_policies(
    row_filters: Mapping[str, Mapping[str, str]], schema: Schema, *, strict: bool = True
) -> RowPolicies:
    """The policies of `row_filters` (table -> column -> claim path) over the exposed
    schema. A table that is not exposed has nothing to filter; a column that is hidden or
    absent, or a table that is itself a full-text index (searched by MATCH on its own
    name), is a PolicyError — or, not `strict` (a file that changed while served), a
    policy that shows no row."""
    filters: dict[str, RowFilter] = {}
    for name, terms in row_filters.items():
        table = schema.table(name)
        if table is None or not terms:
            continue
        try:
            filters[fold(table.name)] = _row_filter(table, terms)
        except PolicyError:
            if strict:
                raise
            filters[fold(table.name)] = RowFilter(table, ())
    return _over_readers(schema, filters)


def _over_readers(schema: Schema, filters: dict[str, RowFilter]) -> RowPolicies:
    """The policies, carried to every object that reads a filtered table (reads.py): a
    full-text index whose content is that very table is filtered by the content's rows;
    anything else that reads one (a view, an index of a view, a table a trigger fills) is
    blocked, naming it."""
    applied: dict[str, RowFilter | IndexFilter] = dict(filters)
    blocked: dict[str, str] = {}
    for table in schema.tables:
        name = fold(table.name)
        read = sorted(table.sources & set(filters) - {name})
        if not read or name in filters:
            continue
        content = fold(table.content.table) if table.content is not None else None
        own = filters.get(content) if content is not None else None
        key = table.content.key if table.content is not None else ""
        exact = own is not None and own.table.identified_by(key)  # one content row per rowid
        if own is not None and exact and table.sources <= {name} | own.table.sources:
            column = own.table.column(key)
            applied[name] = IndexFilter(own, column.name if column is not None else key)
        else:
            blocked[name] = filters[read[0]].table.name
    return RowPolicies(applied, blocked)


def _row_filter(table: Table, terms: Mapping[str, str]) -> RowFilter:
    if table.fts is not None and table.fts.key is None:
        raise PolicyError(
            f"tables.{table.name}.row_filter: {table.name!r} is a full-text index; filter its "
            "content table instead (its search then honours the filter)"
        )
    columns = []
    for name, path in terms.items():
        column = table.column(name)
        if column is None:
            raise PolicyError(
                f"tables.{table.name}.row_filter: {table.kind} {table.name!r} has no visible "
                f"column {name!r} (a row filter's columns cannot be hidden)"
            )
        columns.append((column, path))
    return RowFilter(table, tuple(columns))
