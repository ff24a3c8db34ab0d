"""One family of errors, answered as RFC 9457 problem details (application/problem+json),
and the one table that says what each SQLite error means for the client."""

from __future__ import annotations

import logging
import sqlite3
from http import HTTPStatus
from typing import Literal

PROBLEM_TYPE_BASE = "urn:sqlapi:problem:"
log = logging.getLogger("sqlapi")


class ProblemError(Exception):
    """Raise anywhere; one handler turns it into a problem response. `problem_type` is the
    last part of the problem's `type` URI (`unknown-column`, `time-limit`, ...)."""

    def __init__(
        self, status: int, detail: str, *, problem_type: str | None = None, **extra: object
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = HTTPStatus(status).phrase
        self.detail = detail
        self.problem_type = problem_type or self.title.lower().replace(" ", "-")
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, object]:
        return {
            "type": PROBLEM_TYPE_BASE + self.problem_type,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def bad_request(detail: str, *, problem_type: str | None = None, **extra: object) -> ProblemError:
    return ProblemError(400, detail, problem_type=problem_type, **extra)


def not_found(detail: str, *, problem_type: str | None = None, **extra: object) -> ProblemError:
    return ProblemError(404, detail, problem_type=problem_type, **extra)


def forbidden(detail: str, *, problem_type: str = "forbidden", **extra: object) -> ProblemError:
    return ProblemError(403, detail, problem_type=problem_type, **extra)


class NotExposed(ProblemError):
    """A client's statement (/api/sql) refused: it writes, or names or reads something that
    is not exposed. One answer for all, never naming what: a hidden column, a denied table
    and one the file does not have are indistinguishable."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "SQLite refused the statement: /api/sql only reads, and only the tables and "
            "columns the API exposes (a name that is hidden, denied or absent is refused "
            "alike).",
            problem_type="not-authorized",
        )


class QueryTimeout(ProblemError):
    def __init__(self, limit_ms: int) -> None:
        super().__init__(
            400,
            f"The query took longer than the time limit of {limit_ms} ms and was interrupted. "
            "Narrow it with filters, a smaller _limit, or an indexed _sort.",
            problem_type="time-limit",
            time_limit_ms=limit_ms,
        )


class ResponseTooLarge(ProblemError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            400,
            f"The answer would take more than {limit} bytes. Ask for fewer rows (_limit) "
            "or columns (_select), or stream it (_format=ndjson).",
            problem_type="response-too-large",
            max_response_bytes=limit,
        )


class Unavailable(ProblemError):
    """Try again soon: the database is busy, missing or unreadable, or a bound is reached."""

    def __init__(
        self, detail: str, *, problem_type: str = "unavailable", retry: bool = True
    ) -> None:
        super().__init__(503, detail, problem_type=problem_type)
        if retry:
            self.headers["Retry-After"] = "1"


class SchemaChanged(Unavailable):
    """A table or column of the introspected schema is gone from the file: the request is
    answered again once the schema has been read anew."""

    def __init__(self) -> None:
        super().__init__(
            "The database's schema changed while answering; try again.",
            problem_type="schema-changed",
        )


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
