"""Liveness and readiness, for load balancers and orchestrators: outside the API
blueprint, so they never wait for admission nor carry an ETag."""

from __future__ import annotations

from quart import Blueprint, Response
from quart_schema import document_response

from sqlapi.http.responses import respond
from sqlapi.respond import models
from sqlapi.services import Services


def blueprint(services: Services) -> Blueprint:
    routes = Blueprint("health", __name__)

    @routes.get("/healthz")
    @document_response(models.Health)
    async def healthz() -> Response:
        """200 while the process is up."""
        return respond({"status": "ok"})

    @routes.get("/readyz")
    @document_response(models.Health)
    @document_response(models.Health, 503)
    async def readyz() -> Response:
        """200 once the database is open and introspected, 503 before."""
        if services.db.ready:
            return respond({"status": "ready"})
        return respond({"status": "starting"}, 503)

    return routes
