"""Relations, differentially: any page with expansions (`_expand`), embeddings (`_embed`,
`_embed_limit`) and filters across a key (`fk.col__op=v`, also inside `_or`) holds exactly
what hand-written SQLite queries return on the same file, following `next` page by page,
and following each embedding's `next_url` yields the rest of that child list exactly once.

The oracle: a LEFT JOIN per expanded row (SQLite's own comparison of the key columns,
affinities and all), one query per parent ordered by the child's key for an embedding,
EXISTS for a related filter. Three databases: the bundled sample, chinook (with the
self-reference Employee.ReportsTo) and one built here with NULL and dangling keys, a
compound key onto a WITHOUT ROWID table, a key onto a TEXT primary key, two keys from one
child onto one parent, and TEXT/INTEGER key mismatches."""

from __future__ import annotations

import dataclasses
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sqlapi.config import Settings, sample_database
from tests.fixtures import LiveApp
from tests.helpers import write
from tests.oracle import Refused, shown, typed, value_test

# ---------------------------------------------------------------------------------------
# The generated database


GENERATED_SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL);
CREATE TABLE tparent (code TEXT PRIMARY KEY NOT NULL, label TEXT);
CREATE TABLE wparent (a TEXT NOT NULL, b INTEGER NOT NULL, label TEXT,
                      PRIMARY KEY (a, b)) WITHOUT ROWID;
CREATE TABLE wsingle (k INTEGER PRIMARY KEY, label TEXT) WITHOUT ROWID;
-- two keys onto parent: _embed=child needs .parent_id or .other_id
CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id),
                    other_id INTEGER REFERENCES parent, note TEXT);
-- TEXT key onto an INTEGER key, INTEGER and TEXT keys onto a TEXT key, a key onto a
-- UNIQUE column that is not the primary key
CREATE TABLE mixed (tag TEXT PRIMARY KEY NOT NULL, loose TEXT REFERENCES parent(id),
                    pname TEXT REFERENCES parent(name),
                    code_ref INTEGER REFERENCES tparent(code), tref TEXT REFERENCES tparent,
                    note TEXT);
-- no declared key (rows are keyed by rowid); a compound key onto a compound WITHOUT ROWID
-- key; a key onto a WITHOUT ROWID table named by its table only
CREATE TABLE wkid (wa TEXT, wb INTEGER, wk INTEGER REFERENCES wsingle, note TEXT,
                   FOREIGN KEY (wa, wb) REFERENCES wparent(a, b));
"""
GENERATED_TABLES = ["parent", "tparent", "wparent", "wsingle", "child", "mixed", "wkid"]


def build_relations_db(path: Path) -> Path:
    """Keys that hold NULL, that point nowhere (foreign_keys is off, as it is by default),
    and keys compared across types; every key still refers to at most one row."""
    conn = sqlite3.connect(path)
    conn.executescript(GENERATED_SCHEMA)
    conn.executemany(
        "INSERT INTO parent VALUES (?, ?, ?)",
        [(i, None if i == 4 else f"p{i}", None if i % 5 == 0 else i / 4) for i in range(1, 13)],
    )
    conn.executemany(
        "INSERT INTO tparent VALUES (?, ?)",
        [
            ("7", "seven"),
            ("10", "ten"),
            ("x,y", "comma"),
            ("a~b", "tilde"),
            ("ü", None),
            ("", "empty"),
            ("q(1)", "parens"),
        ],
    )
    conn.executemany(
        "INSERT INTO wparent VALUES (?, ?, ?)",
        [
            ("a", 1, "a1"),
            ("a", 2, "a2"),
            ("b,c", 1, "bc1"),
            ("~", 3, None),
            ("ü/x", 2, "slash"),
            ("a", 3, "a3"),
        ],
    )
    conn.executemany("INSERT INTO wsingle VALUES (?, ?)", [(1, "one"), (2, "two"), (5, "five")])
    children = []
    for i in range(1, 46):
        parent_id = None if i % 9 == 0 else 99 if i % 11 == 0 else (i * 7) % 6 + 1
        other_id = None if i % 4 == 0 else (i % 3) + 2
        children.append((i, parent_id, other_id, f"n{i % 5}"))
    conn.executemany("INSERT INTO child VALUES (?, ?, ?, ?)", children)
    conn.executemany(
        "INSERT INTO mixed VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("m01", "7", "p7", 7, "7", "a"),
            ("m02", "7", "p2", "10", "x,y", "b"),  # '10' is stored as INTEGER 10
            ("m03", "3", None, 10, "a~b", None),
            ("m04", None, "p4", None, "ü", "a"),  # no parent is named p4 (its name is NULL)
            ("m05", "abc", "p3", 99, "nope", "b"),  # TEXT 'abc' never equals an INTEGER key
            ("m06", "7", "p7", 7, "", "c"),
            ("m07", "99", "p9", 7, None, "a"),
            ("m08", "2", "p2", None, "q(1)", "b"),
            ("m09", "7", "p12", 10, "7", None),
            ("m10", "3", "p3", 7, "x,y", "c"),
        ],
    )
    conn.executemany(
        "INSERT INTO wkid VALUES (?, ?, ?, ?)",
        [
            ("a", 1, 1, "w1"),
            ("a", 2, 2, "w2"),
            ("a", None, 5, "w3"),
            ("b,c", 1, None, "w4"),
            ("~", 3, 1, "w5"),
            ("z", 9, 7, "w6"),
            ("a", 1, 2, "w7"),
            ("ü/x", 2, 1, "w8"),
            ("a", "1", 5, "w9"),
            (None, 1, 1, "w10"),
            ("a", 1, 1, "w11"),
            ("a", 3, 2, "w12"),
        ],
    )
    conn.commit()
    conn.close()
    return path


# ---------------------------------------------------------------------------------------
# What the oracle knows of a database: read with PRAGMAs, independently of sqlapi


@dataclass(frozen=True)
class Key:
    """`table`'s `columns` refer to `target`'s `references`."""

    table: str
    columns: tuple[str, ...]
    target: str
    references: tuple[str, ...]


@dataclass
class Meta:
    name: str
    columns: tuple[str, ...]  # as the API sends them ("rowid" first when no key is declared)
    declared: dict[str, str]
    key: tuple[str, ...]
    keys: list[Key] = field(default_factory=list)  # its foreign keys
    incoming: list[Key] = field(default_factory=list)  # other tables' keys onto it
    values: dict[str, list[str]] = field(default_factory=dict)  # filter values to try


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_meta(path: Path, names: Sequence[str]) -> dict[str, Meta]:
    conn = sqlite3.connect(path)
    metas: dict[str, Meta] = {}
    try:
        for name in names:
            info = conn.execute(f"SELECT name, type, pk, hidden FROM pragma_table_xinfo({q(name)})")
            rows = [r for r in info if r[3] != 1]
            declared = {r[0]: r[1] for r in rows}
            key = tuple(r[0] for r in sorted((r for r in rows if r[2]), key=lambda r: r[2]))
            columns = tuple(r[0] for r in rows)
            if not key:  # a rowid table without a declared key: rows are keyed by rowid
                columns, key = ("rowid", *columns), ("rowid",)
                declared["rowid"] = "INTEGER"
            metas[name] = Meta(name, columns, declared, key)
        for name in names:
            grouped: dict[int, list[tuple[Any, ...]]] = {}
            for row in conn.execute(f"SELECT * FROM pragma_foreign_key_list({q(name)})"):
                grouped.setdefault(row[0], []).append(row)
            for rows in grouped.values():
                rows.sort(key=lambda r: r[1])
                target = metas[rows[0][2]]
                refs = tuple(r[4] for r in rows)
                if all(r is None for r in refs):
                    refs = target.key
                key = Key(name, tuple(r[3] for r in rows), target.name, refs)
                metas[name].keys.append(key)
                target.incoming.append(key)
        for meta in metas.values():
            for column in meta.columns:
                found = conn.execute(
                    f"SELECT DISTINCT {q(column)} FROM {q(meta.name)} "
                    f"WHERE {q(column)} IS NOT NULL ORDER BY {q(column)} LIMIT 5"
                ).fetchall()
                meta.values[column] = [text(v[0]) for v in found]
    finally:
        conn.close()
    return metas


def text(value: object) -> str:
    """A stored value as a query string carries it."""
    return repr(value) if isinstance(value, float) else str(value)


def fold(name: str) -> str:
    return name.lower()


# ---------------------------------------------------------------------------------------
# Requests


@dataclass(frozen=True)
class Expansion:
    member: str
    key: Key
    alias: bool
    columns: tuple[str, ...] | None

    def item(self) -> str:
        listed = f"({','.join(self.columns)})" if self.columns else ""
        return (f"{self.member}:" if self.alias else "") + self.key.columns[0] + listed


@dataclass(frozen=True)
class Embedding:
    member: str
    key: Key  # the child's key onto this table
    alias: bool
    dotted: bool
    columns: tuple[str, ...] | None

    def item(self) -> str:
        listed = f"({','.join(self.columns)})" if self.columns else ""
        name = self.key.table + (f".{self.key.columns[0]}" if self.dotted else "")
        return (f"{self.member}:" if self.alias else "") + name + listed


@dataclass(frozen=True)
class Term:
    """`column__op=value`, across `key` to its target when given."""

    key: Key | None
    column: str
    op: str
    value: str
    bare: bool = False  # as a parameter, `col=v` rather than `col__exact=v`

    def name(self) -> str:
        across = f"{self.key.columns[0]}." if self.key else ""
        return f"{across}{self.column}__{self.op}"

    def parameter(self) -> str:
        return self.name().removesuffix("__exact") if self.bare else self.name()


@dataclass
class Case:
    table: str
    expand: list[Expansion]
    embed: list[Embedding]
    embed_limit: int | None
    filters: list[Term]
    group: list[Term]  # one `_or` of these, when any
    select: tuple[str, ...] | None
    sort: tuple[str, bool] | None
    limit: int
    offset: int
    count: bool
    shape: str
    fmt: str
    params: list[tuple[str, str]]


OPS = ["exact", "not", "gt", "gte", "lt", "lte", "in", "isnull", "notnull", "contains",
    "startswith", "endswith"]  # fmt: skip
EXTRA_VALUES = ["abc", "0", "a,b", 'q"(1)', "ü"]


def group_value(value: str) -> str:
    """A value in an `_or` term, quoted when it holds , ( ) " or \\."""
    if re.search(r'[,()"\\]', value):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return value


@st.composite
def terms(draw: st.DrawFn, metas: dict[str, Meta], meta: Meta, across: bool) -> Term:
    key = draw(st.sampled_from(meta.keys)) if across and meta.keys else None
    target = metas[key.target] if key else meta
    column = draw(st.sampled_from([c for c in target.columns if c != "rowid"]))
    op = draw(st.sampled_from(OPS))
    stored = target.values[column] or EXTRA_VALUES
    pool = st.sampled_from(stored) if draw(st.integers(0, 7)) else st.sampled_from(EXTRA_VALUES)
    if op in ("isnull", "notnull"):
        value = draw(st.sampled_from(["true", "false"]))
    elif op == "in":
        value = ",".join(draw(st.lists(pool, min_size=1, max_size=3)))
    else:
        value = draw(pool)
    return Term(key, column, op, value, op == "exact" and draw(st.booleans()))


@st.composite
def cases(draw: st.DrawFn, metas: dict[str, Meta], big: frozenset[str]) -> Case:
    related = [m for m in metas.values() if m.keys or m.incoming]
    meta = draw(st.sampled_from(related))
    taken = {fold(c) for c in meta.columns}
    serial = iter(range(100))

    def member(name: str) -> tuple[str, bool]:
        if fold(name) not in taken and draw(st.booleans()):
            taken.add(fold(name))
            return name, False
        alias = f"m{next(serial)}"
        taken.add(alias)
        return alias, True

    def columns_of(target: Meta) -> tuple[str, ...] | None:
        if draw(st.booleans()):
            return None
        return tuple(draw(st.lists(st.sampled_from(target.columns), min_size=1, unique=True)))

    def some(keys: list[Key], wanted: bool) -> list[Key]:
        if not keys:
            return []
        least = 1 if wanted else 0
        return draw(st.lists(st.sampled_from(keys), unique=True, min_size=least, max_size=2))

    mode = draw(st.sampled_from(["expand", "embed", "both", "either"]))
    expand = []
    for key in some(meta.keys, mode in ("expand", "both") or not meta.incoming):
        name, alias = member(key.target)
        expand.append(Expansion(name, key, alias, columns_of(metas[key.target])))
    embed = []
    for key in some(meta.incoming, mode in ("embed", "both") or not meta.keys):
        several = sum(k.table == key.table for k in meta.incoming) > 1
        name, alias = member(key.table)
        dotted = several or draw(st.booleans())
        embed.append(Embedding(name, key, alias, dotted, columns_of(metas[key.table])))
    embed_limit = draw(st.sampled_from([None, 1, 1, 2, 2, 3, 4]))
    filters = []
    if draw(st.booleans()):
        filters += draw(st.lists(terms(metas, meta, across=True), min_size=1, max_size=2))
    if draw(st.integers(0, 3)) == 0:
        filters.append(draw(terms(metas, meta, across=False)))
    group = []
    if draw(st.integers(0, 2)) == 0:
        group = draw(
            st.lists(st.booleans().flatmap(lambda a: terms(metas, meta, a)), min_size=1, max_size=3)
        )
    select = None
    if draw(st.integers(0, 3)) == 0:
        select = tuple(draw(st.lists(st.sampled_from(meta.columns), min_size=1, unique=True)))
    sort = None
    if draw(st.booleans()):
        sort = (draw(st.sampled_from(meta.columns)), draw(st.booleans()))
    limit = draw(st.integers(1, 40) if meta.name in big else st.integers(1, 6))
    shape = draw(st.sampled_from(["objects", "objects", "arrays"]))
    fmt = "ndjson" if not embed and expand and draw(st.integers(0, 3)) == 0 else "json"
    offset = draw(st.sampled_from([0, 0, 0, 1, 3])) if fmt == "json" else 0
    count = fmt == "json" and draw(st.integers(0, 3)) == 0

    params: list[tuple[str, str]] = []
    if expand:
        if draw(st.booleans()):
            params.append(("_expand", ",".join(e.item() for e in expand)))
        else:
            params += [("_expand", e.item()) for e in expand]
    params += [("_embed", e.item()) for e in embed]
    if embed_limit is not None:
        params.append(("_embed_limit", str(embed_limit)))
    params += [(t.parameter(), t.value) for t in filters]
    if group:
        listed = ",".join(f"{t.name()}.{group_value(t.value)}" for t in group)
        params.append(("_or", f"({listed})"))
    if select:
        params.append(("_select", ",".join(select)))
    if sort:
        params.append(("_sort", ("-" if sort[1] else "") + sort[0]))
    if fmt == "json":
        params.append(("_limit", str(limit)))
        if offset:
            params.append(("_offset", str(offset)))
        if count:
            params.append(("_count", "true"))
    else:
        params.append(("_format", "ndjson"))
    if shape == "arrays":
        params.append(("_shape", "arrays"))
    return Case(
        meta.name,
        expand,
        embed,
        embed_limit,
        filters,
        group,
        select,
        sort,
        limit,
        offset,
        count,
        shape,
        fmt,
        params,
    )


# ---------------------------------------------------------------------------------------
# The oracle


def term_sql(
    metas: dict[str, Meta], meta: Meta, alias: str, term: Term
) -> tuple[str, list[object]]:
    """The hand-written condition of one filter on rows of `meta` called `alias`."""
    if term.key is not None:
        target = metas[term.key.target]
        on = " AND ".join(
            f"r.{q(ref)} = {alias}.{q(col)}"
            for col, ref in zip(term.key.columns, term.key.references, strict=True)
        )
        inner, params = term_sql(metas, target, "r", Term(None, term.column, term.op, term.value))
        return f"EXISTS (SELECT 1 FROM {q(target.name)} AS r WHERE {on} AND {inner})", params
    column, declared, value = f"{alias}.{q(term.column)}", meta.declared[term.column], term.value
    return value_test(column, term.op, value, partial(typed, declared))


def merged_in_lists(filters: list[Term]) -> list[Term]:
    """`x__in` given several times is one list (API.md); other repeated filters are ANDed."""
    merged: list[Term] = []
    for term in filters:
        earlier = next((n for n, t in enumerate(merged) if t.parameter() == term.parameter()), None)
        if term.op == "in" and earlier is not None:
            joined = ",".join(v for v in (merged[earlier].value, term.value) if v)
            merged[earlier] = dataclasses.replace(merged[earlier], value=joined)
        else:
            merged.append(term)
    return merged


@dataclass
class Expected:
    key: tuple[object, ...]
    own: dict[str, object]


def expected_rows(conn: sqlite3.Connection, metas: dict[str, Meta], case: Case) -> list[Expected]:
    """The rows the request selects, in order; raises Refused for a request that is a 400."""
    meta = metas[case.table]
    where, params = [], []
    for term in merged_in_lists(case.filters):
        sql, values = term_sql(metas, meta, "p", term)
        where.append(sql)
        params += values
    if case.group:
        parts = [term_sql(metas, meta, "p", t) for t in case.group]
        where.append("(" + " OR ".join(f"({sql})" for sql, _ in parts) + ")")
        params += [v for _, values in parts for v in values]
    order = []
    if case.sort:
        order.append(f"p.{q(case.sort[0])}" + (" DESC" if case.sort[1] else ""))
    order += [f"p.{q(k)}" for k in meta.key if not case.sort or k != case.sort[0]]
    columns = list(meta.columns)
    sql = (
        f"SELECT {', '.join(f'p.{q(c)}' for c in columns)} FROM {q(meta.name)} AS p"
        + (" WHERE " + " AND ".join(where) if where else "")
        + " ORDER BY "
        + ", ".join(order)
    )
    found = []
    for row in conn.execute(sql, params):
        own = dict(zip(columns, row, strict=True))
        found.append(Expected(tuple(own[k] for k in meta.key), own))
    return found


def where_key(alias: str, meta: Meta) -> str:
    return " AND ".join(f"{alias}.{q(k)} IS ?" for k in meta.key)


def expanded(
    conn: sqlite3.Connection, metas: dict[str, Meta], expansion: Expansion, key: Sequence[object]
) -> dict[str, object] | None:
    """The referenced row of one row, by SQLite's own LEFT JOIN."""
    source, target = metas[expansion.key.table], metas[expansion.key.target]
    columns = expansion.columns or target.columns
    on = " AND ".join(
        f"t.{q(ref)} = p.{q(col)}"
        for col, ref in zip(expansion.key.columns, expansion.key.references, strict=True)
    )
    marker = q(expansion.key.references[0])
    sql = (
        f"SELECT t.{marker} IS NOT NULL, {', '.join(f't.{q(c)}' for c in columns)} "
        f"FROM {q(source.name)} AS p LEFT JOIN {q(target.name)} AS t ON {on} "
        f"WHERE {where_key('p', source)}"
    )
    rows = conn.execute(sql, list(key)).fetchall()
    assert len(rows) == 1, f"the test database must not be ambiguous: {sql} {key} -> {rows}"
    if not rows[0][0]:
        return None
    return {c: shown(v, target.declared[c]) for c, v in zip(columns, rows[0][1:], strict=True)}


def embedded(
    conn: sqlite3.Connection, metas: dict[str, Meta], embedding: Embedding, key: Sequence[object]
) -> list[dict[str, object]]:
    """Every child row of one parent, in the child's key order."""
    parent, child = metas[embedding.key.target], metas[embedding.key.table]
    columns = embedding.columns or child.columns
    on = " AND ".join(
        f"c.{q(col)} = p.{q(ref)}"
        for col, ref in zip(embedding.key.columns, embedding.key.references, strict=True)
    )
    sql = (
        f"SELECT {', '.join(f'c.{q(c)}' for c in columns)} FROM {q(parent.name)} AS p "
        f"JOIN {q(child.name)} AS c ON {on} WHERE {where_key('p', parent)} "
        f"ORDER BY {', '.join(f'c.{q(k)}' for k in child.key)}"
    )
    return [
        {c: shown(v, child.declared[c]) for c, v in zip(columns, row, strict=True)}
        for row in conn.execute(sql, list(key))
    ]


# ---------------------------------------------------------------------------------------
# Driving sqlapi

MAX_PAGES = 6  # pages of the main list followed per example
MAX_EMBED_FOLLOWS = 8  # embed next_url chains followed per example
MAX_EMBED_PAGES = 4  # pages of one embed chain


@dataclass
class World:
    name: str
    path: Path
    live: LiveApp
    metas: dict[str, Meta]
    big: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def generated_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_relations_db(tmp_path_factory.mktemp("relations") / "relations.db")


@pytest.fixture(scope="module")
def generated(generated_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=generated_path))
    yield live
    live.close()


CHINOOK_TABLES = ["Album", "Artist", "Customer", "Employee", "Genre", "Invoice", "InvoiceLine",
    "MediaType", "Playlist", "PlaylistTrack", "Track"]  # fmt: skip
SAMPLE_TABLES = ["authors", "books", "loans", "members", "genres", "book_genres"]


@pytest.fixture(scope="module", params=["sample", "chinook", "generated"])
def world(request: pytest.FixtureRequest) -> World:
    if request.param == "sample":
        path = sample_database()
        return World(
            "sample", path, request.getfixturevalue("sample"), read_meta(path, SAMPLE_TABLES)
        )
    if request.param == "chinook":
        path = request.getfixturevalue("chinook_path")
        big = frozenset({"Track", "InvoiceLine", "PlaylistTrack", "Invoice", "Album", "Customer"})
        return World(
            "chinook",
            path,
            request.getfixturevalue("chinook"),
            read_meta(path, CHINOOK_TABLES),
            big,
        )
    path = request.getfixturevalue("generated_path")
    return World(
        "generated", path, request.getfixturevalue("generated"), read_meta(path, GENERATED_TABLES)
    )


def body_rows(response: Any, fmt: str) -> tuple[list[Any], str | None]:
    if fmt == "ndjson":
        return [json.loads(line) for line in response.body.splitlines() if line], None
    document = response.json()
    return document["rows"], document["next_url"]


def fetch_all(
    live: LiveApp, url: str, fmt: str = "json", pages: int = MAX_PAGES
) -> tuple[int, list[Any], bool]:
    """(status, rows, complete): rows of up to `pages` pages; complete when `next` ended."""
    rows: list[Any] = []
    for _ in range(pages):
        response = live.get(url)
        if response.status != 200:
            assert response.status == 400, (url, response.status, response.body[:500])
            assert response.content_type == "application/problem+json", url
            return 400, [], True
        found, url_next = body_rows(response, fmt)
        rows += found
        if url_next is None:
            return 200, rows, True
        url = url_next
    return 200, rows, False


def canon(value: object) -> str:
    """Values compared as JSON text: true is not 1, and 1.0 is not 1."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def as_object(row: Any, names: list[str]) -> dict[str, Any]:
    return dict(zip(names, row, strict=True)) if isinstance(row, list) else row


def check_embedding(
    live: LiveApp,
    got: Any,
    full: list[dict[str, object]],
    limit: int,
    budget: list[int],
    where: str,
) -> None:
    """One embedded list: the first `limit` child rows; `next_url` iff there are more, and
    following it yields exactly the rest (as far as it is followed)."""
    assert isinstance(got, dict) and set(got) == {"rows", "next_url"}, (where, got)
    assert canon(got["rows"]) == canon(full[:limit]), where
    if len(full) <= limit:
        assert got["next_url"] is None, where
        return
    assert got["next_url"] is not None, where
    if budget[0] <= 0:
        return
    budget[0] -= 1
    event("an embedding's next_url followed")
    status, rest, complete = fetch_all(live, got["next_url"], pages=MAX_EMBED_PAGES)
    assert status == 200, (where, got["next_url"])
    tail = full[limit:]
    if complete:
        assert canon(rest) == canon(tail), (where, got["next_url"])
    else:
        assert canon(rest) == canon(tail[: len(rest)]), (where, got["next_url"])


def check_row(
    world: World,
    conn: sqlite3.Connection,
    case: Case,
    got: Any,
    want: Expected,
    names: list[str],
    budget: list[int],
) -> None:
    meta = world.metas[case.table]
    selected = case.select or meta.columns
    row = as_object(got, names)
    where = f"{case.table} {case.params} row {want.key}"
    for column in selected:
        assert canon(row[column]) == canon(shown(want.own[column], meta.declared[column])), (
            where,
            column,
        )
    for expansion in case.expand:
        found = expanded(conn, world.metas, expansion, want.key)
        assert canon(row[expansion.member]) == canon(found), (
            where,
            expansion.item(),
        )
    limit = case.embed_limit or 10
    for embedding in case.embed:
        full = embedded(conn, world.metas, embedding, want.key)
        check_embedding(world.live, row[embedding.member], full, limit, budget, where)
    members = [e.member for e in case.expand] + [e.member for e in case.embed]
    assert set(row) == {*selected, *members}, where


def row_url(meta: Meta, key: Sequence[object]) -> str | None:
    """/rows/{pk}: one value, or the values joined by ',' with , ~ / % tilde-encoded."""
    if any(v is None or isinstance(v, bytes | float) for v in key):
        return None
    if len(key) == 1:  # an empty or a "/" key cannot be one path segment
        value = str(key[0])
        if not value or "/" in value:
            return None
        return f"/api/tables/{quote(meta.name)}/rows/{quote(value, safe='')}"
    encoded = [re.sub(r"[,~/%]", lambda m: f"~{ord(m.group()):02X}", str(v)) for v in key]
    return f"/api/tables/{quote(meta.name)}/rows/{quote(','.join(encoded), safe='')}"


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_pages_with_relations_equal_the_sqlite_oracle(world: World, data: st.DataObject) -> None:
    case = data.draw(cases(world.metas, world.big), label="case")
    meta = world.metas[case.table]
    conn = sqlite3.connect(world.path)
    try:
        try:
            expected: list[Expected] | None = expected_rows(conn, world.metas, case)
        except Refused:
            expected = None
        url = f"/api/tables/{quote(case.table)}/rows?" + urlencode(case.params)
        status, rows, complete = fetch_all(world.live, url, case.fmt)
        event(f"{status} {'complete' if complete else 'prefix'}")
        event(f"{len(case.expand)} expansions, {len(case.embed)} embeddings")
        if expected is None:
            assert status == 400, (url, "sqlapi must refuse a value of the wrong type")
            return
        assert status == 200, url
        if case.count:
            assert world.live.json(url)["count"] == len(expected), url
        listed = expected[case.offset :]
        if complete:
            assert len(rows) == len(listed), url
        else:
            assert len(rows) == MAX_PAGES * case.limit, url
        names = list(case.select or meta.columns)
        names += [e.member for e in case.expand] + [e.member for e in case.embed]
        budget = [MAX_EMBED_FOLLOWS]
        for got, want in zip(rows, listed[: len(rows)], strict=True):
            check_row(world, conn, case, got, want, names, budget)

        # The first row again, by its key, with the same relations (no filters apply there).
        if expected and (url := row_url(meta, expected[0].key)) is not None:
            asked = [(k, v) for k, v in case.params if k in ("_expand", "_embed", "_embed_limit")]
            response = world.live.get(url + ("?" + urlencode(asked) if asked else ""))
            assert response.status == 200, (url, asked, response.body[:300])
            one = dataclasses.replace(case, select=None)  # every column of the row
            names = list(meta.columns) + [e.member for e in case.expand]
            names += [e.member for e in case.embed]
            check_row(world, conn, one, response.json()["row"], expected[0], names, [1])
    finally:
        conn.close()


# ---------------------------------------------------------------------------------------
# Fixed examples the properties rest on


def test_two_keys_onto_one_parent_need_a_column_and_the_400_lists_both(
    generated: LiveApp,
) -> None:
    response = generated.get("/api/tables/parent/rows?_embed=child")
    assert response.status == 400 and response.content_type == "application/problem+json"
    assert sorted(response.json()["allowed"]) == ["child.other_id", "child.parent_id"]
    response = generated.get("/api/tables/tparent/rows?_embed=mixed")
    assert response.status == 400
    assert sorted(response.json()["allowed"]) == ["mixed.code_ref", "mixed.tref"]
    for name in ("child.parent_id", "child.other_id"):
        assert generated.get(f"/api/tables/parent/rows?_embed={name}").status == 200


def test_text_key_holding_7_expands_to_integer_key_7_as_sqlites_join_does(
    generated: LiveApp, generated_path: Path
) -> None:
    conn = sqlite3.connect(generated_path)
    joined = dict(
        conn.execute(
            "SELECT m.tag, p.name FROM mixed AS m LEFT JOIN parent AS p ON p.id = m.loose"
        ).fetchall()
    )
    conn.close()
    rows = generated.json("/api/tables/mixed/rows?_expand=p:loose(name)")["rows"]
    assert {r["tag"]: r["p"] and r["p"]["name"] for r in rows} == joined
    assert joined["m01"] == "p7" and joined["m05"] is None  # '7' matches 7; 'abc' nothing


def test_self_reference_expands_and_embeds_on_chinook(chinook: LiveApp) -> None:
    detail = chinook.json("/api/tables/Employee")
    assert {"columns": ["ReportsTo"], "table": "Employee", "references": ["EmployeeId"]} in detail[
        "foreign_keys"
    ]
    assert {"table": "Employee", "columns": ["ReportsTo"], "references": ["EmployeeId"]} in detail[
        "referenced_by"
    ]
    rows = chinook.json(
        "/api/tables/Employee/rows?_select=EmployeeId,ReportsTo"
        "&_expand=ReportsTo(EmployeeId),boss2:ReportsTo(ReportsTo)"
        "&_embed=reports:Employee(EmployeeId)&_embed_limit=2"
    )["rows"]
    by_id = {r["EmployeeId"]: r for r in rows}
    assert by_id[1]["Employee"] is None and by_id[1]["boss2"] is None
    assert by_id[3]["Employee"] == {"EmployeeId": 2} and by_id[3]["boss2"] == {"ReportsTo": 1}
    assert by_id[1]["reports"] == {"rows": [{"EmployeeId": 2}, {"EmployeeId": 6}], "next_url": None}
    assert by_id[2]["reports"]["rows"] == [{"EmployeeId": 3}, {"EmployeeId": 4}]
    rest = chinook.json(by_id[2]["reports"]["next_url"])
    assert rest["rows"] == [{"EmployeeId": 5}] and rest["next"] is None


# ---------------------------------------------------------------------------------------
# Product bugs, each with its exact reproduction (kept apart from the generated database
# above so that the properties keep checking everything else)

ODD_SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE tparent (code TEXT PRIMARY KEY NOT NULL);
CREATE TABLE oddkid (id INTEGER PRIMARY KEY, loose TEXT REFERENCES parent(id),
                     untyped REFERENCES parent(id), code_ref INTEGER REFERENCES tparent(code));
CREATE TABLE nullkey (tag TEXT PRIMARY KEY, pid INTEGER REFERENCES parent(id));
"""


@pytest.fixture(scope="module")
def odd_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("odd") / "odd.db"
    conn = sqlite3.connect(path)
    conn.executescript(ODD_SCHEMA)
    conn.executemany("INSERT INTO parent VALUES (?, ?)", [(i, f"p{i}") for i in range(1, 9)])
    conn.executemany("INSERT INTO tparent VALUES (?)", [("abc",), ("7",)])
    conn.executemany(
        "INSERT INTO oddkid VALUES (?, ?, ?, ?)",
        [(1, "7", "7", "abc"), (2, "07", 7, "abc"), (3, "7.0", "7", 7), (4, "3", 3, None)],
    )
    # a TEXT PRIMARY KEY of a rowid table may hold NULL (SQLite keeps that old bug)
    conn.executemany("INSERT INTO nullkey VALUES (?, ?)", [(None, 3), ("a", 3), ("b", 2)])
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def odd(odd_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=odd_path))
    yield live
    live.close()


def joined_children(
    path: Path, child: str, column: str, parent: str, ref: str, key: object
) -> list[int]:
    """The children of one parent as SQLite's JOIN finds them, in key order."""
    conn = sqlite3.connect(path)
    try:
        sql = (
            f"SELECT c.rowid FROM {q(parent)} AS p JOIN {q(child)} AS c "
            f"ON c.{q(column)} = p.{q(ref)} WHERE p.{q(ref)} = ? ORDER BY c.rowid"
        )
        return [r[0] for r in conn.execute(sql, (key,))]
    finally:
        conn.close()


@pytest.mark.parametrize("column", ["loose", "untyped"])
def test_embed_next_url_yields_the_children_the_join_finds(
    odd: LiveApp, odd_path: Path, column: str
) -> None:
    """'07' and '7.0' in a TEXT (or untyped) key refer to the INTEGER 7 by the JOIN's
    comparison, which the child's own filter (`loose=7`, the text '7') does not make: the
    next_url filters across the key instead, as the parent's column reads the value."""
    children = joined_children(odd_path, "oddkid", column, "parent", "id", 7)
    assert children == [1, 2, 3]
    row = odd.json(f"/api/tables/parent/rows/7?_embed=oddkid.{column}(id)&_embed_limit=1")["row"]
    assert row["oddkid"]["rows"] == [{"id": 1}]
    status, rest, complete = fetch_all(odd, row["oddkid"]["next_url"])
    assert (status, complete) == (200, True)
    assert rest == [{"id": 2}, {"id": 3}]


def test_embed_next_url_of_an_integer_key_holding_text(odd: LiveApp, odd_path: Path) -> None:
    """The INTEGER key holds the text 'abc': the child's own filter refuses it (400), the
    parent's TEXT column reads it."""
    assert joined_children(odd_path, "oddkid", "code_ref", "tparent", "code", "abc") == [1, 2]
    row = odd.json("/api/tables/tparent/rows/abc?_embed=oddkid(id)&_embed_limit=1")["row"]
    assert row["oddkid"]["rows"] == [{"id": 1}]
    response = odd.get(row["oddkid"]["next_url"])
    assert response.status == 200, response.body[:300]
    assert response.json()["rows"] == [{"id": 2}]


@pytest.mark.parametrize(
    "schema",
    [
        # a NUMERIC key holds 7; the child's VARCHAR key '07' and '7.0' refer to it
        "CREATE TABLE p (id NUMERIC PRIMARY KEY);"
        "CREATE TABLE c (cid INTEGER PRIMARY KEY, fk VARCHAR(10) REFERENCES p(id));"
        "INSERT INTO p VALUES (7), ('x');"
        "INSERT INTO c (fk) VALUES ('7'), ('07'), ('7.0'), ('07'), ('x'), ('x'), ('X');",
        # a key onto a UNIQUE INT column that holds a REAL, text and a BLOB, which no
        # filter on an INT column can spell: found by the parent's own key instead
        "CREATE TABLE p (pid INTEGER PRIMARY KEY, ref INT UNIQUE);"
        "CREATE TABLE c (cid INTEGER PRIMARY KEY, fk TEXT REFERENCES p(ref));"
        "INSERT INTO p (ref) VALUES (7.5), ('abc'), (x'07'), (7);"
        "INSERT INTO c (fk) VALUES ('7.5'), (7.5), ('abc'), ('abc'), (x'07'), (x'07'),"
        " ('07'), ('7'), ('7.0');",
        # both keys untyped; one parent holds the text '7', another the integer 7
        "CREATE TABLE p (pid INTEGER PRIMARY KEY, ref UNIQUE);"
        "CREATE TABLE c (cid INTEGER PRIMARY KEY, fk REFERENCES p(ref));"
        "INSERT INTO p (ref) VALUES ('7'), (7);"
        "INSERT INTO c (fk) VALUES ('7'), ('7'), (7), (7), (7.0);",
    ],
    ids=["numeric-key", "unique-int-column", "untyped"],
)
def test_embed_next_url_finds_what_the_join_finds_for_keys_of_any_type(
    tmp_path: Path, schema: str
) -> None:
    """For each parent, its list and every page its next_url leads to are the children
    SQLite's JOIN finds, in key order, whatever the two keys' types and stored values."""
    path = tmp_path / "keys.db"
    conn = sqlite3.connect(path)
    conn.executescript(schema)
    conn.close()
    ref = "id" if "id NUMERIC" in schema else "ref"
    live = LiveApp(Settings(database=path))
    try:
        rows = live.json("/api/tables/p/rows?_embed=c(cid)&_embed_limit=1")["rows"]
        for row in rows:
            listed = [r["cid"] for r in row["c"]["rows"]]
            if row["c"]["next_url"] is not None:
                status, rest, complete = fetch_all(live, row["c"]["next_url"])
                assert (status, complete) == (200, True), row["c"]["next_url"]
                listed += [r["cid"] for r in rest]
            key = row["id"] if ref == "id" else row["pid"]
            where = "p.id" if ref == "id" else "p.pid"
            conn = sqlite3.connect(path)
            joined = [r[0] for r in conn.execute(
                f"SELECT c.cid FROM p JOIN c ON c.fk = p.{ref} WHERE {where} = ? ORDER BY c.cid",
                (key,),
            )]  # fmt: skip
            conn.close()
            assert listed == joined, (row, joined)
    finally:
        live.close()


def test_embed_next_url_names_the_childs_own_column_where_it_compares_as_the_join(
    odd: LiveApp,
) -> None:
    """The readable form wherever it is exact (one affinity both sides, a value that reads
    back as itself); across the key only where it is not."""
    plain = odd.json("/api/tables/parent/rows/3?_embed=nullkey&_embed_limit=1")["row"]
    assert plain["nullkey"]["next_url"].startswith("/api/tables/nullkey/rows?pid__exact=3&")
    across = odd.json("/api/tables/parent/rows/7?_embed=oddkid.loose&_embed_limit=1")["row"]
    assert across["oddkid"]["next_url"].startswith("/api/tables/oddkid/rows?loose.id__exact=7&")


def test_expansion_of_a_row_whose_primary_key_is_null(odd: LiveApp) -> None:
    """Relations are fetched by the rowid where the key may be NULL (`key IN (...)` never
    matches NULL): the row whose TEXT PRIMARY KEY is NULL finds its parent, as a LEFT JOIN
    does, on a page, a sorted page and an export."""
    expected = {"tag": None, "pid": 3, "parent": {"id": 3, "name": "p3"}}
    rows = odd.json("/api/tables/nullkey/rows?_expand=pid")["rows"]
    assert rows[0] == expected
    assert expected in odd.json("/api/tables/nullkey/rows?_expand=pid&_sort=-pid")["rows"]
    export = odd.get("/api/tables/nullkey/rows?_expand=pid&_format=ndjson")
    assert json.loads(export.body.splitlines()[0]) == expected


def test_embedding_lists_a_child_whose_primary_key_is_null(odd: LiveApp) -> None:
    listed = odd.json("/api/tables/nullkey/rows?pid=3")["rows"]
    assert listed == [{"tag": None, "pid": 3}, {"tag": "a", "pid": 3}]
    row = odd.json("/api/tables/parent/rows/3?_embed=nullkey")["row"]
    assert row["nullkey"] == {"rows": listed, "next_url": None}
    first = odd.json("/api/tables/parent/rows/3?_embed=nullkey&_embed_limit=1")["row"]["nullkey"]
    assert first["rows"] == listed[:1]
    status, rest, complete = fetch_all(odd, first["next_url"])
    assert (status, rest, complete) == (200, listed[1:], True)


def test_paging_through_rows_whose_primary_keys_are_null(tmp_path: Path) -> None:
    """Rows whose TEXT primary key is NULL tie (SQLite allows several): pages are ordered by
    the rowid after the key, so a page ending at one of them loses none of the others, on
    the rows endpoint and through an embedding's next_url."""
    path = tmp_path / "nulls.db"
    write(
        path,
        "CREATE TABLE p (id INTEGER PRIMARY KEY)",
        "CREATE TABLE c (k TEXT PRIMARY KEY, pid INTEGER REFERENCES p(id))",
        "INSERT INTO p VALUES (1)",
        "INSERT INTO c VALUES (NULL, 1), (NULL, 1), ('a', 1)",
    )
    live = LiveApp(Settings(database=path))
    try:
        first = live.json("/api/tables/p/rows/1?_embed=c&_embed_limit=1")["row"]["c"]
        status, rest, complete = fetch_all(live, first["next_url"])
        assert (status, complete) == (200, True)
        assert len(first["rows"]) + len(rest) == 3
        assert len(fetch_all(live, "/api/tables/c/rows?_limit=1")[1]) == 3
    finally:
        live.close()


def test_every_row_gets_its_member_when_two_keys_are_null(tmp_path: Path) -> None:
    path = tmp_path / "twonulls.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE parent (id INTEGER PRIMARY KEY);"
        "CREATE TABLE twonulls (tag TEXT PRIMARY KEY, pid INTEGER REFERENCES parent(id));"
        "INSERT INTO parent VALUES (1), (2);"
        "INSERT INTO twonulls VALUES (NULL, 1), (NULL, 2);"
    )
    conn.close()
    live = LiveApp(Settings(database=path))
    try:
        rows = live.json("/api/tables/twonulls/rows?_expand=pid&_limit=10")["rows"]
    finally:
        live.close()
    # Two NULL keys tie; each row is told apart by its rowid and gets its own parent.
    assert [(r["pid"], r.get("parent", "missing")) for r in rows] == [
        (1, {"id": 1}),
        (2, {"id": 2}),
    ]
