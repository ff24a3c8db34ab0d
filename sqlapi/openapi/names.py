"""Component and operation names for any table name: valid in a document, unique, and
never two tables under one name."""

from __future__ import annotations

import hashlib
import re

from sqlapi.model.schema import Table

_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


def component_names(tables: tuple[Table, ...]) -> dict[str, str]:
    """A valid, unique component/operation base name for every table, whatever its name.

    Names that are not plain ASCII words get a short hash of the real name, so that
    'a b', 'a_b', 'A B' and 'ä b' never meet.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for table in tables:
        base = safe_name(table.name, taken)
        taken.add(base.lower())
        names[table.name] = base
    return names


def safe_name(name: str, taken: set[str] | frozenset[str] = frozenset()) -> str:
    """CamelCase ASCII for `name`, with a short hash of it when that loses anything."""
    words = [w for w in _UNSAFE.split(name) if w]
    base = "".join(w[:1].upper() + w[1:] for w in words) or "Table"
    if base[0].isdigit():
        base = "T" + base
    if not re.fullmatch(r"[A-Za-z0-9_]+", name) or base.lower() in taken:
        base += "_" + hashlib.blake2s(name.encode(), digest_size=3).hexdigest()
    return base
