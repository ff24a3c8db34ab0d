from __future__ import annotations

import contextlib
import hashlib
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from sqlapi.config import Settings, sample_database
from tests import processes
from tests.fixtures import LiveApp, build_edge_db
from tests.helpers import wait_for

# How hard the property tests look: `ci` (the default, and .ci/run), `dev` for a quick
# inner loop, `thorough` before a release (HYPOTHESIS_PROFILE=thorough pytest ...).
hypothesis_settings.register_profile("ci", max_examples=60, deadline=None)
hypothesis_settings.register_profile("dev", max_examples=12, deadline=None)
hypothesis_settings.register_profile("thorough", max_examples=600, deadline=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

CHINOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinook.sqlite"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Fails the run if a process it started outlives it (a server's worker, a proxy...):
    set up before, and so torn down after, every other fixture of the session."""
    before = processes.snapshot()
    yield
    try:  # one that was just told to stop may still be on its way out
        wait_for(lambda: not processes.left_behind(before), 3)
    except AssertionError:
        leftovers = processes.left_behind(before)
        described = [f"{p.pid} ({processes.command_line(p.pid)})" for p in leftovers]
        for leftover in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover.pid, signal.SIGKILL)
        pytest.fail("processes started by the tests are still running: " + "; ".join(described))


@pytest.fixture(autouse=True)
def _slow_tests_only_start_processes(request: pytest.FixtureRequest) -> Iterator[None]:
    processes.running_a_slow_test = request.node.get_closest_marker("slow") is not None
    yield
    processes.running_a_slow_test = None


@pytest.fixture(scope="session")
def edge_path(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The edge-case database; its bytes and its folder must be unchanged after the session."""
    path = build_edge_db(tmp_path_factory.mktemp("edge") / "edge.db")
    before, listing = sha256(path), sorted(p.name for p in path.parent.iterdir())
    yield path
    assert sha256(path) == before, "the database file changed"
    assert sorted(p.name for p in path.parent.iterdir()) == listing, (
        "a file appeared beside the database"
    )


@pytest.fixture(scope="session")
def sample() -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=sample_database()))
    yield live
    live.close()


@pytest.fixture(scope="session")
def edge(edge_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=edge_path))
    yield live
    live.close()


@pytest.fixture(scope="session")
def chinook_path() -> Path:
    if not CHINOOK.exists():
        pytest.skip("shared/data/chinook.sqlite is not beside this checkout")
    return CHINOOK


@pytest.fixture(scope="session")
def chinook(chinook_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=chinook_path, immutable=True))
    yield live
    live.close()
