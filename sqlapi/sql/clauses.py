"""The pieces every statement is built from: quoted names, filters, the WHERE clause,
orderings and keyset conditions. Pure: no I/O, no web framework.

Identifiers come only from introspected `Table`/`Column` objects and are quoted by
`quote`; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlapi.model.schema import Table, fold
from sqlapi.model.values import Value
from sqlapi.request.types import Scope


def quote(name: str) -> str:
    """Quote an identifier, in backticks. Only names found in the schema may reach here;
    and should the file's schema change under a request, a name it no longer has is an
    error: SQLite turns an unknown *double-quoted* name into a string literal (silently
    wrong rows), never a backticked one."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Query:
    sql: str
    params: tuple[Value, ...] = ()
    # Cheap by construction, so it may be tried on the event loop under a small budget
    # (db.fetch_all): it reads a real table, by index or in a bounded scan, and never a
    # view, a virtual table or an aggregate, whose single steps can take any time.
    inline: bool = False


@dataclass(frozen=True)
class RowsQuery(Query):
    """A page query. It selects `width` requested columns, then any key columns
    needed for the next cursor; `key_positions` index the ordering keys in a row."""

    width: int = 0
    key_positions: tuple[int, ...] = ()
    keyset: bool = True
    fetch: int | None = None  # rows asked of SQLite: limit + 1 to learn whether a next page exists
    row_key: tuple[int, ...] = ()  # where the table's `row_identity` is in a row

    def keys(self, rows: Sequence[Sequence[Value]]) -> list[tuple[Value, ...]]:
        """Each row's `row_identity` (relations are fetched by it)."""
        return [tuple(row[i] for i in self.row_key) for row in rows]


@dataclass
class Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Value] = field(default_factory=list)

    def add(self, clause: str, params: tuple[Value, ...] = ()) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self, keyword: str = "WHERE") -> str:
        return f" {keyword} " + " AND ".join(self.clauses) if self.clauses else ""


def search_clause(where: Where, table: Table, text: str, scope: Scope) -> None:
    """Full-text search; the text becomes quoted FTS phrases, so FTS syntax cannot error.
    A full-text index read through a row policy is a subquery, which MATCH cannot name:
    its rows are then those whose rowid the index matches."""
    assert table.fts is not None
    tokens = text.replace("\x00", " ").split()  # FTS5 reads NUL as the end of the query
    phrases = " ".join('"' + token.replace('"', '""') + '"' for token in tokens)
    fts = quote(table.fts.table)
    if table.fts.key is None and fold(table.name) in scope.conditions:
        where.add(f"rowid IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)", (phrases,))
    elif table.fts.key is None:
        where.add(f"{fts} MATCH ?", (phrases,))
    else:
        where.add(
            f"{quote(table.fts.key)} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)", (phrases,)
        )


def after_clause(terms: Sequence[tuple[str, bool, bool]], values: Sequence[Value]) -> Query:
    """Rows strictly after `values` in the order of `terms` (expr, descending, nullable).

    SQLite sorts NULL first ascending and last descending. A row-value comparison is used
    when it is exact (it lets SQLite seek an index); otherwise the expanded form.
    """
    exprs = [t[0] for t in terms]
    ascending = not any(t[1] for t in terms)
    descending_not_null = all(t[1] and not t[2] for t in terms)
    if None not in values and (ascending or descending_not_null):
        op = ">" if ascending else "<"
        if len(terms) == 1:
            return Query(f"{exprs[0]} {op} ?", (values[0],))
        marks = ", ".join("?" * len(values))
        return Query(f"({', '.join(exprs)}) {op} ({marks})", tuple(values))
    sql, params = "", list[Value]()
    for (expr, desc, nullable), value in reversed(list(zip(terms, values, strict=True))):
        after_params: list[Value] = []
        equal_params: list[Value] = []
        if value is None:
            after = "0" if desc else f"{expr} IS NOT NULL"
            equal = f"{expr} IS NULL"
        else:
            after = (
                f"({expr} < ? OR {expr} IS NULL)"
                if desc and nullable
                else f"{expr} {'<' if desc else '>'} ?"
            )
            after_params, equal, equal_params = [value], f"{expr} = ?", [value]
        if sql:
            sql = f"({after} OR ({equal} AND {sql}))"
            params = [*after_params, *equal_params, *params]
        else:
            sql, params = after, list(after_params)
    return Query(sql, tuple(params))
