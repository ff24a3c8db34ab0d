"""The red team against a real server process: raw HTTP, health under hostile load, peak memory."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import pytest

from tests.api.test_redteam import (
    HOSTILE_PATTERN,
    MEMORY_HOSTILE,
    PEAK_RSS_BOUND_MIB,
    _peak_rss_mib,
    fetch_quietly,
)
from tests.attacked import FULL_KEY, build_attacked
from tests.servers import fetch, serving


@pytest.mark.slow
def test_long_urls_and_odd_paths_get_problem_answers() -> None:
    from tests.servers import serving

    with serving("--no-access-log") as server:
        status, headers, _ = fetch(f"{server.url}/api/tables/{'a' * 70_000}/rows")
        assert status == 404 and headers["content-type"] == "application/problem+json"
        status, headers, _ = fetch(f"{server.url}/api/tables/%00/rows")
        assert status == 404 and headers["content-type"] == "application/problem+json"
        status, headers, body = fetch(
            f"{server.url}/api/tables/books/rows/1", {"If-None-Match": "*"}
        )
        assert status == 304 and body == b"" and "content-type" not in headers  # no HTML type


@pytest.fixture(scope="module")
def attacked(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return build_attacked(tmp_path_factory.mktemp("redteam"))


@pytest.mark.slow
def test_health_answers_at_once_while_pattern_filters_grind(
    attacked: tuple[Path, Path],
) -> None:
    """One step of a LIKE cannot be interrupted; such filters run on the pool's threads,
    never on the event loop, so probes keep answering while three of them grind until the
    time limit stops them. A real server process: what is timed is sqlapi, not this test
    process (whose garbage collector, after hundreds of tests, can pause it for longer
    than the bound; it is off while probing)."""
    path, _ = attacked
    with serving(str(path), "--time-limit-ms", "1000", "--no-access-log") as server:
        url = f"{server.url}/api/tables/drafts/rows?body__contains={HOSTILE_PATTERN}"
        hostile = [threading.Thread(target=fetch_quietly, args=(url,)) for _ in range(3)]
        probes: list[float] = []
        gc.disable()
        try:
            for thread in hostile:
                thread.start()
            while any(t.is_alive() for t in hostile):
                started = time.monotonic()
                assert fetch(f"{server.url}/healthz", timeout=5)[0] == 200
                probes.append(time.monotonic() - started)
                time.sleep(0.02)
        finally:
            gc.enable()
            for thread in hostile:
                thread.join(timeout=30)
        assert len(probes) >= 20  # the filters ground for at least as long as 20 probes
        assert max(probes) < 0.1, sorted(probes)[-5:]


@pytest.mark.slow
def test_peak_memory_stays_bounded_under_hostile_requests(attacked: tuple[Path, Path]) -> None:
    from tests.servers import serving

    path, config = attacked
    with serving(str(path), "--config", str(config), "--no-access-log") as server:
        auth = {"Authorization": f"Bearer {FULL_KEY}"}
        baseline = _peak_rss_mib(server.process.pid)
        clients = [
            threading.Thread(target=fetch_quietly, args=(server.url + url, auth))
            for url in MEMORY_HOSTILE
            for _ in range(3)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(timeout=60)
        peak = _peak_rss_mib(server.process.pid)
        assert fetch(f"{server.url}/healthz")[0] == 200
    assert peak < PEAK_RSS_BOUND_MIB, (baseline, peak)
