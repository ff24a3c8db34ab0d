"""Prometheus metrics at /metrics: requests by route and status, request latency, query
time and open event streams. With several workers, each writes to a shared directory
(prometheus_client's multiprocess mode) and any of them answers for all."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from quart import Blueprint, Quart, Response, g, request
from quart_schema import hide

from sqlapi.http.admission import Admission

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"  # set by sqlapi.serving for several workers

REQUESTS = Counter("sqlapi_requests_total", "HTTP requests answered", ["route", "method", "status"])
LATENCY = Histogram(
    "sqlapi_request_duration_seconds", "Time to answer a request (to the first byte of streams)",
    ["route"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)  # fmt: skip
QUERY_TIME = Histogram(
    "sqlapi_query_duration_seconds", "Time SQLite spent on one query (or one export batch)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1),
)  # fmt: skip
EVENT_STREAMS = Gauge(
    "sqlapi_event_streams", "Open Server-Sent Event streams", multiprocess_mode="livesum"
)
WAITING = Gauge(
    "sqlapi_requests_waiting", "Requests waiting to be let in (max_active_requests)",
    multiprocess_mode="livesum",
)  # fmt: skip
TASKS = Gauge(
    "sqlapi_asyncio_tasks", "asyncio tasks alive in the worker that answered this scrape",
    multiprocess_mode="liveall",
)  # fmt: skip


def observe_query(seconds: float) -> None:
    QUERY_TIME.observe(seconds)


def blueprint(admission: Admission) -> Blueprint:
    """Outside the API blueprint: no admission, no ETag (counters move all the time)."""
    routes = Blueprint("metrics", __name__)

    @routes.get("/metrics")
    @hide
    async def metrics() -> Response:
        TASKS.set(len(asyncio.all_tasks()))  # a leak of tasks shows as growth between scrapes
        WAITING.set(admission.waiting)
        if os.environ.get(MULTIPROCESS):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            body = generate_latest(registry)
        else:
            body = generate_latest()
        return Response(
            body, content_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"}
        )

    return routes


def install(app: Quart) -> None:
    labelled: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # labels() is not free

    @app.before_request
    async def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    async def count(response: Response) -> Response:
        url_rule = request.url_rule
        rule = url_rule.rule if url_rule is not None else "unmatched"
        if rule != "/metrics":
            key = (rule, request.method, response.status_code)
            children = labelled.get(key)
            if children is None:
                children = labelled[key] = (
                    REQUESTS.labels(rule, key[1], str(key[2])),
                    LATENCY.labels(rule),
                )
            children[0].inc()
            children[1].observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response
