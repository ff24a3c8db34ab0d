"""HTTP behaviour: ETags and 304s that follow the file, and CORS."""

from __future__ import annotations

import os
from pathlib import Path

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.helpers import wait_for, write


def test_every_successful_get_has_an_etag_and_if_none_match_is_304(sample: LiveApp) -> None:
    for url in ["/api", "/api/tables", "/api/tables/books", "/api/tables/books/rows?_limit=5",
                "/api/tables/books/rows/3", "/api/tables/books/columns/year", "/api/data/email",
                "/api/tables/genres/rows?_format=csv", "/openapi.json"]:  # fmt: skip
        first = sample.get(url)
        assert first.status == 200
        etag = first.headers["etag"]
        assert sample.get(url).headers["etag"] == etag  # stable while the file is unchanged
        again = sample.get(url, headers={"If-None-Match": etag})
        assert again.status == 304 and again.body == b"" and again.headers["etag"] == etag


def test_etag_depends_on_the_request(sample: LiveApp) -> None:
    tags = {
        sample.get("/api/tables/books/rows?_limit=1").headers["etag"],
        sample.get("/api/tables/books/rows?_limit=2").headers["etag"],
        sample.get("/api/tables/books/rows?_limit=1", headers={"Accept": "text/csv"}).headers[
            "etag"
        ],
    }
    assert len(tags) == 3
    assert (
        "etag" not in sample.get("/api/tables/books/rows?_limit=0").headers
    )  # errors are not tagged


def test_etag_changes_when_another_process_commits_and_not_otherwise(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    write(path, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t (v) VALUES ('a')")
    live = LiveApp(Settings(database=path))
    try:
        db = live.app.services.db
        url = "/api/tables/t/rows"
        before = live.get(url).headers["etag"]
        assert live.get(url).headers["cache-control"] == "no-cache"
        version = db.version
        for _ in range(3):  # the watcher looks at the file; nobody commits
            live.run(db.look())
        assert db.version == version
        assert live.get(url, headers={"If-None-Match": before}).status == 304
        write(path, "INSERT INTO t (v) VALUES ('b')")
        wait_for(
            lambda: live.get(url, headers={"If-None-Match": before}).status != 304,
            what="the ETag to change",
        )
        fresh = live.get(url, headers={"If-None-Match": before})
        assert fresh.status == 200 and fresh.headers["etag"] != before
        assert [r["v"] for r in fresh.json()["rows"]] == ["a", "b"]
    finally:
        live.close()


def test_etag_changes_with_a_commit_the_file_clock_cannot_tell_apart(tmp_path: Path) -> None:
    """A commit that leaves the file's size and mtime as they were (two commits within one
    tick of a coarse file clock; here the mtime is put back by hand) still changes the
    ETag: data_version sees it, and the tag then takes the watcher's count."""
    path = tmp_path / "t.db"
    write(path, "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'a')")
    live = LiveApp(Settings(database=path))
    try:
        url = "/api/tables/t/rows"
        before = live.get(url).headers["etag"]
        seen = os.stat(path)
        write(path, "UPDATE t SET v = 'b'")  # in place: the same size
        os.utime(path, ns=(seen.st_atime_ns, seen.st_mtime_ns))
        assert os.stat(path).st_size == seen.st_size
        live.run(live.app.services.db.look())
        fresh = live.get(url, headers={"If-None-Match": before})
        assert fresh.status == 200 and fresh.headers["etag"] != before
        assert fresh.json()["rows"] == [{"id": 1, "v": "b"}]
    finally:
        live.close()


def test_immutable_sends_a_long_cache_control(tmp_path: Path, edge_path: Path) -> None:
    live = LiveApp(Settings(database=edge_path, immutable=True))
    try:
        response = live.get("/api/tables/plain/rows")
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    finally:
        live.close()


def test_probes_are_never_cached(sample: LiveApp) -> None:
    assert (
        "etag" not in sample.get("/healthz").headers and "etag" not in sample.get("/readyz").headers
    )


def test_no_cors_headers_unless_enabled(sample: LiveApp) -> None:
    response = sample.get("/api", headers={"Origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


def test_pages_list_tables_and_show_a_live_table(sample: LiveApp) -> None:
    index = sample.get("/")
    assert index.status == 200 and index.content_type.startswith("text/html")
    html = index.body.decode()
    assert 'href="/tables/books"' in html and 'href="/docs"' in html and "://" not in html
    page = sample.get("/tables/books").body.decode()
    assert 'new EventSource("/api/tables/books/events")' in page and "://" not in page
    assert sample.get("/tables/nope").status == 404


def test_the_installed_quart_gets_sqlapis_connection_class(sample: LiveApp) -> None:
    """If a Quart release changes the connection class sqlapi's overrides, the app falls
    back to Quart's own (correct, ~10 % fewer rows by key per second): this says so."""
    from sqlapi.http import connection

    assert connection.fits()
    assert sample.app.asgi_http_class is connection.HTTPConnection
