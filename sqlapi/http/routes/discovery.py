"""What is exposed: the database, its tables and views, one table in detail."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response

from sqlapi.http.responses import access, answered, requested_table, respond
from sqlapi.respond import models
from sqlapi.respond.discovery import database_index, table_detail, table_list
from sqlapi.services import Services


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("discovery", __name__)

    @routes.get("")
    @document_response(models.ApiIndex)
    async def database() -> Response:
        who = access()
        return respond(database_index(services.settings.database.name, who.schema, who.tables()))

    @routes.get("/tables")
    @document_response(models.TableList)
    async def tables() -> Response:
        return respond(table_list(access().tables()))

    @routes.get("/tables/<table_name>")
    @document_response(models.TableDetail)
    async def table(table_name: str) -> Response:
        """One table or view in detail

        Columns, keys, indexes, full-text index and the exact row count."""
        return answered(await table_detail(services.db, requested_table(), access().context()))

    return routes
