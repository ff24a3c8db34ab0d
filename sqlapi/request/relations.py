"""Relations between tables, as requests name them: `_expand` follows a foreign key to the
row it refers to, `_embed` brings the rows of another table that refer to this one, and
`fk.col__op=v` filters across a key. Pure: every name is looked up in the exposed schema
(a key onto a denied table is not in it) and every table reached is checked against
what the caller may read.

    _expand=[alias:]fk_column[(col,...)]
    _embed=[alias:]child_table[.fk_column][(col,...)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlapi.model.errors import bad_request
from sqlapi.model.schema import Column, ForeignKey, Reference, Schema, Table, fold
from sqlapi.request.types import Embedding, Link, Readable

MAX_RELATIONS = 10  # expansions and embeddings in one request
DEFAULT_EMBED_LIMIT, MAX_EMBED_LIMIT = 10, 100
_ALIAS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def split_items(value: str, parameter: str) -> list[str]:
    """`a,b(c,d),e` -> ["a", "b(c,d)", "e"]: commas inside parentheses stay."""
    items, depth, start = [], 0, 0
    for position, char in enumerate(value):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_request(f"{parameter}: unbalanced ')' at {position}")
        elif char == "," and depth == 0:
            items.append(value[start:position])
            start = position + 1
    if depth:
        raise bad_request(f"{parameter}: unbalanced '(' in {value[:100]!r}")
    items.append(value[start:])
    return [item for item in items if item]


def _parts(item: str, parameter: str) -> tuple[str | None, str, list[str] | None]:
    """(alias, name, columns) of `[alias:]name[(col,...)]`."""
    columns = None
    if item.endswith(")") and "(" in item:
        item, inner = item[: item.index("(")], item[item.index("(") + 1 : -1]
        columns = [c for c in inner.split(",") if c]
        if not columns:
            raise bad_request(f"{parameter}: an empty column list in {item!r}")
    alias = None
    head, colon, rest = item.partition(":")
    if colon and _ALIAS.fullmatch(head):
        alias, item = head, rest
    elif colon and head and not _ALIAS.fullmatch(head) and ":" not in rest:
        raise bad_request(
            f"{parameter}: the alias {head!r} is not a name (letters, digits, '_')",
            problem_type="bad-alias",
        )
    return alias, item, columns


def _columns(table: Table, names: list[str] | None, parameter: str) -> tuple[Column, ...]:
    if names is None:
        return table.columns
    found = []
    for name in names:
        column = table.column(name)
        if column is None:
            raise bad_request(
                f"{parameter}: {table.kind} {table.name!r} has no column {name!r}",
                problem_type="unknown-column",
                allowed=table.column_names,
            )
        found.append(column)
    return tuple(dict.fromkeys(found))


def key_of(table: Table, name: str) -> ForeignKey | None:
    """The foreign key of `table` named by its first column."""
    folded = fold(name)
    return next((k for k in table.foreign_keys if fold(k.columns[0]) == folded), None)


def _found(table: Table, names: Sequence[str | None]) -> tuple[Column, ...]:
    return tuple(c for n in names if n is not None and (c := table.column(n)) is not None)


def parse_expansions(
    table: Table, values: Sequence[str], schema: Schema, readable: Readable
) -> tuple[Link, ...]:
    links = []
    for item in (i for v in values for i in split_items(v, "_expand")):
        alias, name, names = _parts(item, "_expand")
        key = key_of(table, name)
        if key is None:
            raise bad_request(
                f"_expand: {table.name!r} has no foreign key {name!r} (named by its first column)",
                problem_type="unknown-relation",
                allowed=[k.columns[0] for k in table.foreign_keys],
            )
        target = schema.table(key.table)
        assert target is not None  # exposed keys refer to exposed tables
        readable(target)
        select = _columns(target, names, "_expand")
        local, remote = _found(table, key.columns), _found(target, key.references)
        links.append(Link(alias or target.name, table, target, local, remote, select))
    return tuple(links)


def _incoming(table: Table, child: Table) -> list[Reference]:
    return [r for r in table.referenced_by if fold(r.table) == fold(child.name)]


def _child_and_key(table: Table, name: str, schema: Schema) -> tuple[Table, Reference]:
    child, column = schema.table(name), None
    if child is None and "." in name:
        child_name, column = name.rsplit(".", 1)
        child = schema.table(child_name)
    references = _incoming(table, child) if child is not None else []
    if child is None or not references:
        raise bad_request(
            f"_embed: no exposed table refers to {table.name!r} as {name!r}",
            problem_type="unknown-relation",
            allowed=sorted({r.table for r in table.referenced_by}),
        )
    if column is not None:
        references = [r for r in references if fold(r.columns[0]) == fold(column)]
        if not references:
            raise bad_request(
                f"_embed: {child.name}.{column} is not a key of {child.name!r} onto {table.name!r}",
                problem_type="unknown-relation",
                allowed=[f"{child.name}.{r.columns[0]}" for r in _incoming(table, child)],
            )
    if len(references) != 1:
        raise bad_request(
            f"_embed: {child.name!r} refers to {table.name!r} by several keys; name one as "
            f"{child.name}.<column>",
            problem_type="ambiguous-relation",
            allowed=[f"{child.name}.{r.columns[0]}" for r in _incoming(table, child)],
        )
    return child, references[0]


def parse_embeddings(
    table: Table, values: Sequence[str], schema: Schema, readable: Readable, limit: int
) -> tuple[Embedding, ...]:
    embeddings = []
    for item in (i for v in values for i in split_items(v, "_embed")):
        alias, name, names = _parts(item, "_embed")
        child, reference = _child_and_key(table, name, schema)
        readable(child)
        select = _columns(child, names, "_embed")
        local, remote = _found(table, reference.references), _found(child, reference.columns)
        link = Link(alias or child.name, table, child, local, remote, select)
        embeddings.append(Embedding(link, limit))
    return tuple(embeddings)


def _keyed(table: Table, parameter: str) -> None:
    """Relations are fetched for a page by its rows' keys (and listed in a child's key
    order): a table without one, not even a rowid, has no relations."""
    if not table.key_columns:
        raise bad_request(
            f"{parameter}: {table.kind} {table.name!r} has no primary key or rowid, and "
            "related rows are matched by key",
            problem_type="unknown-relation",
        )


def check_members(
    table: Table, expansions: Sequence[Link], embeddings: Sequence[Embedding]
) -> None:
    """Two relations under one name, or one under a column's name, are a 400; so are
    relations of a table without a key, or to children without one."""
    if not expansions and not embeddings:
        return
    if expansions:
        _keyed(table, "_expand")
    for embedding in embeddings:
        _keyed(table, "_embed")
        _keyed(embedding.link.target, "_embed")
    taken = {fold(c.name) for c in table.columns}
    links = [*expansions, *(e.link for e in embeddings)]
    for link in links:
        if fold(link.name) in taken:
            raise bad_request(
                f"{link.name!r} would be both a column and a related member, or two related "
                "members: give one an alias (alias:name)",
                problem_type="member-clash",
            )
        taken.add(fold(link.name))
    if len(links) > MAX_RELATIONS:
        raise bad_request(f"at most {MAX_RELATIONS} expansions and embeddings in one request")
