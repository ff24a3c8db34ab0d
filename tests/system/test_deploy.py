"""Deployment: workers and SIGTERM, metrics, the Dockerfile's own steps, the Kubernetes
manifests, and a real nginx caching in front of sqlapi."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sqlapi.http.routes.assets import ASSETS
from tests.helpers import wait_for, write
from tests.processes import alive, children, command_line, spawn, stop
from tests.servers import COMMAND, fetch, free_port, serving

ROOT = Path(__file__).parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_metrics_count_requests_by_route_and_status() -> None:
    with serving() as server:
        for _ in range(3):
            fetch(f"{server.url}/api/tables/books/rows?_limit=1")
        fetch(f"{server.url}/api/tables/books/rows?_limit=0")
        status, headers, body = fetch(f"{server.url}/metrics")
    text = body.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert (
        'sqlapi_requests_total{method="GET",route="/api/tables/<table_name>/rows",status="200"} 3.0'
        in text
    )
    assert (
        'sqlapi_requests_total{method="GET",route="/api/tables/<table_name>/rows",status="400"} 1.0'
        in text
    )
    assert (
        "sqlapi_request_duration_seconds_bucket" in text
        and "sqlapi_query_duration_seconds_count" in text
    )
    assert "sqlapi_event_streams" in text
    tasks = re.search(r"^sqlapi_asyncio_tasks(?:\{[^}]*\})? ([0-9.]+)$", text, re.MULTILINE)
    assert tasks is not None and float(tasks.group(1)) >= 2  # at least this request, the watcher


SERVERS = pytest.mark.parametrize("server_name", ["hypercorn", "uvicorn"])


@pytest.mark.slow
@SERVERS
def test_workers_share_the_port_and_metrics_and_drain_on_sigterm(
    edge_path: Path, server_name: str
) -> None:
    args = (str(edge_path), "--workers", "2", "--time-limit-ms", "2000", "--server", server_name)
    with serving(*args) as server:
        for _ in range(10):
            assert fetch(f"{server.url}/api/tables/plain/rows")[0] == 200
        metrics = fetch(f"{server.url}/metrics")[2].decode()
        served = re.search(
            r'route="/api/tables/<table_name>/rows",status="200"} ([0-9.]+)', metrics
        )
        assert served is not None and float(served.group(1)) == 10.0  # every worker's requests
        connections, streams = [], []
        for _ in range(4):  # event streams on both workers, most likely
            stream = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            stream.request("GET", "/api/tables/plain/events")
            connections.append(stream)
            streams.append(stream.getresponse())
            assert streams[-1].readline().startswith(b"retry:")
        slow = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        slow.request("GET", "/api/tables/slow/rows")  # runs until the 2 s time limit
        # Time for a worker (another process: no event to wait for) to start the query.
        time.sleep(0.5)
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        answer = slow.getresponse()
        assert answer.status == 400 and json.loads(answer.read())["type"].endswith("time-limit")
        slow.close()
        for stream in streams:
            assert stream.read() == b"\n"  # each stream ends cleanly, at once
        for connection in connections:
            connection.close()
        assert server.process.wait(timeout=30) == 0
        assert time.monotonic() - started < 8  # well inside the 10 s grace period


@pytest.mark.slow
@SERVERS
def test_sigterm_ends_event_streams_cleanly_and_exits_zero(
    tmp_path: Path, server_name: str
) -> None:
    path = tmp_path / "feed.db"
    write(path, "CREATE TABLE feed (id INTEGER PRIMARY KEY, body TEXT)")
    with serving(str(path), "--server", server_name) as server:
        stream = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        stream.request("GET", "/api/tables/feed/events")
        response = stream.getresponse()
        assert response.readline().startswith(b"retry:")
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        assert response.read() == b"\n"  # the rest of the stream, then a clean end of body
        response.close()
        stream.close()
        assert server.process.wait(timeout=30) == 0
        assert time.monotonic() - started < 8  # well inside the 10 s grace period


def answering_workers(url: str, seconds: float = 10) -> set[int]:
    """The pids of the two workers, once each has answered a scrape of /metrics (a new
    connection each time, which the kernel gives to either), within `seconds`."""
    pids: set[int] = set()

    def both() -> bool:
        text = fetch(f"{url}/metrics")[2].decode()
        found = re.findall(r'^sqlapi_asyncio_tasks\{pid="(\d+)"\}', text, re.MULTILINE)
        pids.update(int(pid) for pid in found)
        return len(pids) == 2

    wait_for(both, seconds, what=lambda: f"both workers to answer (seen: {pids})")
    return pids


@pytest.mark.slow
@SERVERS
def test_both_workers_answer_on_the_one_port(edge_path: Path, server_name: str) -> None:
    """New connections reach both workers (the tasks gauge is labelled by the pid that
    answered the scrape)."""
    with serving(str(edge_path), "--workers", "2", "--server", server_name) as server:
        assert len(answering_workers(server.url)) == 2


@pytest.mark.slow
def test_workers_end_when_their_supervisor_is_killed(edge_path: Path) -> None:
    """A supervisor killed outright (SIGKILL, the OOM killer) leaves nothing behind: its
    workers end on their own and the port is free for the next `sqlapi serve`."""
    with serving(str(edge_path), "--workers", "2") as server:
        supervisor = server.process.pid
        answered = answering_workers(server.url)
        started = children(supervisor)  # the workers, and multiprocessing's resource tracker
        workers = {pid for pid in started if "resource_tracker" not in command_line(pid)}
        assert workers == answered  # the supervisor's two children serve the port
        server.process.kill()  # the supervisor only
        server.process.wait(timeout=10)
        wait_for(
            lambda: not [pid for pid in started if alive(pid)],
            10,
            what=lambda: f"the supervisor's children to end: {[p for p in started if alive(p)]}",
        )
        with pytest.raises(ConnectionRefusedError):  # nobody serves the port any more
            socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
        with socket.socket() as sock:  # and it can be bound again, as `sqlapi serve` binds it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", server.port))
            sock.listen()


def dockerfile() -> dict[str, list[str]]:
    instructions: dict[str, list[str]] = {}
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            instructions.setdefault(word, []).append(rest.strip())
    return instructions


def test_dockerfile_lints_clean() -> None:
    result = subprocess.run(
        [str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
def test_dockerfile_install_and_start_steps_work_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    """No Docker engine here: run the image's COPY, pip install, ENTRYPOINT and HEALTHCHECK
    in a new virtualenv, so that a broken step fails CI."""
    steps = dockerfile()
    build = tmp_path / "app"
    build.mkdir()
    for copy in steps["COPY"]:
        *sources, target = copy.split()
        for source in sources:
            destination = (
                build / target / Path(source).name if target.endswith("/") else build / target
            )
            if (ROOT / source).is_dir():
                shutil.copytree(
                    ROOT / source, destination, ignore=shutil.ignore_patterns("__pycache__")
                )
            else:
                shutil.copy(ROOT / source, destination)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for command in steps["RUN"][0].split("&&"):
        words = command.split()
        if words[0] == "pip":
            subprocess.run(
                [str(venv / "bin" / "pip"), *words[1:]], cwd=build, check=True, capture_output=True
            )
    entrypoint = json.loads(steps["ENTRYPOINT"][0]) + json.loads(steps["CMD"][0])
    port = free_port()
    command = [str(venv / "bin" / entrypoint[0]), *entrypoint[1:]]
    command[command.index("--host") + 1] = "127.0.0.1"
    command[command.index("--port") + 1] = str(port)
    log = tmp_path / "stderr.log"
    with log.open("wb") as stderr:
        process = spawn(command, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        healthcheck = json.loads(steps["HEALTHCHECK"][0].split("CMD", 1)[1].strip())
        healthcheck = [
            str(venv / "bin" / healthcheck[0]),
            *[a.replace("8000", str(port)) for a in healthcheck[1:]],
        ]
        wait_for(
            lambda: subprocess.run(healthcheck, capture_output=True).returncode == 0,
            20,
            what=lambda: f"the HEALTHCHECK to pass (the server's stderr: {log.read_text()})",
            every=0.2,
        )
        status, _, body = fetch(f"http://127.0.0.1:{port}/api/tables/genres/rows?_limit=1")
        assert status == 200 and json.loads(body)["rows"] == [{"id": 1, "name": "Fiction"}]
        # The docs' files come from the installed package itself (package-data), not the checkout.
        for name, relative in ASSETS.items():
            status, _, body = fetch(f"http://127.0.0.1:{port}/assets/{name}")
            assert status == 200 and body == (ROOT / "sqlapi/docs_assets" / relative).read_bytes()
        site = next((venv / "lib").glob("python3*/site-packages"))
        assert (site / "sqlapi" / "docs_assets" / "swagger-ui" / "LICENSE").is_file()
        assert not (site / "django").exists(), "Django was installed"
    finally:
        stop(process)


def test_kubernetes_manifests_validate_against_the_schemas() -> None:
    manifests = sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml"))
    assert {m.name for m in manifests} == {"deployment.yaml", "service.yaml", "hpa.yaml"}
    result = subprocess.run(
        [str(BIN / "kubernetes-validate"), "--strict", *map(str, manifests)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    deployment = (ROOT / "deploy" / "kubernetes" / "deployment.yaml").read_text()
    for needle in (
        "path: /readyz",
        "path: /healthz",
        "readOnlyRootFilesystem: true",
        "readOnly: true",
    ):
        assert needle in deployment


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


@pytest.mark.skipif(
    not Path(NGINX).exists() and not os.environ.get("CI"), reason="nginx is not installed"
)
@pytest.mark.slow
def test_nginx_caches_and_revalidates_and_follows_commits(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    write(path, "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)")
    write(path, "INSERT INTO items (name) VALUES ('first')")
    with serving(str(path)) as server:
        proxy_port = free_port()
        site = (ROOT / "deploy" / "nginx" / "sqlapi.conf").read_text()
        site = site.replace("127.0.0.1:8000", f"127.0.0.1:{server.port}").replace(
            "listen 8080", f"listen 127.0.0.1:{proxy_port}"
        )
        site = site.replace("/var/cache/nginx/sqlapi", str(tmp_path / "cache"))
        temp_paths = "".join(
            f"{kind}_temp_path {tmp_path}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the pytest folder
        (tmp_path / "nginx.conf").write_text(
            f"{user}pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
            f"http {{\naccess_log off;\n{temp_paths}{site}\n}}\n"
        )
        conf = str(tmp_path / "nginx.conf")
        nginx = spawn([NGINX, "-p", str(tmp_path), "-c", conf, "-g", "daemon off;"])
        try:
            url = f"http://127.0.0.1:{proxy_port}/api/tables/items/rows"
            first = wait_for(lambda: fetch(url), 5, what="nginx to listen", ignoring=(OSError,))
            assert first[0] == 200 and first[1]["x-cache-status"] == "MISS"
            assert fetch(url)[1]["x-cache-status"] == "HIT"
            # Past proxy_cache_valid (nginx counts whole seconds): nothing to wait for but time.
            time.sleep(2.1)
            again = fetch(url)
            assert again[1]["x-cache-status"] == "REVALIDATED"  # sqlapi answered 304 to nginx
            assert again[2] == first[2]
            write(path, "INSERT INTO items (name) VALUES ('second')")
            wait_for(lambda: b"second" in fetch(url)[2], what="the commit to show through nginx")
            assert [r["name"] for r in json.loads(fetch(url)[2])["rows"]] == ["first", "second"]
        finally:
            stop(nginx)


@pytest.mark.slow
def test_access_log_records_each_request(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    port = free_port()
    with log.open("w") as out:
        process = spawn(
            [*COMMAND, "serve", "--port", str(port)], stdout=out, stderr=subprocess.DEVNULL
        )
    try:
        url = f"http://127.0.0.1:{port}/api/tables/genres/rows?_limit=1"
        wait_for(lambda: fetch(url), what="an answer", ignoring=(OSError,))
    finally:
        stop(process)  # SIGTERM: the log is flushed
    assert '"GET /api/tables/genres/rows 1.1" 200' in log.read_text()  # hypercorn logs the path
