"""One column: its distinct values with counts, and the values themselves (/api/data)."""

from __future__ import annotations

from quart import Blueprint, Response

from sqlapi.http.marks import documented_apart
from sqlapi.http.responses import access, answered, arguments, here, requested_table
from sqlapi.request.columns import find_column
from sqlapi.request.reserved import DATA, VALUES
from sqlapi.request.rows import parse_rows
from sqlapi.respond.pages import column_data
from sqlapi.respond.summaries import column_values
from sqlapi.services import Services
from sqlapi.sql.rows import values_scope


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("columns", __name__)

    @routes.get("/tables/<table_name>/columns/<column_name>")
    @documented_apart
    async def values(table_name: str, column_name: str) -> Response:
        """Distinct values, most frequent first; the rows filters narrow what is counted."""
        table = requested_table()
        column = find_column(table, column_name, "column")
        scope = values_scope(table, column)
        asked, options = parse_rows(
            table, arguments(), access().context(), accept=VALUES, scope=scope
        )
        return answered(await column_values(services.db, asked, column, scope[0], options, here()))

    @routes.get("/data/<column_name>")
    @documented_apart
    async def data(column_name: str) -> Response:
        """The values of one column

        From the one exposed table that has the column (plain tables before full-text
        tables before views); `_table` chooses when several do. Column filters of that
        table apply too (see its rows path)."""
        table = requested_table()
        column = find_column(table, column_name, "column")
        asked, options = parse_rows(table, arguments(), access().context(), accept=DATA)
        return answered(await column_data(services.db, asked, column, options, here()))

    return routes
