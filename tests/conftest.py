from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlapi.config import Settings, sample_database
from tests.fixtures import LiveApp, build_edge_db

CHINOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "chinook.sqlite"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
