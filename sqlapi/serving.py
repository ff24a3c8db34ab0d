"""Running the app: under hypercorn (the default) or uvicorn (`sqlapi[uvicorn]`), in one
process or in N worker processes, on uvloop where it is installed.

Several workers each bind their own listening socket with SO_REUSEPORT, so the kernel
spreads connections across them (one shared socket lets whichever worker wakes first
accept a whole burst of connections). A small supervisor, rather than either server's
own process runner, tells each worker when to stop: both runners give the app no sign
that shutdown began, so open event streams would hold every worker for the whole grace
period (and uvicorn re-raises SIGTERM after draining, so the exit code is not 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from multiprocessing.synchronize import Event as ProcessEvent
from typing import TYPE_CHECKING, Any

from quart import Quart

from sqlapi.config import Settings

if TYPE_CHECKING:
    from sqlapi.app import App

GRACEFUL_TIMEOUT_S = 10
# The request line and headers hypercorn reads before it answers an (empty) 431 itself:
# up to this, even a URL too long to make sense reaches sqlapi and gets a problem answer.
MAX_REQUEST_HEAD = 96 * 1024
METRICS_DIR = "PROMETHEUS_MULTIPROC_DIR"
Stopping = Callable[[], Awaitable[None]]


def missing_server(name: str) -> str | None:
    """Why `name` cannot serve here, or None."""
    if name == "uvicorn" and importlib.util.find_spec("uvicorn") is None:
        return "--server uvicorn needs the uvicorn extra: pip install 'sqlapi[uvicorn]'"
    return None


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop where it is installed (a faster event loop), else asyncio's."""
    factory = None
    if importlib.util.find_spec("uvloop") is not None:
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(main)


def _listening_socket(settings: Settings) -> socket.socket:
    """This worker's own socket on the shared port (SO_REUSEPORT)."""
    family, kind, proto, _, address = socket.getaddrinfo(
        settings.host, settings.port, type=socket.SOCK_STREAM
    )[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(address)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


async def _hypercorn(app: Quart, settings: Settings, access_log: bool, stopping: Stopping) -> None:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.accesslog = "-" if access_log else None  # on stdout
    config.graceful_timeout = GRACEFUL_TIMEOUT_S
    config.backlog = 2048
    config.h11_max_incomplete_size = MAX_REQUEST_HEAD
    if settings.workers > 1:
        sock = _listening_socket(settings)  # kept open (and referenced) while serving
        config.bind = [f"fd://{sock.fileno()}"]
    else:
        config.bind = [f"{settings.host}:{settings.port}"]
    await serve(app, config, shutdown_trigger=stopping)


async def _uvicorn(app: Quart, settings: Settings, access_log: bool, stopping: Stopping) -> None:
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            yield  # the signals are sqlapi's (see `stopping`)

    fast = importlib.util.find_spec("httptools") is not None
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http="httptools" if fast else "h11",
        lifespan="on",
        access_log=access_log,
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_TIMEOUT_S,
        backlog=2048,
    )
    if access_log:
        logging.getLogger("uvicorn.access").setLevel(logging.INFO)
    server = Server(config)

    async def stop_when_told() -> None:
        await stopping()
        server.should_exit = True

    stopper = asyncio.ensure_future(stop_when_told())
    try:
        sockets = [_listening_socket(settings)] if settings.workers > 1 else None
        await server.serve(sockets=sockets)
    finally:
        stopper.cancel()


async def _serve(app: App, settings: Settings, access_log: bool, stopping: Stopping) -> None:
    """Serve until `stopping()` returns; then end event streams and drain."""
    closing = app.services.subscribers.closing

    async def shutdown() -> None:
        await stopping()
        closing.set()  # event streams end cleanly; in-flight requests finish

    serve = _uvicorn if settings.server == "uvicorn" else _hypercorn
    await serve(app, settings, access_log, shutdown)


def serve_one(app: App, settings: Settings, access_log: bool) -> None:
    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)

        async def stopping() -> None:
            await stop.wait()

        await _serve(app, settings, access_log, stopping)

    run_loop(run())


def _worker(settings_json: str, access_log: bool, stop: ProcessEvent, parent: int) -> None:
    from sqlapi.app import create_app  # in the worker: metrics see METRICS_DIR at import

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the supervisor decides
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    settings = Settings.model_validate_json(settings_json)
    app = create_app(settings)

    async def stopping() -> None:
        """Until told to stop, or until the supervisor is gone (killed with SIGKILL, by
        the OOM killer...): an orphaned worker would keep the port."""
        while not stop.is_set() and os.getppid() == parent:
            await asyncio.sleep(0.1)

    run_loop(_serve(app, settings, access_log, stopping))


def serve_many(settings: Settings, access_log: bool) -> int:
    """N workers on one port; SIGTERM or SIGINT drains them all. The exit code is the
    first non-zero worker exit code, else 0."""
    metrics_dir = tempfile.mkdtemp(prefix="sqlapi-metrics-")
    os.environ[METRICS_DIR] = metrics_dir  # the workers' metrics, added up by any of them
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers = [
        context.Process(
            target=_worker, args=(settings.model_dump_json(), access_log, stop, os.getpid())
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
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return next((w.exitcode for w in workers if w.exitcode), 0) or 0
