"""Liveness and readiness, for load balancers and orchestrators."""

from __future__ import annotations

from quart import Blueprint, Quart, Response, request
from quart_schema import document_response

from sqlapi import models
from sqlapi.routes import gateway, respond

blueprint = Blueprint("health", __name__)
PROBES = ("/healthz", "/readyz")  # must always reach the process: no 304, no waiting turn


@blueprint.get("/healthz")
@document_response(models.Health)
async def healthz() -> Response:
    """200 while the process is up."""
    return respond({"status": "ok"})


@blueprint.get("/readyz")
@document_response(models.Health)
@document_response(models.Health, 503)
async def readyz() -> Response:
    """200 once the database is open and introspected, 503 before."""
    if gateway().db.ready:
        return respond({"status": "ready"})
    return respond({"status": "starting"}, 503)


def install(app: Quart) -> None:
    @app.before_request
    async def database_available() -> None:
        """Every API request is a 503 problem while the file is gone or unreadable."""
        if request.path.startswith("/api"):
            gateway().db.check_available()
