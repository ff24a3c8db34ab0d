"""Real `sqlapi serve` processes on 127.0.0.1, for end-to-end tests."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.helpers import finish_loop, leased, wait_for
from tests.processes import spawn, stop

SCRIPT = Path(sys.executable).parent / "sqlapi"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "sqlapi"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(
    url: str, headers: dict[str, str] | None = None, timeout: float = 30
) -> tuple[int, dict[str, str], bytes]:
    """(status, lower-cased headers, body) of a GET, whatever the status."""
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as error:
        with error:  # its connection is closed with it
            return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


def _drop_file_capabilities() -> None:
    """In the child, before exec: root without CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH
    obeys permission bits, so a test can make a file unreadable to the server."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


class NotServing(Exception):
    """The server process ended before it was ready."""


def answers_ready(url: str, process: subprocess.Popen[str] | None = None) -> bool:
    """GET url/readyz is 200 (not listening yet, or a 503: False)."""
    if process is not None and process.poll() is not None:
        raise NotServing(f"exit code {process.returncode}")
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except urllib.error.HTTPError as error:
        error.close()
        return False
    except OSError:
        return False


@contextmanager
def serving(
    *args: str, cwd: Path | None = None, obey_permissions: bool = False
) -> Iterator[Server]:
    """`sqlapi serve ARGS --port P`, ready (GET /readyz is 200) before the body runs; then
    stopped, it and its workers (see processes.stop).
    `obey_permissions`: even when the tests run as root, file modes bind the server."""
    port = free_port()
    process = spawn(
        [*COMMAND, "serve", *args, "--port", str(port)],
        cwd=cwd,
        stdout=subprocess.DEVNULL,  # the access log: a pipe nobody reads would fill and block
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_drop_file_capabilities if obey_permissions and os.geteuid() == 0 else None,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            wait_for(lambda: answers_ready(url, process), 30, what=f"GET {url}/readyz is 200")
        except (AssertionError, NotServing) as error:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stderr = process.communicate(timeout=30)[1]
            raise RuntimeError(f"sqlapi serve did not become ready ({error}): {stderr}") from None
        yield Server(process, port)
    finally:
        stop(process)


class InProcess:
    """The app under hypercorn on a thread of this process: real TCP, any Settings, and
    the app's internals (open streams, subscribers) visible to the test."""

    def __init__(self, settings: object) -> None:
        import asyncio
        import threading

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        from sqlapi.app import create_app

        self.app = create_app(settings)  # type: ignore[arg-type]
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = Config()
        config.bind = [f"127.0.0.1:{self.port}"]
        config.accesslog = config.errorlog = None
        config.graceful_timeout = 1
        config.shutdown_timeout = 20  # a shutdown that hangs fails in close(), see there
        self.loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()
        self.failure: BaseException | None = None  # how serving ended, if not cleanly

        async def run() -> None:
            await serve(self.app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]

        self.thread = threading.Thread(target=self._run, args=(run(),), daemon=True)
        self.thread.start()

        def ready() -> bool:
            if not self.thread.is_alive():
                raise RuntimeError("the in-process server ended before it was ready")
            return answers_ready(self.url)

        wait_for(ready, 15, what=f"GET {self.url}/readyz is 200")

    def _run(self, main: Coroutine[Any, Any, None]) -> None:
        """Serve until stopped, then end the loop as asyncio.run would: tasks left pending
        unwind here, on their loop, rather than in the garbage collector's context."""
        try:
            self.loop.run_until_complete(main)
        except BaseException as error:  # close() raises it, in the test that owns the server
            self.failure = error
        finally:
            finish_loop(self.loop)

    @property
    def services(self) -> object:
        return self.app.services

    @property
    def admission(self) -> object:
        return self.app.admission

    def close(self) -> None:
        """Stop serving; fails if the server does not stop within 30 s, or not cleanly."""
        # Let what clients left behind end first: their event streams, and the pool's own
        # tasks that interrupt a query a gone client left running and hand its connection
        # back. (A shutdown meanwhile used to close such a connection twice at once, and
        # aiosqlite waited forever for the second close; `pool.Connection.close` now
        # closes once.) Waiting here keeps shutdown timing out of tests not about it.
        services = self.app.services
        pool = services.db.pool

        def settled() -> bool:
            return not services.subscribers.open and not pool._closing and leased(pool) == 0

        with contextlib.suppress(AssertionError):
            wait_for(settled, 10)
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the in-process server did not stop within 30 s"
        if self.failure is not None:
            raise AssertionError("the in-process server did not shut down cleanly") from (
                self.failure
            )


@contextmanager
def in_process(settings: object) -> Iterator[InProcess]:
    server = InProcess(settings)
    try:
        yield server
    finally:
        server.close()
