"""The caller of a request: who they are (for caches) and which tables they may read."""

from __future__ import annotations

from dataclasses import dataclass

from sqlapi.schema import Table, fold


@dataclass(frozen=True)
class Caller:
    """`identity` tells callers apart wherever an answer can depend on who asks (ETags,
    cached listings); `tables` holds the folded names they may read, None for all."""

    identity: str = ""
    tables: frozenset[str] | None = None

    @property
    def scoped(self) -> bool:
        return self.tables is not None

    def may_read(self, table: Table) -> bool:
        return self.tables is None or fold(table.name) in self.tables


ANYONE = Caller()  # an open API: no key configured
