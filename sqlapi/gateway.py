"""The object every route receives: the settings, what is exposed, the database, and the
bounds shared by all requests. Routes get it explicitly (their blueprints are built
around it); nothing looks it up by name."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlapi.admission import Admission
from sqlapi.auth.authenticator import Authenticator
from sqlapi.auth.caller import Caller
from sqlapi.config import Settings
from sqlapi.db import Database
from sqlapi.errors import Unavailable, bad_request, forbidden, not_found
from sqlapi.exposure import Exposure
from sqlapi.keys import tilde_decode
from sqlapi.params import RequestContext, RequestLimits, find_column
from sqlapi.schema import Schema, Table


@dataclass
class Subscribers:
    """Open event streams, bounded exactly (a place is taken before anything awaits);
    `closing` ends them when the server shuts down."""

    limit: int
    open: int = 0
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def reserve(self) -> Callable[[], None]:
        """Take a place now (a 503 problem if none is left); the function returned gives it
        back, once however often it is called."""
        if self.open >= self.limit:
            raise Unavailable(f"{self.limit} event streams are open; try again later.")
        self.open += 1
        taken = True

        def release() -> None:
            nonlocal taken
            if taken:
                taken = False
                self.open -= 1

        return release


@dataclass
class Gateway:
    settings: Settings
    exposure: Exposure
    db: Database
    limits: RequestLimits
    subscribers: Subscribers
    admission: Admission
    authenticator: Authenticator

    @property
    def schema(self) -> Schema:
        return self.exposure.schema

    def table(self, name: str, caller: Caller) -> Table:
        """The exposed table or view `name` (404 if none), if `caller` may read it (403)."""
        table = self.schema.table(name)
        if table is None and "~" in name:  # a name with "/" travels tilde-encoded: a~2Fb
            with contextlib.suppress(ValueError):
                table = self.schema.table(tilde_decode(name))
        if table is None:
            raise not_found(
                f"No table or view named {name!r} is exposed. GET /api/tables lists them.",
                problem_type="unknown-table",
            )
        why = self.refusal(table, caller)
        if why is not None:
            raise forbidden(why)
        return table

    def refusal(self, table: Table, caller: Caller) -> str | None:
        """Why `caller` may not read `table` (a 403), or None: outside their tables, or
        it reads a table with a row filter that cannot be applied to it."""
        if not caller.may_read(table):
            return f"This caller may not read {table.name!r}."
        return self.exposure.row_policies.refusal(table)

    def context(self, caller: Caller) -> RequestContext:
        """What `caller`'s parameters are read against: a relation to a table they may not
        read is a 403 naming it."""

        def readable(table: Table) -> None:
            why = self.refusal(table, caller)
            if why is not None:
                raise forbidden(why)

        scope = self.exposure.row_policies.scope(caller.claims, caller.identity)
        return RequestContext(self.schema, self.limits, readable, scope)

    def tables(self, caller: Caller) -> tuple[Table, ...]:
        """The tables `caller` may see."""
        return tuple(t for t in self.schema.tables if self.refusal(t, caller) is None)

    def table_for_column(self, name: str, chosen: str | None, caller: Caller) -> Table:
        """The one table `caller` may read that has this column (plain tables, then
        full-text tables, then views: the first group that has it); `chosen` picks."""
        if chosen is not None:
            table = self.table(chosen, caller)
            find_column(table, name, "column")
            return table
        having = [
            t for t in self.schema.tables_with_column(name) if self.refusal(t, caller) is None
        ]
        plain = [
            t for t in having if t.kind == "table" and (t.fts is None or t.fts.key is not None)
        ]
        full_text = [t for t in having if t.kind == "table" and t not in plain]
        candidates = plain or full_text or having
        if not candidates:
            raise not_found(
                f"No exposed table has a column named {name!r}", problem_type="unknown-column"
            )
        if len(candidates) > 1:
            raise bad_request(
                f"Several tables have a column named {name!r}; choose one with _table",
                problem_type="ambiguous-column",
                allowed=[t.name for t in candidates],
            )
        return candidates[0]

    @staticmethod
    def require_unscoped(caller: Caller, what: str) -> None:
        if caller.scoped:
            raise forbidden(f"{what} needs a caller that is not limited to some tables.")
