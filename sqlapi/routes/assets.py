"""Swagger UI and ReDoc files, served from an installed package: the docs work offline.

The files come from drf-spectacular-sidecar, a maintained PyPI package that ships the
Swagger UI and ReDoc distributions (with their licences). Only its static folder is
read; the package itself (a Django app) is never imported.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

from quart import Blueprint, Response
from quart_schema import hide

from sqlapi.errors import not_found
from sqlapi.openapi import ASSETS

blueprint = Blueprint("assets", __name__)
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _static_root() -> Path:
    spec = importlib.util.find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("drf-spectacular-sidecar is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "drf_spectacular_sidecar"


@cache
def _read(relative: str) -> bytes:
    return (_static_root() / relative).read_bytes()


@blueprint.get("/assets/<name>")
@hide
async def asset(name: str) -> Response:
    relative = ASSETS.get(name)
    if relative is None:
        raise not_found(f"No asset named {name!r}")
    response = Response(_read(relative), content_type=_TYPES[Path(name).suffix])
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response
