"""Aggregates of a table for charts: totals per group and per date bucket, filtered like
rows, sorted and paged over groups, cached per database version (request.aggregates)."""

from __future__ import annotations

from quart import Blueprint, Response

from sqlapi.http.marks import documented_apart
from sqlapi.http.responses import access, answered, arguments, here, negotiate, requested_table
from sqlapi.request.aggregates import parse_aggregate
from sqlapi.respond.summaries import aggregate_export, aggregate_page
from sqlapi.services import Services


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("aggregate", __name__)

    @routes.get("/tables/<table_name>/aggregate")
    @documented_apart
    async def aggregate(table_name: str) -> Response:
        fmt = negotiate()
        asked, _, ints = parse_aggregate(
            requested_table(), arguments(), access().context(), streaming=fmt.streams
        )
        if fmt.streams:
            return answered(await aggregate_export(services.db, asked, ints, fmt))
        return answered(await aggregate_page(services.db, asked, ints, here()))

    return routes
