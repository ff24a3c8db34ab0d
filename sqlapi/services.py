"""What a request is served by: the settings, what is exposed, the database, identity and
the bounds shared by every request (`Services`, made once per app); and what one caller
may reach under one exposure (`Access`, made once per request by the API's gate and
passed on, so that a file changing mid-request cannot show the gate one exposure and the
handler another). Routes get both explicitly; nothing looks them up by name."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

from sqlapi.auth.authenticator import Authenticator
from sqlapi.auth.caller import Caller
from sqlapi.config import Settings
from sqlapi.model.errors import bad_request, forbidden, not_found
from sqlapi.model.names import tilde_decode
from sqlapi.model.schema import Schema, Table
from sqlapi.request.columns import find_column
from sqlapi.request.types import RequestContext, RequestLimits
from sqlapi.respond.events import Subscribers
from sqlapi.sql.statements import claim_parameters
from sqlapi.store.database import Database
from sqlapi.store.exposure import Exposure


def answers_read(settings: Settings) -> Iterable[str]:
    """The claims an answer can depend on: those row filters and named queries read."""
    for rules in settings.tables.values():
        yield from rules.row_filter.values()
    for query in settings.queries.values():
        yield from claim_parameters(query.sql)[1].values()


def request_limits(settings: Settings) -> RequestLimits:
    return RequestLimits(
        default_limit=settings.default_limit,
        max_limit=settings.max_limit,
        max_pattern_length=settings.max_pattern_length,
    )


@dataclass
class Services:
    settings: Settings
    exposure: Exposure  # swapped whole when the file's schema changes (app.refresh)
    db: Database
    limits: RequestLimits
    subscribers: Subscribers
    authenticator: Authenticator

    @classmethod
    def made(cls, settings: Settings, exposure: Exposure, db: Database) -> Services:
        return cls(
            settings,
            exposure,
            db,
            request_limits(settings),
            Subscribers(settings.max_event_streams),
            Authenticator(settings.api_keys, settings.auth, answers_read(settings)),
        )

    @property
    def schema(self) -> Schema:
        return self.exposure.schema

    def access(self, caller: Caller) -> Access:
        """What `caller` may reach under the exposure of this moment."""
        return Access(self.exposure, caller, self.limits)


@dataclass(frozen=True)
class Access:
    """One caller under one exposure: the tables they may read, what their parameters are
    read against, and why a table is refused them."""

    exposure: Exposure
    caller: Caller
    limits: RequestLimits

    @property
    def schema(self) -> Schema:
        return self.exposure.schema

    def table(self, name: str) -> Table:
        """The exposed table or view `name` (404 if none), if the caller may read it (403)."""
        table = self.schema.table(name)
        if table is None and "~" in name:  # a name with "/" travels tilde-encoded: a~2Fb
            with contextlib.suppress(ValueError):
                table = self.schema.table(tilde_decode(name))
        if table is None:
            raise not_found(
                f"No table or view named {name!r} is exposed. GET /api/tables lists them.",
                problem_type="unknown-table",
            )
        self.readable(table)
        return table

    def refusal(self, table: Table) -> str | None:
        """Why the caller may not read `table` (a 403), or None: outside their tables, or
        it reads a table with a row filter that cannot be applied to it."""
        if not self.caller.may_read(table):
            return f"This caller may not read {table.name!r}."
        return self.exposure.row_policies.refusal(table)

    def readable(self, table: Table) -> None:
        """A 403 problem naming why, unless the caller may read `table`."""
        why = self.refusal(table)
        if why is not None:
            raise forbidden(why)

    def context(self) -> RequestContext:
        """What the caller's parameters are read against: a relation to a table they may
        not read is a 403 naming it; the rows of their row policies."""
        policies = self.exposure.row_policies
        scope = policies.scope(self.caller.claims, self.caller.identity)
        return RequestContext(self.schema, self.limits, self.readable, scope)

    def tables(self) -> tuple[Table, ...]:
        """The tables the caller may see."""
        return tuple(t for t in self.schema.tables if self.refusal(t) is None)

    def table_for_column(self, name: str, chosen: str | None) -> Table:
        """The one table the caller may read that has this column (plain tables, then
        full-text tables, then views: the first group that has it); `chosen` picks."""
        if chosen is not None:
            table = self.table(chosen)
            find_column(table, name, "column")
            return table
        having = [t for t in self.schema.tables_with_column(name) if self.refusal(t) is None]
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
