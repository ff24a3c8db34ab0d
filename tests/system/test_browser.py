"""Swagger UI and ReDoc in a real headless Chromium (Debian's), with no network beyond
127.0.0.1: every asset comes from sqlapi itself."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.helpers import write
from tests.servers import serving

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]  # fmt: skip
SCREENSHOT = Path(__file__).parents[2] / "docs" / "swagger-ui.png"

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        raise RuntimeError("chromium is missing: .ci/run installs Debian's chromium package")
    pytest.skip(
        "Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True
    )

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.slow  # a real browser, and a real server, in every test


def test_swagger_ui_try_it_out_shows_rows_and_redoc_renders(tmp_path: Path) -> None:
    with serving() as server, sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        hosts: set[str] = set()
        blocked: set[str] = set()
        page.on("requestfinished", lambda request: hosts.add(request.url.split("/")[2]))
        page.on("requestfailed", lambda request: blocked.add(f"{request.url} {request.failure}"))
        page.goto(f"{server.url}/docs")
        operation = page.locator("#operations-books-list_Books_rows")
        operation.locator(".opblock-summary").click()
        operation.locator(".try-out__btn").click()
        operation.locator("tr[data-param-name='_limit'] input").fill("3")
        filters = operation.locator("tr[data-param-name='filters'] textarea")
        filters.fill('{"year__gte": 2020}')  # the table's filters: one object, one parameter each
        operation.locator(".execute").click()
        body = operation.locator(".responses-wrapper .live-responses-table .highlight-code")
        body.wait_for(timeout=20_000)
        text = body.inner_text()
        assert '"rows"' in text and '"title"' in text and '"next"' in text
        status = operation.locator(".live-responses-table tbody .response-col_status").first
        assert status.inner_text().strip() == "200"
        body.scroll_into_view_if_needed()
        page.screenshot(path=str(tmp_path / "swagger-ui.png"))
        if os.environ.get("SQLAPI_UPDATE_SCREENSHOT"):
            page.screenshot(path=str(SCREENSHOT))

        page.goto(f"{server.url}/redocs")
        page.locator("h2", has_text="Rows of table books").first.wait_for(timeout=20_000)
        browser.close()
    assert hosts == {f"127.0.0.1:{server.port}"}, hosts
    # ReDoc asks for its logo from a CDN; the docs' Content-Security-Policy stops it in the browser.
    assert all(failure.endswith(" csp") for failure in blocked), blocked


def _browser(playwright):  # type: ignore[no-untyped-def]
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)


def test_live_table_page_shows_a_new_row_within_a_second(tmp_path: Path) -> None:
    import time

    path = tmp_path / "live.db"
    write(
        path,
        "PRAGMA journal_mode = WAL",
        "CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT)",
        "INSERT INTO messages (body) VALUES ('first')",
    )
    with serving(str(path)) as server, sync_api.sync_playwright() as playwright:
        browser = _browser(playwright)
        page = browser.new_page()
        page.goto(f"{server.url}/tables/messages")
        page.locator("#status", has_text="live").wait_for(timeout=10_000)
        assert page.locator("#rows tr").count() == 1
        write(path, "INSERT INTO messages (body) VALUES ('hello from another process')")
        started = time.monotonic()
        page.locator("#rows tr.new td", has_text="hello from another process").wait_for(
            timeout=1_000
        )
        elapsed = time.monotonic() - started
        browser.close()
    assert elapsed < 1.0


CROSS_ORIGIN_PAGE = b"""<!doctype html><body><p id="result">pending</p><script>
fetch(new URLSearchParams(location.search).get("api"))
  .then(r => r.json())
  .then(b => { document.getElementById("result").textContent = "rows:" + b.rows.length; })
  .catch(e => { document.getElementById("result").textContent = "blocked"; });
</script></body>"""


def _static_origin():  # type: ignore[no-untyped-def]
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(CROSS_ORIGIN_PAGE)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_page_from_another_origin_fetches_rows_only_when_allowed() -> None:
    allowed, foreign = _static_origin(), _static_origin()
    allowed_origin = f"http://127.0.0.1:{allowed.server_address[1]}"
    try:
        with serving("--cors", allowed_origin) as server, sync_api.sync_playwright() as playwright:
            browser = _browser(playwright)
            page = browser.new_page()
            api = f"{server.url}/api/tables/genres/rows?_limit=3"
            page.goto(f"{allowed_origin}/?api={api}")
            page.locator("#result", has_text="rows:").wait_for(timeout=10_000)
            assert page.inner_text("#result") == "rows:3"
            page.goto(f"http://127.0.0.1:{foreign.server_address[1]}/?api={api}")
            page.locator("#result", has_text="blocked").wait_for(timeout=10_000)
            browser.close()
    finally:
        for origin in (allowed, foreign):
            origin.shutdown()
            origin.server_close()
