"""The OpenAPI document (quart-schema, with a provider that knows the database) and the
offline documentation pages, Swagger UI and ReDoc."""

from __future__ import annotations

import asyncio
from typing import Any

from quart import Quart
from quart_schema.openapi import Info

from sqlapi import __version__
from sqlapi.gateway import Gateway
from sqlapi.openapi.extension import SqlapiSchema

# /assets/<name> -> its file under sqlapi/docs_assets/ (written by scripts/refresh_docs_assets.py).
ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui/swagger-ui.css",
    "swagger-ui-standalone-preset.js": "swagger-ui/swagger-ui-standalone-preset.js",
    "favicon-32x32.png": "swagger-ui/favicon-32x32.png",
    "redoc.standalone.js": "redoc/redoc.standalone.js",
}


def install(app: Quart, gateway: Gateway) -> SqlapiSchema:
    """Document the app; Swagger UI and ReDoc load their files from /assets, never a CDN."""
    database_name = gateway.settings.database.name
    info = Info(
        title=f"sqlapi: {database_name}",
        version=__version__,
        description="A read-only JSON API over the SQLite database "
        f"`{database_name}`. Every table and view has its own typed paths.",
    )
    extension = SqlapiSchema(gateway, app, info=info, scalar_ui_path=None)

    building: list[asyncio.Future[Any]] = []

    @app.before_serving
    async def build_document() -> None:
        """Start building the document in the background, so /docs opens at once (the
        reference keeps the task from being collected)."""
        building.append(asyncio.ensure_future(extension.openapi_provider.built()))

    return extension
