"""The system room: real processes, browsers, proxies and clients. Every test here is
slow (`pytest -m "not slow"` leaves the room out)."""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/system/" in item.nodeid:
            item.add_marker(pytest.mark.slow)
