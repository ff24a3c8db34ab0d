"""The statement of an aggregate request: group keys and outputs over the filtered rows,
sorted and paged over groups (keyset, on the sort terms then every key).

    SELECT * FROM (SELECT <keys>, <outputs> FROM table WHERE <filters> GROUP BY <keys>)
    WHERE <after the cursor> ORDER BY <sort, keys> LIMIT ?
"""

from __future__ import annotations

from sqlapi.model.values import Value
from sqlapi.request.types import Aggregate, AggregateRequest, GroupKey
from sqlapi.sql.clauses import RowsQuery, Where, after_clause, quote
from sqlapi.sql.conditions import scoped
from sqlapi.sql.rows import where_of

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
    source = scoped(request.rows.scope, request.rows.table)
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
