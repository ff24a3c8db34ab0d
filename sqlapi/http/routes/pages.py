"""A small HTML face: `/` lists the tables, a table's page shows its rows and appends
new ones live. Everything it loads comes from sqlapi itself; the pages are shells (public
like the documentation), their data comes from /api under its rules."""

from __future__ import annotations

from quart import Blueprint, render_template
from quart_schema import hide

from sqlapi.auth.caller import ANYONE
from sqlapi.model.names import path_segment
from sqlapi.respond import models
from sqlapi.services import Services

PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"
Page = tuple[str, int, dict[str, str]]


def _page_url(name: str) -> str:
    return "/tables/" + path_segment(name)


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("pages", __name__)

    @routes.get("/")
    @hide
    async def index() -> Page:
        tables = [
            {
                **models.table_summary(
                    t,
                    f"/api/tables/{path_segment(t.name)}",
                    f"/api/tables/{path_segment(t.name)}/rows",
                ),
                "page": _page_url(t.name),
            }
            for t in services.schema.tables
        ]
        html = await render_template(
            "index.html", database=services.settings.database.name, tables=tables
        )
        return html, 200, {"Content-Security-Policy": PAGE_CSP, "Vary": "Accept-Encoding"}

    @routes.get("/tables/<table_name>")
    @hide
    async def table(table_name: str) -> Page:
        found = services.access(ANYONE).table(table_name)
        api = f"/api/tables/{path_segment(found.name)}"
        html = await render_template(
            "table.html",
            database=services.settings.database.name,
            table=found,
            columns=found.column_names,
            rows_url=f"{api}/rows?_limit=100",
            events_url=f"{api}/events",
        )
        return html, 200, {"Content-Security-Policy": PAGE_CSP, "Vary": "Accept-Encoding"}

    return routes
