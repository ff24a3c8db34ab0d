"""HTTP endpoints, one module per group; handlers read: parse -> build -> run -> respond.

Every API route lives under one `/api` blueprint (`api_blueprint`), whose gate
(http/gate.py) runs before each of its requests and no other. Probes, metrics,
documentation and the HTML pages live outside it.
"""

from __future__ import annotations

from quart import Blueprint
from quart_cors import cors

from sqlapi.http import gate
from sqlapi.http.admission import Admission
from sqlapi.http.routes import aggregate, columns, discovery, events, queries, rows, sql
from sqlapi.services import Services


def api_blueprint(services: Services, admission: Admission) -> Blueprint:
    api = Blueprint("api", __name__, url_prefix="/api")
    for child in (discovery, rows, columns, aggregate, events, queries, sql):
        api.register_blueprint(child.blueprint(services))
    gate.install(api, services, admission)
    if services.settings.cors_origins:
        cors(
            api,
            allow_origin=list(services.settings.cors_origins),
            allow_methods=["GET", "HEAD", "OPTIONS"],
            allow_headers=["Authorization", "If-None-Match", "Last-Event-ID", "Accept"],
            expose_headers=["ETag", "Link", "Content-Disposition"],
            max_age=600,
        )
    return api
