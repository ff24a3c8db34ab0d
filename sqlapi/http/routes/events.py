"""Live updates over Server-Sent Events (respond/events.py): `change` when another
process commits, and for tables with an INTEGER key each new row as `row` with `id:`."""

from __future__ import annotations

from quart import Blueprint, Response

from sqlapi.http.marks import documented_apart, untagged
from sqlapi.http.responses import access, answered, arguments, current, header, requested_table
from sqlapi.http.routes.metrics import EVENT_STREAMS
from sqlapi.request.arguments import parse_int
from sqlapi.request.reserved import EVENTS
from sqlapi.request.rows import parse_rows
from sqlapi.respond.events import Subscription, integer_key, newest_key, stream
from sqlapi.services import Services


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("events", __name__)

    @routes.get("/tables/<table_name>/events")
    @documented_apart
    @untagged
    async def events(table_name: str) -> Response:
        """Live updates of a table (Server-Sent Events)

        `event: change` when another process commits to the file; for tables with an INTEGER
        primary key also `event: row` with `id:` for each new row. Send `Last-Event-ID` (as
        EventSource does on reconnect) to receive the rows after that id. Column filters and
        `_select` narrow the rows."""
        table, who = requested_table(), access()
        base, options = parse_rows(table, arguments(), who.context(), accept=EVENTS)
        key = integer_key(table)
        last_id = header(current().headers, "Last-Event-ID")
        last = parse_int(last_id, "Last-Event-ID") if key is not None and last_id else None
        release = services.subscribers.reserve()  # before anything awaits: the bound is exact
        try:
            if key is not None and last is None:  # from now on: only rows added from here
                last = await newest_key(services.db, base, key)
        except BaseException:
            release()
            raise
        asked = Subscription(
            base, options, key, last, who.caller.expires, services.settings.keepalive_s
        )
        count = EVENT_STREAMS.inc
        return answered(stream(services.db, asked, services.subscribers, release, count))

    return routes
