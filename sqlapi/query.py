"""THE SQL builder: typed requests in, (sql, params) out. Pure: no I/O, no web framework.

Identifiers come only from introspected `Table`/`Column` objects and are quoted by
`quote`; every value is a bound parameter.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sqlapi.keys import Cursor, Value
from sqlapi.schema import Column, Table

Operator = Literal[
    "exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith",
    "like", "glob", "in", "notin", "isnull", "notnull",
]  # fmt: skip
OPERATORS: tuple[Operator, ...] = (
    "exact", "not", "gt", "gte", "lt", "lte", "contains", "startswith", "endswith",
    "like", "glob", "in", "notin", "isnull", "notnull",
)  # fmt: skip

_COMPARISONS = {"exact": "=", "not": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
_PATTERNS = {"contains": "%{}%", "startswith": "{}%", "endswith": "%{}"}
PATTERN_OPERATORS = frozenset({*_PATTERNS, "like", "glob"})


def quote(name: str) -> str:
    """Quote an identifier, in backticks. Only names found in the schema may reach here;
    and should the file's schema change under a request, a name it no longer has is an
    error: SQLite turns an unknown *double-quoted* name into a string literal (silently
    wrong rows), never a backticked one."""
    return "`" + name.replace("`", "``") + "`"


@dataclass(frozen=True)
class Filter:
    column: Column
    op: Operator
    value: Value | tuple[Value, ...] | bool
    # A pattern filter looks only at values of at most this many bytes (None: any): one
    # LIKE or GLOB step costs the value's length times the pattern's, and nothing can
    # interrupt a step. A plain prefix (`startswith`, `abc*`) costs the prefix only.
    scan_limit: int | None = None


@dataclass(frozen=True)
class SortKey:
    column: Column
    descending: bool = False


@dataclass(frozen=True)
class RowsRequest:
    """A validated rows request: every name in it came from the schema."""

    table: Table
    select: tuple[Column, ...]
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int | None = 100  # None: every matching row (exports)
    after: Cursor | None = None
    offset: int = 0
    search: str | None = None


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


@dataclass
class _Where:
    clauses: list[str] = field(default_factory=list)
    params: list[Value] = field(default_factory=list)

    def add(self, clause: str, *params: Value) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def sql(self, keyword: str = "WHERE") -> str:
        return f" {keyword} " + " AND ".join(self.clauses) if self.clauses else ""


def ordering(table: Table, sort: Sequence[SortKey]) -> tuple[SortKey, ...]:
    """The full ORDER BY: the requested sort, then the key (or, for keyless views that
    are sorted, every other column) so that the order is total and pages are stable."""
    named = {c.column.name for c in sort}
    tie_breakers = table.key_columns or (table.columns if sort else ())
    return (*sort, *(SortKey(c) for c in tie_breakers if c.name not in named))


def cursor_scope(table: Table, sort: Sequence[SortKey]) -> str:
    """What a cursor is bound to: a cursor made under another ordering is refused."""
    return "\x1f".join([table.name, *(("-" if k.descending else "") + k.column.name for k in sort)])


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def filter_clause(where: _Where, f: Filter) -> None:
    column = quote(f.column.name)
    if f.op in _COMPARISONS:
        assert not isinstance(f.value, tuple | bool)
        where.add(f"{column} {_COMPARISONS[f.op]} ?", f.value)
    elif f.op in PATTERN_OPERATORS:
        assert isinstance(f.value, str)
        if f.op in _PATTERNS:
            pattern = _PATTERNS[f.op].format(_escape_like(f.value))
            test = f"{column} LIKE ? ESCAPE '\\'"
        else:
            pattern, test = f.value, f"{column} {f.op.upper()} ?"
        if f.scan_limit is None or _prefix_only(f.op, pattern):
            where.add(test, pattern)
        else:
            guard = f"length(CAST({column} AS BLOB)) <= ?"
            where.add(f"CASE WHEN {guard} THEN {test} END", f.scan_limit, pattern)
    elif f.op in ("in", "notin"):
        assert isinstance(f.value, tuple)
        negate = "NOT " if f.op == "notin" else ""
        where.add(f"{column} {negate}IN ({', '.join('?' * len(f.value))})", *f.value)
    else:  # isnull / notnull
        is_null = bool(f.value) == (f.op == "isnull")
        where.add(f"{column} IS {'' if is_null else 'NOT '}NULL")


_WILDCARDS = {"glob": "*?[", "like": "%_"}


def _prefix_only(op: str, pattern: str) -> bool:
    """A pattern whose only wildcards end it: matching costs its prefix, not the value."""
    if op == "startswith":
        return True
    wild = _WILDCARDS.get(op)
    ending = "*" if op == "glob" else "%"
    return wild is not None and not any(w in pattern.rstrip(ending) for w in wild)


def search_clause(where: _Where, table: Table, text: str) -> None:
    """Full-text search; the text becomes quoted FTS phrases, so FTS syntax cannot error."""
    assert table.fts is not None
    tokens = text.replace("\x00", " ").split()  # FTS5 reads NUL as the end of the query
    phrases = " ".join('"' + token.replace('"', '""') + '"' for token in tokens)
    fts = quote(table.fts.table)
    if table.fts.key is None:
        where.add(f"{fts} MATCH ?", phrases)
    else:
        where.add(
            f"{quote(table.fts.key)} IN (SELECT rowid FROM {fts} WHERE {fts} MATCH ?)", phrases
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


def _where(request: RowsRequest) -> _Where:
    where = _Where()
    for f in request.filters:
        filter_clause(where, f)
    if request.search is not None:
        search_clause(where, request.table, request.search)
    return where


def _order_by(order: Sequence[SortKey]) -> str:
    if not order:
        return ""
    return " ORDER BY " + ", ".join(
        quote(k.column.name) + (" DESC" if k.descending else "") for k in order
    )


def _limit(fetch: int | None, offset: int) -> tuple[str, tuple[Value, ...]]:
    if fetch is None and not offset:
        return "", ()
    return " LIMIT ? OFFSET ?", (-1 if fetch is None else fetch, offset)


def _real_table(table: Table) -> bool:
    return table.kind == "table" and not table.virtual


def _cheap(request: RowsRequest) -> bool:
    """A page that may be tried on the event loop: a bounded read of a real table, with no
    full-text search and no pattern filter (one LIKE or GLOB step costs the product of
    the pattern's and the value's lengths, and no budget can stop a single step)."""
    return (
        _real_table(request.table)
        and request.search is None
        and request.limit is not None
        and not any(f.op in PATTERN_OPERATORS for f in request.filters)
    )


def build_rows_query(request: RowsRequest) -> RowsQuery:
    table = request.table
    order = ordering(table, request.sort)
    keyset = bool(table.key_columns)
    columns = list(request.select)
    if keyset:
        columns += [k.column for k in order if k.column not in columns]
    where = _where(request)
    offset = request.offset
    if request.after is not None and request.after.key is not None:
        terms = [(quote(k.column.name), k.descending, k.column.nullable) for k in order]
        after = after_clause(terms, request.after.key)
        where.add(after.sql, *after.params)
    elif request.after is not None and request.after.offset is not None:
        offset = request.after.offset
    fetch = None if request.limit is None else request.limit + 1
    limit_sql, limit_params = _limit(fetch, offset)
    sql = (
        f"SELECT {', '.join(quote(c.name) for c in columns)} FROM {quote(table.name)}"
        f"{where.sql()}{_order_by(order)}{limit_sql}"
    )
    return RowsQuery(
        sql=sql,
        params=(*where.params, *limit_params),
        inline=_cheap(request),
        width=len(request.select),
        key_positions=tuple(columns.index(k.column) for k in order) if keyset else (),
        keyset=keyset,
        fetch=fetch,
    )


def build_count_query(request: RowsRequest) -> Query:
    where = _where(request)
    return Query(
        f"SELECT count(*) FROM {quote(request.table.name)}{where.sql()}", tuple(where.params)
    )


def build_row_query(table: Table, key: Sequence[Value]) -> Query:
    """One row by its key values, in `table.key_columns` order."""
    where = _Where()
    for column, value in zip(table.key_columns, key, strict=True):
        where.add(f"{quote(column.name)} = ?", value)
    select = ", ".join(quote(c.name) for c in table.columns)
    sql = f"SELECT {select} FROM {quote(table.name)}{where.sql()}"
    return Query(sql, tuple(where.params), inline=_real_table(table))


def values_scope(table: Table, column: Column) -> tuple[str, int]:
    """Cursor scope and key length of a column's distinct values (keyed on count, value)."""
    return "\x1f".join(("values", table.name, column.name)), 2


def build_values_query(request: RowsRequest, column: Column) -> RowsQuery:
    """Distinct values of `column` with counts, most frequent first, keyset-paged on
    (count, value); the filters and search of `request` apply. Rows are (value, count)."""
    where = _where(request)
    name = quote(column.name)
    having = _Where()
    if request.after is not None and request.after.key is not None:
        terms = [("count(*)", True, False), (name, False, True)]
        after = after_clause(terms, request.after.key)
        having.add(after.sql, *after.params)
    fetch = None if request.limit is None else request.limit + 1
    limit_sql, limit_params = _limit(fetch, 0)
    sql = (
        f"SELECT {name}, count(*) FROM {quote(request.table.name)}{where.sql()} "
        f"GROUP BY {name}{having.sql('HAVING')} ORDER BY count(*) DESC, {name}{limit_sql}"
    )
    params = (*where.params, *having.params, *limit_params)
    return RowsQuery(sql, params, width=2, key_positions=(1, 0), keyset=True, fetch=fetch)


def split_page(
    query: RowsQuery, request: RowsRequest, fetched: Sequence[Sequence[Value]]
) -> tuple[Sequence[Sequence[Value]], Cursor | None]:
    """The page's rows and the cursor of the next page (None on the last page)."""
    if query.fetch is None or request.limit is None or len(fetched) < query.fetch:
        return fetched, None
    rows = fetched[: request.limit]
    if query.keyset:
        return rows, Cursor(key=tuple(rows[-1][i] for i in query.key_positions))
    start = (
        request.after.offset
        if request.after and request.after.offset is not None
        else request.offset
    )
    return rows, Cursor(offset=(start or 0) + request.limit)


def build_named_query(sql: str, fetch: int, offset: int) -> tuple[str, dict[str, Value]]:
    """A configured query (trusted SQL with `:named` parameters), paged: the operator's SQL
    wrapped as a subquery; the page bounds are named parameters no configuration can use."""
    body = sql.strip().rstrip(";").strip()
    wrapped = f"SELECT * FROM ({body}) LIMIT :__sqlapi_limit OFFSET :__sqlapi_offset"
    return wrapped, {"__sqlapi_limit": fetch, "__sqlapi_offset": offset}


def build_probe_query(sql: str) -> str:
    """The configured query's columns, without running it."""
    return f"SELECT * FROM ({sql.strip().rstrip(';').strip()}) LIMIT 0"


def build_column_probe(table: str, column: str) -> str:
    """A program that reads one column of a table, without an index: it shows the record
    slot SQLite stores the column in (`bytecode.read_policy`)."""
    return f"EXPLAIN SELECT {quote(column)} FROM main.{quote(table)} NOT INDEXED"


EPONYMOUS_TABLES = ("json_each('[]')", "json_tree('[]')")  # harmless virtual tables


def build_open_probes(virtual_tables: Sequence[str]) -> list[str]:
    """Programs that open each of these virtual tables and SQLite's harmless eponymous
    ones (`bytecode.calibration`)."""
    sources = [f"main.{quote(name)}" for name in virtual_tables]
    return [f"EXPLAIN SELECT * FROM {source}" for source in [*sources, *EPONYMOUS_TABLES]]
