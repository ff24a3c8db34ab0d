"""A small HTML face: `/` lists the tables, a table's page shows its rows and appends
new ones live. Everything it loads comes from sqlapi itself."""

from __future__ import annotations

from quart import Blueprint, render_template
from quart_schema import hide

from sqlapi.keys import path_segment
from sqlapi.routes import gateway

blueprint = Blueprint("pages", __name__)
PAGE_CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'"


def _page_url(name: str) -> str:
    return "/tables/" + path_segment(name)


@blueprint.get("/")
@hide
async def index() -> tuple[str, int, dict[str, str]]:
    g = gateway()
    tables = [
        {
            **t.summary(),
            "page": _page_url(t.name),
            "rows_url": f"/api/tables/{path_segment(t.name)}/rows",
        }
        for t in g.schema.tables
    ]
    html = await render_template("index.html", database=g.settings.database.name, tables=tables)
    return html, 200, {"Content-Security-Policy": PAGE_CSP}


@blueprint.get("/tables/<table_name>")
@hide
async def table(table_name: str) -> tuple[str, int, dict[str, str]]:
    g = gateway()
    found = g.table(table_name)
    api = f"/api/tables/{path_segment(found.name)}"
    html = await render_template(
        "table.html",
        database=g.settings.database.name,
        table=found,
        columns=found.column_names,
        rows_url=f"{api}/rows?_limit=100",
        events_url=f"{api}/events",
    )
    return html, 200, {"Content-Security-Policy": PAGE_CSP}
