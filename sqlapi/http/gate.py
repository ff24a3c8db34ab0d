"""The API's gate: one hook before every `/api` request, its steps in this order —
admission (a bounded number worked on at once), availability of the file (no answer,
not even a 304, from a file that is gone), authentication, the caller's access under the
exposure of this moment (taken once and passed on), authorization of the table or
column the path names (a 404 or 403 comes before any conditional answer), and then the
conditional answer (a 304 only ever answers what the caller may read)."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, g

from sqlapi.auth.caller import Caller
from sqlapi.http import caching
from sqlapi.http.admission import Admission
from sqlapi.http.marks import marks
from sqlapi.http.responses import current, header
from sqlapi.model.errors import forbidden
from sqlapi.services import Services


def install(api: Blueprint, services: Services, admission: Admission) -> None:
    conditional = caching.install(api, services)
    marked: dict[str, tuple[bool, bool]] = {}  # endpoint -> (unscoped, untagged)

    @api.before_request
    async def gate() -> Response | None:
        await admission.acquire()
        g.admitted = True
        services.db.check_available()
        req = current()
        if req.method == "OPTIONS":
            return None
        who = await services.authenticator.caller(header(req.headers, "Authorization"))
        endpoint = req.endpoint or ""
        if endpoint not in marked:
            marked[endpoint] = marks(current_app.view_functions.get(endpoint))
        unscoped, untagged = marked[endpoint]
        if unscoped and who.scoped:
            raise forbidden("This endpoint needs a caller that is not limited to some tables.")
        authorize(services, who)
        return None if untagged else conditional(req, who)

    @api.teardown_request
    async def leave(_error: BaseException | None) -> None:
        if g.pop("admitted", False):
            admission.release()


def authorize(services: Services, who: Caller) -> None:
    """The caller's access under the exposure of this moment, for the rest of the request,
    and the table or column its path names (404 if none, 403 if refused)."""
    req = current()
    access = g.access = services.access(who)
    arguments = req.view_args or {}
    if "table_name" in arguments:
        g.table = access.table(arguments["table_name"])
    elif "column_name" in arguments:
        g.table = access.table_for_column(arguments["column_name"], req.args.get("_table"))


def authorize_again(services: Services) -> None:
    """After the schema was read anew mid-request: the same caller, the new exposure."""
    found = g.get("access")
    if found is not None:
        authorize(services, found.caller)
