"""HTTP as a real server speaks it: CORS, keep-alive, SIGTERM."""

from __future__ import annotations

import http.client
import signal
import time
import urllib.request

import pytest

from tests.servers import serving


@pytest.mark.slow
def test_cors_preflight_and_exposed_headers_for_allowed_origins_only() -> None:
    with serving("--cors", "https://app.example", "--cors", "https://other.example") as server:
        preflight = urllib.request.Request(
            f"{server.url}/api/tables/books/rows", method="OPTIONS",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "if-none-match"},
        )  # fmt: skip
        with urllib.request.urlopen(preflight) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
            assert "GET" in response.headers["Access-Control-Allow-Methods"]
        allowed = urllib.request.Request(f"{server.url}/api/tables/books/rows?_limit=1",
                                         headers={"Origin": "https://other.example"})  # fmt: skip
        with urllib.request.urlopen(allowed) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "https://other.example"
            exposed = {
                h.strip().lower()
                for h in response.headers["Access-Control-Expose-Headers"].split(",")
            }
            assert {"etag", "link"} <= exposed
            vary = {h.strip().lower() for h in response.headers["Vary"].split(",")}
            assert {"origin", "accept"} <= vary  # a shared cache keys on both
        foreign = urllib.request.Request(f"{server.url}/api/tables/books/rows?_limit=1",
                                         headers={"Origin": "https://evil.example"})  # fmt: skip
        with urllib.request.urlopen(foreign) as response:
            assert response.headers["Access-Control-Allow-Origin"] is None


@pytest.mark.slow
def test_cors_wildcard() -> None:
    with serving("--cors", "*") as server:
        request = urllib.request.Request(
            f"{server.url}/api", headers={"Origin": "https://any.example"}
        )
        with urllib.request.urlopen(request) as response:
            assert response.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.slow
def test_a_keep_alive_connection_is_reused_and_closed_only_after_five_idle_seconds() -> None:
    with serving("--no-access-log") as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)

        def get() -> None:
            connection.request("GET", "/api/tables/books/rows/1")
            response = connection.getresponse()
            assert response.status == 200 and b'"id":1' in response.read()

        get()
        sock = connection.sock
        for pause in (0, 0, 3, 3):  # idle 6 s in all, never 5 s at a stretch
            time.sleep(pause)
            get()
            assert connection.sock is sock  # the same TCP connection, not a new one
        sock.settimeout(30)
        idle_from = time.monotonic()
        assert sock.recv(1) == b""  # the server closes it...
        assert 4.5 < time.monotonic() - idle_from < 7  # ...after hypercorn's 5 s keep-alive
        connection.close()


@pytest.mark.slow
def test_sigterm_closes_idle_keep_alive_connections_at_once_and_exits_zero() -> None:
    with serving("--no-access-log") as server:
        idle = []
        for _ in range(8):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            connection.request("GET", "/api")
            assert connection.getresponse().read()
            idle.append(connection)
        signalled = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0
        assert time.monotonic() - signalled < 3  # not the 10 s grace period, nor 5 s idle
        for connection in idle:
            assert connection.sock is not None
            connection.sock.settimeout(5)
            assert connection.sock.recv(1) == b""
            connection.close()
