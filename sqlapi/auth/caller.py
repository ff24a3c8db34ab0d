"""The caller of a request: who they are (for caches), which tables they may read, and
the claims of their verified token (for row policies and named queries)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlapi.auth.tokens import Claims
from sqlapi.model.schema import Table, fold


@dataclass(frozen=True)
class Caller:
    """`identity` tells callers apart wherever an answer can depend on who asks (ETags,
    cached listings); `tables` holds the folded names they may read, None for all;
    `claims` are a verified token's (None without one: no row of a filtered table);
    `expires` is when that token stops being valid (an event stream ends then)."""

    identity: str = ""
    tables: frozenset[str] | None = None
    claims: Claims | None = None
    expires: float | None = None

    @property
    def scoped(self) -> bool:
        return self.tables is not None

    def may_read(self, table: Table) -> bool:
        """Whether the caller may read `table`: it is one of theirs, and so is every
        object whose data it reveals (a view's tables, a full-text index's content)."""
        allowed = self.tables
        return allowed is None or (fold(table.name) in allowed and table.sources <= allowed)


ANYONE = Caller()  # an open API: no key or token configured
