"""The OpenAPI document (quart-schema, with a provider that knows the database) and the
offline documentation pages, Swagger UI and ReDoc."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart
from quart_schema.openapi import Info

from sqlapi import __version__
from sqlapi.openapi.extension import SqlapiSchema
from sqlapi.services import Services


def install(app: Quart, services: Services) -> SqlapiSchema:
    """Document the app; Swagger UI and ReDoc load their files from /assets, never a CDN."""
    database_name = services.settings.database.name
    info = Info(
        title=f"sqlapi: {database_name}",
        version=__version__,
        description="A read-only JSON API over the SQLite database "
        f"`{database_name}`. Every table and view has its own typed paths.",
    )
    extension = SqlapiSchema(services, app, info=info, scalar_ui_path=None)

    building: list[asyncio.Future[Any]] = []

    @app.before_serving
    async def build_document() -> None:
        """Start building the document in the background, so /docs opens at once (the
        reference keeps the task from being collected)."""
        building.append(asyncio.ensure_future(extension.openapi_provider.built()))

    return extension
