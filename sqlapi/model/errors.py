"""One family of errors, answered as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_TYPE_BASE = "urn:sqlapi:problem:"


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
