"""Swagger UI and ReDoc files, shipped inside sqlapi: the docs work offline.

The files live in sqlapi/docs_assets/ (a data folder of the package), copied from npm's
swagger-ui-dist and redoc with their licences by scripts/refresh_docs_assets.py;
VERSIONS.txt there names the versions and the tarballs' integrity.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files
from pathlib import PurePosixPath

from quart import Blueprint, Response
from quart_schema import hide

from sqlapi.model.errors import not_found

# /assets/<name> -> its file under sqlapi/docs_assets/ (written by scripts/refresh_docs_assets.py).
ASSETS = {
    "swagger-ui-bundle.js": "swagger-ui/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui/swagger-ui.css",
    "swagger-ui-standalone-preset.js": "swagger-ui/swagger-ui-standalone-preset.js",
    "favicon-32x32.png": "swagger-ui/favicon-32x32.png",
    "redoc.standalone.js": "redoc/redoc.standalone.js",
}
blueprint = Blueprint("assets", __name__)
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


@cache
def _read(relative: str) -> bytes:
    resource = files("sqlapi") / "docs_assets"
    for part in PurePosixPath(relative).parts:
        resource = resource / part
    return resource.read_bytes()


@blueprint.get("/assets/<name>")
@hide
async def asset(name: str) -> Response:
    relative = ASSETS.get(name)
    if relative is None:
        raise not_found(f"No asset named {name!r}")
    response = Response(_read(relative), content_type=_TYPES[PurePosixPath(name).suffix])
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Vary"] = "Accept-Encoding"  # compressed for those who accept it
    return response
