"""Running the app under hypercorn: one process, or N worker processes on shared sockets.

hypercorn's own process runner (`hypercorn.run`) drains workers through a shared event
but gives the app no signal that shutdown began, so open event streams would hold each
worker until the grace period ends, and it SIGTERMs the remaining workers once the first
has exited. This small supervisor keeps hypercorn's pieces (its sockets, its worker
loop) and tells each worker's app when to close its streams.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import shutil
import signal
import tempfile
from multiprocessing.synchronize import Event as ProcessEvent
from typing import Any

from hypercorn.asyncio.run import worker_serve
from hypercorn.config import Config, Sockets
from hypercorn.utils import wrap_app
from quart import Quart

from sqlapi.config import Settings

GRACEFUL_TIMEOUT_S = 10
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def hypercorn_config(settings: Settings, access_log: bool) -> Config:
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = "-" if access_log else None  # hypercorn's access log, on stdout
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    return config


async def _serve(app: Quart, config: Config, stopping: Any, sockets: Sockets | None = None) -> None:
    """Serve until `stopping()` returns; then end event streams and drain."""
    closing = app.extensions["sqlapi"].subscribers.closing

    async def shutdown() -> None:
        await stopping()
        closing.set()  # event streams end cleanly; in-flight requests finish

    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    await worker_serve(wrapped, config, sockets=sockets, shutdown_trigger=shutdown)


def serve_one(app: Quart, config: Config) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await _serve(app, config, stop.wait)

    asyncio.run(run())


def _worker(settings_json: str, access_log: bool, sockets: Sockets, stop: ProcessEvent) -> None:
    from sqlapi.app import create_app  # in the worker: metrics see METRICS_DIR at import

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings.model_validate_json(settings_json)
    app = create_app(settings)

    async def stopping() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.1)

    asyncio.run(_serve(app, hypercorn_config(settings, access_log), stopping, sockets))


def serve_many(settings: Settings, access_log: bool) -> int:
    """N workers sharing the listening sockets; SIGTERM or SIGINT drains them all. The
    exit code is the first non-zero worker exit code, else 0."""
    config = hypercorn_config(settings, access_log)
    sockets = config.create_sockets()
    metrics_dir = tempfile.mkdtemp(prefix="sqlapi-metrics-")
    os.environ[METRICS_DIR] = metrics_dir  # the workers' metrics, added up by any of them
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [
        context.Process(
            target=_worker, args=(settings.model_dump_json(), access_log, sockets, stop)
        )
        for _ in range(settings.workers)
    ]
    for worker in workers:
        worker.start()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        for worker in workers:
            worker.join()
    finally:
        for sock in (*sockets.secure_sockets, *sockets.insecure_sockets):
            sock.close()
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return next((w.exitcode for w in workers if w.exitcode), 0) or 0
