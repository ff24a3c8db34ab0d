"""Every error answered as a problem (application/problem+json): the ProblemError family
raised anywhere, a request that meets a schema change (answered again once the schema
is read anew), the framework's own 404s and 405s, and anything unexpected (a logged
500, never a traceback)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from quart import Quart, Response, g
from quart.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from sqlapi.http.responses import respond
from sqlapi.model.errors import ProblemError, SchemaChanged

log = logging.getLogger("sqlapi")


def problem_response(error: ProblemError) -> Response:
    response = respond(error.body(), error.status, error.headers)
    response.content_type = "application/problem+json"
    return response


def install(app: Quart, look: Callable[[], Awaitable[None]]) -> None:
    """Answer errors as problems; `look` reads the file's schema anew (after a change)."""

    @app.errorhandler(ProblemError)
    async def on_problem(error: ProblemError) -> Response:
        return problem_response(error)

    @app.errorhandler(SchemaChanged)
    async def on_schema_changed(error: SchemaChanged) -> ResponseReturnValue:
        """A name from the schema vanished from the file: follow the file now, then answer
        this request once more against what it holds (a dropped table is then a 404)."""
        if g.get("replayed"):
            return problem_response(error)
        g.replayed = True
        try:
            await look()  # and the request's access: a table that is gone is then a 404
            return await app.dispatch_request()
        except Exception as again:  # the replay's own answer: a problem, a 404...
            return await app.make_response(await app.handle_user_exception(again))

    @app.errorhandler(HTTPException)
    async def on_http_error(error: HTTPException) -> Response:
        status = error.code or 500
        detail = error.description or ""
        if status == 404:
            detail = "No such endpoint. The API starts at /api."
        problem = ProblemError(status, detail)
        if status == 405 and error.response is None:
            allowed = getattr(error, "valid_methods", None)
            if allowed:
                problem.headers["Allow"] = ", ".join(sorted(allowed))
        return problem_response(problem)

    @app.errorhandler(Exception)
    async def on_unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return problem_response(
            ProblemError(500, "An unexpected error occurred; it has been logged.")
        )
