"""Every typed request the parsers make and the statement builders read: rows, filters
and their groups, relations, aggregates, and what they are read against (the caller's
scope, the bounds). Pure data: every name in them came from the schema."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from sqlapi.model.cursors import Cursor
from sqlapi.model.schema import Column, Schema, Table
from sqlapi.model.values import Value
from sqlapi.request.operators import Operator

Readable = Callable[[Table], None]  # raises a 403 problem when the caller may not read it


@dataclass(frozen=True)
class RequestLimits:
    """What one request may ask: page sizes, how many filters, how long a pattern."""

    default_limit: int = 100
    max_limit: int = 1000
    max_filters: int = 100
    max_pattern_length: int = 256
    max_pattern_steps: int = 2**24  # a pattern filter scans values up to this / its length


@dataclass(frozen=True)
class SortKey:
    column: Column
    descending: bool = False


@dataclass(frozen=True)
class Filter:
    """`column op value`; with a `path`, on the value at that path of the column's JSON
    text (text that is not valid JSON matches no path filter)."""

    column: Column
    op: Operator
    value: Value | tuple[Value, ...] | bool
    # A pattern filter looks only at values of at most this many bytes (None: any): one
    # LIKE or GLOB step costs the value's length times the pattern's, and nothing can
    # interrupt a step. A plain prefix (`startswith`, `abc*`) costs the prefix only.
    scan_limit: int | None = None
    path: tuple[str | int, ...] | None = None


@dataclass(frozen=True)
class RelatedFilter:
    """Rows whose `local` key refers to a row of `target` (by its `remote` columns) that
    meets `condition`."""

    local: tuple[Column, ...]
    target: Table
    remote: tuple[Column, ...]
    condition: Condition


@dataclass(frozen=True)
class BoolGroup:
    """Its members all hold (`and`; with none, every row) or one does (`or`; none: no
    row)."""

    kind: Literal["and", "or"]
    members: tuple[Condition, ...]


@dataclass(frozen=True)
class Indexed:
    """A full-text index's rows whose content row meets `condition` (a row policy of the
    content table): the row of `content` whose `key` column holds the index's rowid."""

    content: Table
    key: str
    condition: Condition


Condition = Filter | RelatedFilter | BoolGroup | Indexed
NO_ROW: Condition = BoolGroup("or", ())


@dataclass(frozen=True)
class Scope:
    """The rows a caller may read: per table with a row policy, a condition over its own
    columns. Every FROM and JOIN of a built statement names its table through it
    (`sql.conditions.source`), so no statement reads such a table without its condition:
    pages, counts, values, aggregates, relations and the tables behind related filters."""

    conditions: Mapping[str, Condition] = field(default_factory=dict)  # folded table name ->


EVERY_ROW = Scope()  # no row policies: for statements no caller shapes (probes, startup)


def _anything(_: Table) -> None:
    """Every table may be read (no keys configured)."""


@dataclass(frozen=True)
class RequestContext:
    """What a request's parameters are read against beyond their table: the schema (keys
    lead to other tables), the bounds, and what the caller may read (raises a 403)."""

    schema: Schema
    limits: RequestLimits
    readable: Readable = _anything
    scope: Scope = EVERY_ROW  # the rows the caller may read (row policies)


@dataclass(frozen=True)
class Options:
    """How to answer, as opposed to what to fetch."""

    count: bool = False
    shape: str = "objects"
    format: str | None = None
    ints_as_strings: bool = False
    limit_given: bool = False  # exports stream every row unless _limit is given
    json_columns: tuple[Column, ...] = ()  # whose text is sent parsed (`_json`)


@dataclass(frozen=True)
class Link:
    """From `table`, its key `local` to the row of `target` whose `remote` columns hold the
    same values. `name` is the member the related row (or rows) go under."""

    name: str
    table: Table
    target: Table
    local: tuple[Column, ...]
    remote: tuple[Column, ...]
    select: tuple[Column, ...]  # the target's columns to send


@dataclass(frozen=True)
class Embedding:
    """The rows of `link.target` (the child) that refer to each row: at most `limit`, in
    the child's key order. In `link`, `local` are this table's referenced columns and
    `remote` the child's key columns onto them."""

    link: Link
    limit: int


@dataclass(frozen=True)
class RowsRequest:
    """A validated rows request: every name in it came from the schema."""

    table: Table
    select: tuple[Column, ...]
    scope: Scope  # the rows the caller may read, of this table and of related ones
    filters: tuple[Condition, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int | None = 100  # None: every matching row (exports)
    after: Cursor | None = None
    offset: int = 0
    search: str | None = None
    expand: tuple[Link, ...] = ()  # referenced rows to send with each row
    embed: tuple[Embedding, ...] = ()  # rows that refer to each row, to send with it


Bucket = Literal["year", "month", "day", "hour"]
Function = Literal["count", "count_distinct", "sum", "avg", "min", "max"]
BUCKETS: tuple[Bucket, ...] = ("year", "month", "day", "hour")
FUNCTIONS: tuple[Function, ...] = ("count", "count_distinct", "sum", "avg", "min", "max")


@dataclass(frozen=True)
class GroupKey:
    column: Column
    bucket: Bucket | None = None

    @property
    def name(self) -> str:
        return self.column.name if self.bucket is None else f"{self.bucket}_{self.column.name}"


@dataclass(frozen=True)
class Aggregate:
    function: Function
    column: Column | None = None  # None: count(*)

    @property
    def name(self) -> str:
        return self.function if self.column is None else f"{self.function}_{self.column.name}"


@dataclass(frozen=True)
class Order:
    term: GroupKey | Aggregate
    descending: bool = False


@dataclass(frozen=True)
class AggregateRequest:
    rows: RowsRequest  # the table, its filters and search (the rows grouped)
    keys: tuple[GroupKey, ...]
    outputs: tuple[Aggregate, ...]
    order: tuple[Order, ...]  # the requested sort, then every key: a total order
    limit: int | None
    after: Cursor | None = None

    @property
    def terms(self) -> list[GroupKey | Aggregate]:
        """The group keys, then the outputs: the columns of an answer's rows."""
        return [*self.keys, *self.outputs]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.terms]

    @property
    def scope(self) -> str:
        """What a cursor is bound to: this table, grouping, outputs and order."""
        parts = [self.rows.table.name, *self.names]
        parts += [("-" if o.descending else "") + o.term.name for o in self.order]
        return "\x1faggregate\x1f" + "\x1f".join(parts)


@dataclass(frozen=True)
class StatementPage:
    """How to page and shape the rows of a named query or a client's SQL."""

    limit: int
    after: str | None
    shape: str
    ints_as_strings: bool
