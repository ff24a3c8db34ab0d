"""The one table that says what each SQLite error means for the client: a mistake in the
request is a 400, a refusal a 403, the file busy or unreadable a 503."""

from __future__ import annotations

import logging
import sqlite3
from typing import Literal

from sqlapi.model.errors import (
    NotExposed,
    ProblemError,
    QueryTimeout,
    SchemaChanged,
    Unavailable,
    bad_request,
)

log = logging.getLogger("sqlapi")

# Where a statement came from decides what an error in it means:
# "built"     - by sqlapi's query builder from the request (names from the schema);
# "trusted"   - a named query from the configuration;
# "untrusted" - a client's own SQL (/api/sql).
Origin = Literal["built", "trusted", "untrusted"]


_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


_DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


_UNREADABLE = frozenset(
    {
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_PROTOCOL,
        sqlite3.SQLITE_NOLFS,
    }
)


_REFUSED = ("not authorized", "authorization denied", "prohibited")


# Errors of name resolution: in a client's statement they would tell a name the file has
# but the API hides from one it does not have.
_NAMING = ("ambiguous column name", "not present in both tables", "no such index")


_TOO_LARGE = ("too big", "too large", "too many", "too complex", "too long", "maximum depth")


def result_code(error: BaseException) -> int:
    """SQLite's primary result code of an error (the extended code's low byte), 0 if none."""
    return int(getattr(error, "sqlite_errorcode", 0) or 0) & 0xFF


def is_busy(error: BaseException) -> bool:
    return result_code(error) in _BUSY


def is_undecodable(error: BaseException) -> bool:
    """Python could not decode a TEXT value SQLite returned (not UTF-8): the step itself
    succeeded."""
    return isinstance(error, sqlite3.OperationalError) and "decode" in str(error)


def problem_from_sqlite(error: BaseException, origin: Origin, time_limit_ms: int) -> ProblemError:
    """What an error from running a statement means for the client, by SQLite's result code:
    a mistake in the request is a 400 (never a retry), a refusal a 403, the file busy or
    unreadable a 503. Only errors of the database itself ask the client to try again."""
    code, message = result_code(error), str(error)
    if isinstance(error, MemoryError):
        return bad_request(
            "SQLite ran out of memory for this request: ask for less (fewer rows or columns, "
            "or a table instead of a view nested this deep)",
            problem_type="too-large",
        )
    if code == sqlite3.SQLITE_INTERRUPT or message == "interrupted":
        return QueryTimeout(time_limit_ms)
    if code in _BUSY:
        return Unavailable(f"The database is busy: {message}. Try again.")
    if code in _DAMAGED:
        return Unavailable(
            f"The database file is damaged in the pages this request reads ({message}); "
            "other tables may still answer.",
            problem_type="database-corrupt",
            retry=False,
        )
    refused = code == sqlite3.SQLITE_AUTH or any(m in message for m in _REFUSED)
    absent = message.startswith(("no such table", "no such column"))
    if refused or (origin == "untrusted" and (absent or any(m in message for m in _NAMING))):
        return NotExposed()  # SQLite's own message would name the hidden column
    if code in _UNREADABLE:
        return Unavailable(f"The database could not be read: {message}")
    if absent:
        return SchemaChanged()  # names from the introspected schema are gone from the file
    if code == sqlite3.SQLITE_SCHEMA:
        return SchemaChanged()
    if code == sqlite3.SQLITE_TOOBIG or any(m in message for m in _TOO_LARGE):
        return bad_request(
            f"The request asks more than SQLite's limits allow: {message}",
            problem_type="too-large",
        )
    if origin == "built":
        log.warning("SQLite refused a built statement: %s", message)  # a bug shows in the log
        return bad_request(f"SQLite cannot answer this request: {message}")
    return bad_request(f"SQLite cannot run this statement: {message}", problem_type="bad-sql")
