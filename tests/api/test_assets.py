"""Swagger UI and ReDoc ship inside sqlapi (sqlapi/docs_assets/) and are served from it."""

from __future__ import annotations

import re
from importlib.resources import files
from importlib.resources.abc import Traversable

from sqlapi.http.routes.assets import ASSETS
from tests.fixtures import LiveApp

TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "redoc.standalone.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}


def packaged(relative: str) -> Traversable:
    resource = files("sqlapi") / "docs_assets"
    for part in relative.split("/"):
        resource = resource / part
    return resource


def test_every_asset_is_served_from_the_package_with_its_type(sample: LiveApp) -> None:
    assert set(ASSETS) == set(TYPES)
    for name, relative in ASSETS.items():
        response = sample.get(f"/assets/{name}")
        assert response.status == 200, name
        assert response.content_type.split(";")[0] == TYPES[name], name
        assert response.headers["cache-control"] == "public, max-age=86400"
        assert response.body == packaged(relative).read_bytes()
        if name.endswith(".png"):
            assert response.body.startswith(b"\x89PNG\r\n\x1a\n") and len(response.body) > 200
        else:
            assert len(response.body) > 100_000, name
            assert response.content_type.endswith("charset=utf-8")
    assert sample.get("/assets/swagger-ui-bundle.js.map").status == 404
    assert sample.get("/assets/LICENSE").status == 404


def test_licences_and_notices_are_inside_the_package() -> None:
    assert "Apache License" in packaged("swagger-ui/LICENSE").read_text()
    assert "SmartBear" in packaged("swagger-ui/NOTICE").read_text()
    assert "MIT License" in packaged("redoc/LICENSE").read_text()
    # Each bundle names the file with its bundled libraries' licences; it sits beside it.
    for relative in ASSETS.values():
        if relative.endswith(".js"):
            head = packaged(relative).read_bytes()[:200].decode()
            notice = re.search(r"For license information please see (\S+\.LICENSE\.txt)", head)
            assert notice, relative
            folder = relative.rsplit("/", 1)[0]
            assert packaged(f"{folder}/{notice[1]}").read_text().strip(), notice[1]
    versions = packaged("VERSIONS.txt").read_text()
    for package in ("swagger-ui-dist 5.", "redoc 2."):
        assert package in versions
    assert versions.count("integrity: sha512-") == 2
    assert versions.count("tarball:   https://registry.npmjs.org/") == 2


def test_docs_pages_refer_only_to_sqlapis_own_assets(sample: LiveApp) -> None:
    for page in ("/docs", "/redocs"):
        response = sample.get(page)
        assert response.status == 200
        html = response.body.decode()
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]", html, re.IGNORECASE), html
        urls = re.findall(r'(?:src|href)="([^"]*)"', html)
        assert urls, html
        assert all(url.startswith("/assets/") and url[8:] in ASSETS for url in urls), urls
