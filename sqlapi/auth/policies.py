"""Row policies: `[tables.T] row_filter = { column = "claim" }` makes a row of T visible
only to a caller whose verified token carries that claim with the row's value.

A policy becomes a `Scope` per caller: for each filtered table, a condition over its own
columns with the claims' values bound (never written into the SQL). The SQL builder names
every table it reads through the scope (`query.clauses.Scope.source`), so the condition
holds on every path a row can travel: pages, one row, counts, values, exports, event
streams, aggregates, expansions, embeddings and related filters.

A claim's value is converted to its column's type as a query-string value would be; a
claim holding a list admits any of its values. A missing claim, one that does not
convert, an empty list, or no token at all (API keys, the anonymous role) admits no row.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from sqlapi.auth.tokens import MISSING, Claims, claim_value
from sqlapi.errors import ProblemError
from sqlapi.keys import Value
from sqlapi.params import convert
from sqlapi.query import EVERY_ROW, Filter, Query, Scope
from sqlapi.query.conditions import BoolGroup, condition_sql
from sqlapi.schema import Column, Schema, Table, fold

NO_ROW = Query("0")
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


def _canonical(value: Value, text: str) -> bool:
    """Whether `text` is how `value` is written (text and blobs are compared as they are;
    a whole number may be a REAL column's value)."""
    if isinstance(value, int):
        return text == str(value)
    if isinstance(value, float):
        return text == repr(value) or (value.is_integer() and text == str(int(value)))
    return True


def claim_values(column: Column, claim: object) -> tuple[Value, ...]:
    """The values of `column` a claim admits: its value (or each value of a list) that
    converts to the column's type and is written as that value canonically is ("471",
    not "0471", "+471" or " 471": a subject is an opaque string, and two spellings must
    not be one caller); the others are dropped."""
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
        if _canonical(value, text):
            values.append(value)
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class RowFilter:
    """One table's policy: each column must equal the claim at its path."""

    table: Table
    terms: tuple[tuple[Column, str], ...]

    def condition(self, claims: Claims | None) -> Query:
        if not self.terms:
            return NO_ROW  # a policy the schema no longer fits shows nothing
        filters = []
        for column, path in self.terms:
            found = MISSING if claims is None else claim_value(claims, path)
            values = () if found is MISSING else claim_values(column, found)
            if not values:
                return NO_ROW
            filters.append(Filter(column, "in", values))
        sql, params = condition_sql(BoolGroup("and", tuple(filters)), EVERY_ROW)
        return Query(sql, params)


@dataclass(frozen=True)
class RowPolicies:
    """Every configured row filter, checked against the exposed schema."""

    filters: Mapping[str, RowFilter]  # folded table name ->
    # Scopes made, by the identity of the caller they were made for (which names the
    # values of every claim a policy reads), oldest first.
    _scopes: dict[str, Scope] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tables(self) -> frozenset[str]:
        """The folded names of the filtered tables."""
        return frozenset(self.filters)

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
    return RowPolicies(filters)


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
