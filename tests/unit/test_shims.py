"""sqlapi's one shim over a framework's private methods (sqlapi/http/connection.py): bounded
to the Quart releases it fits, refused with a warning on any other."""

from __future__ import annotations

import logging
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from quart import Quart
from quart.asgi import ASGIHTTPConnection

from sqlapi.http import connection

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def requirement(name: str) -> Requirement:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    return next(r for r in map(Requirement, declared) if r.name.lower() == name)


def test_the_installed_quart_is_one_the_shim_was_written_against() -> None:
    """Fails on a Quart outside the bound (installed by hand) or one whose connection
    class changed shape inside it: either way the bound or the shim needs a look."""
    quart = requirement("quart")
    assert any(spec.operator == "<" for spec in quart.specifier), "no upper bound"
    assert version("quart") in quart.specifier
    assert connection.fits()


class Changed(ASGIHTTPConnection):
    async def handle_request(self, request, send, timeout=None):  # type: ignore[no-untyped-def]
        await super().handle_request(request, send)


def test_a_quart_whose_connection_class_changed_keeps_its_own_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Quart(__name__)
    app.asgi_http_class = Changed
    with caplog.at_level(logging.WARNING, logger="sqlapi"):
        assert connection.install_connection(app) is False
    assert app.asgi_http_class is Changed
    assert "Quart's own" in caplog.text


def test_the_quart_it_fits_gets_the_faster_class_without_a_word(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = Quart(__name__)
    with caplog.at_level(logging.WARNING, logger="sqlapi"):
        assert connection.install_connection(app) is True
    assert app.asgi_http_class is connection.HTTPConnection and caplog.text == ""
