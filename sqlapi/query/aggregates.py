"""The statement of an aggregate request: group keys and outputs over the filtered rows,
sorted and paged over groups (keyset, on the sort terms then every key).

    SELECT * FROM (SELECT <keys>, <outputs> FROM table WHERE <filters> GROUP BY <keys>)
    WHERE <after the cursor> ORDER BY <sort, keys> LIMIT ?
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from sqlapi.keys import Cursor, Value
from sqlapi.query.clauses import RowsQuery, Where, after_clause, quote
from sqlapi.query.rows import RowsRequest, where_of
from sqlapi.schema import Column

Bucket = Literal["year", "month", "day", "hour"]
Function = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
BUCKETS: tuple[Bucket, ...] = ("year", "month", "day", "hour")
FUNCTIONS: tuple[Function, ...] = ("count", "count_distinct", "sum", "avg", "min", "max")


@dataclass(frozen=True)
class GroupKey:
    column: Column
    bucket: Bucket | None = None

    @property
    def name(self) -> str:
        return self.column.name if self.bucket is None else f"{self.bucket}_{self.column.name}"


@dataclass(frozen=True)
class Aggregate:
    function: Function
    column: Column | None = None  # None: count(*)

    @property
    def name(self) -> str:
        return self.function if self.column is None else f"{self.function}_{self.column.name}"


@dataclass(frozen=True)
class Order:
    term: GroupKey | Aggregate
    descending: bool = False


@dataclass(frozen=True)
class AggregateRequest:
    rows: RowsRequest  # the table, its filters and search (the rows grouped)
    keys: tuple[GroupKey, ...]
    outputs: tuple[Aggregate, ...]
    order: tuple[Order, ...]  # the requested sort, then every key: a total order
    limit: int | None
    after: Cursor | None = None

    @property
    def terms(self) -> list[GroupKey | Aggregate]:
        """The group keys, then the outputs: the columns of an answer's rows."""
        return [*self.keys, *self.outputs]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    @property
    def scope(self) -> str:
        """What a cursor is bound to: this table, grouping, outputs and order."""
        parts = [self.rows.table.name, *self.names]
        parts += [("-" if o.descending else "") + o.term.name for o in self.order]
        return "\x1faggregate\x1f" + "\x1f".join(parts)


# strftime formats of the date buckets; a value that is not ISO-8601 text is no date.
_BUCKETS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}
_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]*"


def _key(key: GroupKey) -> tuple[str, tuple[Value, ...]]:
    column = quote(key.column.name)
    if key.bucket is None:
        return column, ()
    return (
        f"CASE WHEN typeof({column}) = 'text' AND {column} GLOB ? THEN strftime(?, {column}) END",
        (_DATE, _BUCKETS[key.bucket]),
    )


def _output(output: Aggregate) -> str:
    if output.column is None:
        return "count(*)"
    column = quote(output.column.name)
    if output.function == "count_distinct":
        return f"count(DISTINCT {column})"
    return f"{output.function}({column})"  # sum (exact on integers; overflow raises), avg...


def build_aggregate_query(request: AggregateRequest) -> RowsQuery:
    keys = [_key(k) for k in request.keys]
    selected = [f"{sql} AS {quote(k.name)}" for (sql, _), k in zip(keys, request.keys, strict=True)]
    selected += [f"{_output(a)} AS {quote(a.name)}" for a in request.outputs]
    source = request.rows.scope.source(request.rows.table)
    where = where_of(request.rows)
    grouping = f" GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    inner = f"SELECT {', '.join(selected)} FROM {source.sql}{where.sql()}{grouping}"
    outer = Where()
    names = [quote(o.term.name) for o in request.order]
    if request.after is not None and request.after.key is not None:
        terms = [(n, o.descending, True) for n, o in zip(names, request.order, strict=True)]
        after = after_clause(terms, request.after.key)
        outer.add(after.sql, after.params)
    order = ", ".join(
        n + (" DESC" if o.descending else "") for n, o in zip(names, request.order, strict=True)
    )
    fetch = None if request.limit is None else request.limit + 1
    sql = f"SELECT * FROM ({inner}){outer.sql()}" + (f" ORDER BY {order}" if order else "")
    params = [v for _, values in keys for v in values]
    params += [*source.params, *where.params, *outer.params]
    if fetch is not None:
        sql += " LIMIT ?"
        params.append(fetch)
    positions = tuple(request.names.index(o.term.name) for o in request.order)
    return RowsQuery(sql, tuple(params), width=len(request.names), key_positions=positions,
                     keyset=True, fetch=fetch)  # fmt: skip


def output_column(term: GroupKey | Aggregate) -> Column:
    """How a group key's or an output's values are typed (a NULL key groups rows without
    a value; sum, avg, min and max of no values are NULL)."""
    if isinstance(term, GroupKey):
        if term.bucket is None:
            return dataclasses.replace(term.column, name=term.name, nullable=True, primary_key=0)
        return Column(term.name, "TEXT", "string", True, 0, False)
    if term.function in ("count", "count_distinct"):
        return Column(term.name, "INTEGER", "integer", False, 0, False)
    if term.function == "avg":
        return Column(term.name, "REAL", "number", True, 0, False)
    assert term.column is not None
    return dataclasses.replace(term.column, name=term.name, nullable=True, primary_key=0)
