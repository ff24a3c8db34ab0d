"""Statements that follow foreign keys for a page: one per expansion or embedding, over the
page's keys, never one per row. Each joins the page's own table back in, so that SQLite
compares the key columns exactly as a hand-written JOIN would (with their affinities).

    expansion: SELECT p.<id>, t.<cols> FROM table AS p JOIN target AS t ON t.<ref> = p.<fk>
               WHERE p.<id> IN (...)
    embedding: SELECT p.<id>, p.<ref>,
                      (SELECT json_group_array(json_object(...)) FROM (SELECT ... FROM child
                       WHERE <fk> = p.<ref> ORDER BY <child key> LIMIT n)),  -- the list
                      (... LIMIT 1 OFFSET n - 1),  -- the last listed child's key
                      EXISTS (... LIMIT 1 OFFSET n)  -- whether the list goes on
               FROM table AS p WHERE p.<id> IN (...)

<id> tells the page's rows apart: their key, or their rowid where keys may be NULL
(request.ordering.row_identity).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlapi.model.schema import Column
from sqlapi.model.values import Value
from sqlapi.request.ordering import key_order
from sqlapi.request.types import Embedding, Link, Scope
from sqlapi.sql.clauses import Query, quote
from sqlapi.sql.conditions import scoped
from sqlapi.sql.json_rows import row_object, selected


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


def build_expansion_query(
    link: Link, by: Sequence[Column], keys: Sequence[tuple[Value, ...]], scope: Scope
) -> Query:
    """Rows (page row's `by` values..., selected target columns...) of the rows the page's
    rows refer to; a key that is NULL, refers to nothing or to a row outside `scope` has
    no row. `by` tells the page's rows apart (`row_identity`), `keys` are their values."""
    table, target = link.table, link.target
    on = " AND ".join(
        f"t.{quote(r.name)} = p.{quote(c.name)}"
        for c, r in zip(link.local, link.remote, strict=True)
    )
    where = _keys_in("p", by, keys)
    page, referred = scoped(scope, table, "p"), scoped(scope, target, "t")
    return Query(
        f"SELECT {_listed('p', by)}, {_listed('t', link.select)} FROM {page.sql} "
        f"JOIN {referred.sql} ON {on} WHERE {where.sql}",
        (*page.params, *referred.params, *where.params),
        inline=True,  # by key, both sides: bounded by the page
    )


def build_embedding_query(
    embedding: Embedding,
    by: Sequence[Column],
    keys: Sequence[tuple[Value, ...]],
    scope: Scope,
    ints_as_strings: bool,
) -> Query:
    """One row per page row within `scope` (told apart by `by`, as in the expansion): (its
    `by` values..., referenced columns..., its first `limit` child rows within `scope` as a
    JSON array (in the child's key order, as its rows endpoint pages it; query.json_rows
    writes them as `encoding` would), the last one's key (and tie breaker)..., whether
    more follow). Each part is an index seek on the child's foreign key that stops after
    `limit` (or `limit + 1`) entries."""
    link = embedding.link
    table, child, ck = link.table, link.target, key_order(link.target)
    same = " AND ".join(
        f"c.{quote(r.name)} = p.{quote(c.name)}"
        for c, r in zip(link.local, link.remote, strict=True)
    )
    order = _listed("c", ck)

    def children(what: str, limit: str, *bound: Value) -> Query:
        source = scoped(scope, child, "c")
        return Query(
            f"(SELECT {what} FROM {source.sql} WHERE {same} ORDER BY {order} {limit})",
            (*source.params, *bound),
        )

    listed = children(selected("c", link.select), "LIMIT ?", embedding.limit)
    row = row_object("c", link.select, ints_as_strings)
    more = children("1", "LIMIT 1 OFFSET ?", embedding.limit)
    parts = [
        Query(
            f"(SELECT json_group_array({row.sql}) FROM {listed.sql} AS c)",
            (*row.params, *listed.params),
        ),
        *(children(f"c.{quote(k.name)}", "LIMIT 1 OFFSET ?", embedding.limit - 1) for k in ck),
        Query(f"EXISTS {more.sql}", more.params),
    ]
    page, where = scoped(scope, table, "p"), _keys_in("p", by, keys)
    return Query(
        f"SELECT {_listed('p', by)}, {_listed('p', link.local)}, "
        f"{', '.join(part.sql for part in parts)} FROM {page.sql} WHERE {where.sql}",
        (*(v for part in parts for v in part.params), *page.params, *where.params),
        inline=True,  # per page row: index seeks that stop after `limit + 1` entries
    )
