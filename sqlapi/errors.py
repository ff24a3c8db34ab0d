"""One family of errors, answered as RFC 9457 problem details (application/problem+json)."""

from __future__ import annotations

from http import HTTPStatus

PROBLEM_TYPE_BASE = "urn:sqlapi:problem:"


class ProblemError(Exception):
    """Raise anywhere; one handler turns it into a problem response."""

    def __init__(
        self, status: int, detail: str, *, kind: str | None = None, **extra: object
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = HTTPStatus(status).phrase
        self.detail = detail
        self.kind = kind or self.title.lower().replace(" ", "-")
        self.extra = extra
        self.headers: dict[str, str] = {}

    def body(self) -> dict[str, object]:
        return {
            "type": PROBLEM_TYPE_BASE + self.kind,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            **self.extra,
        }


def bad_request(detail: str, *, kind: str | None = None, **extra: object) -> ProblemError:
    return ProblemError(400, detail, kind=kind, **extra)


def not_found(detail: str, *, kind: str | None = None, **extra: object) -> ProblemError:
    return ProblemError(404, detail, kind=kind, **extra)


class QueryTimeout(ProblemError):
    def __init__(self, limit_ms: int) -> None:
        super().__init__(
            400,
            f"The query took longer than the time limit of {limit_ms} ms and was interrupted. "
            "Narrow it with filters, a smaller _limit, or an indexed _sort.",
            kind="time-limit",
            time_limit_ms=limit_ms,
        )


class Unavailable(ProblemError):
    """Try again soon: the database is busy, missing or unreadable, or a bound is reached."""

    def __init__(self, detail: str, *, kind: str = "unavailable", retry: bool = True) -> None:
        super().__init__(503, detail, kind=kind)
        if retry:
            self.headers["Retry-After"] = "1"


class SchemaChanged(Unavailable):
    """A table or column of the introspected schema is gone from the file: the request is
    answered again once the schema has been read anew."""

    def __init__(self) -> None:
        super().__init__(
            "The database's schema changed while answering; try again.", kind="schema-changed"
        )
