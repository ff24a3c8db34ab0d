"""Statements that follow foreign keys for a page: one per expansion or embedding, over the
page's keys, never one per row. Each joins the page's own table back in, so that SQLite
compares the key columns exactly as a hand-written JOIN would (with their affinities).

    expansion: SELECT p.<key>, t.<cols> FROM table AS p JOIN target AS t ON t.<ref> = p.<fk>
               WHERE p.<key> IN (...)
    embedding: SELECT c.<cols>, c.<child key>, p.<ref>, p.<key> FROM table AS p JOIN child AS c
               ON c.<child key> IN (SELECT ... FROM child WHERE <fk> = p.<ref>
                                    ORDER BY <child key> LIMIT n)
               WHERE p.<key> IN (...)     -- n rows per parent, each found by the child's index
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.keys import Value
from sqlapi.query.clauses import Query, Scope, quote
from sqlapi.relations import Embedding, Link
from sqlapi.schema import Column


def _listed(alias: str, columns: Sequence[Column]) -> str:
    return ", ".join(f"{alias}.{quote(c.name)}" for c in columns)


def _tuple(alias: str, columns: Sequence[Column]) -> str:
    listed = _listed(alias, columns)
    return listed if len(columns) == 1 else f"({listed})"


def _keys_in(alias: str, columns: Sequence[Column], keys: Sequence[tuple[Value, ...]]) -> Query:
    """`alias.key IN (?, ...)`, or a row value in VALUES for a compound key."""
    if len(columns) == 1:
        return Query(f"{_tuple(alias, columns)} IN ({', '.join('?' * len(keys))})",
                     tuple(k[0] for k in keys))  # fmt: skip
    row = "(" + ", ".join("?" * len(columns)) + ")"
    values = ", ".join(row for _ in keys)
    return Query(f"{_tuple(alias, columns)} IN (VALUES {values})",
                 tuple(v for k in keys for v in k))  # fmt: skip


def build_expansion_query(link: Link, keys: Sequence[tuple[Value, ...]], scope: Scope) -> Query:
    """Rows (page key..., selected target columns...) of the rows the page's keys refer
    to; a key that is NULL, refers to nothing or to a row outside `scope` has no row."""
    table, target, pk = link.table, link.target, link.table.key_columns
    on = " AND ".join(
        f"t.{quote(r.name)} = p.{quote(c.name)}"
        for c, r in zip(link.local, link.remote, strict=True)
    )
    where = _keys_in("p", pk, keys)
    page, referred = scope.source(table, "p"), scope.source(target, "t")
    return Query(
        f"SELECT {_listed('p', pk)}, {_listed('t', link.select)} FROM {page.sql} "
        f"JOIN {referred.sql} ON {on} WHERE {where.sql}",
        (*page.params, *referred.params, *where.params),
        inline=True,  # by key, both sides: bounded by the page
    )


def build_embedding_query(
    embedding: Embedding, keys: Sequence[tuple[Value, ...]], scope: Scope
) -> Query:
    """Rows (selected child columns..., child key..., referenced columns..., page key...)
    of at most `limit + 1` child rows per page row within `scope`, in the child's key
    order (the extra row says whether the list goes on)."""
    link = embedding.link
    table, child, pk, ck = link.table, link.target, link.table.key_columns, link.target.key_columns
    same = " AND ".join(
        f"c2.{quote(r.name)} = p.{quote(c.name)}"
        for c, r in zip(link.local, link.remote, strict=True)
    )
    order = _listed("c2", ck)
    page, children, candidates = (
        scope.source(table, "p"),
        scope.source(child, "c"),
        scope.source(child, "c2"),
    )
    per_parent = f"SELECT {order} FROM {candidates.sql} WHERE {same} ORDER BY {order} LIMIT ?"
    where = _keys_in("p", pk, keys)
    return Query(
        f"SELECT {_listed('c', link.select)}, {_listed('c', ck)}, {_listed('p', link.local)}, "
        f"{_listed('p', pk)} FROM {page.sql} JOIN {children.sql} "
        f"ON {_tuple('c', ck)} IN ({per_parent}) WHERE {where.sql} "
        f"ORDER BY {_listed('p', pk)}, {_listed('c', ck)}",
        (*page.params, *children.params, *candidates.params, embedding.limit + 1, *where.params),
        inline=True,  # each parent's list is an index seek that stops at limit + 1
    )
