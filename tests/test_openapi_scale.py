"""The OpenAPI document at scale (issue 21): 200 tables of 20 columns. Its size stays under
25 KB a table, it validates, it goes out gzip-compressed, and Swagger UI, offered one table's
document at a time past 50 tables, paints the first table's operations within 10 s.
bench/openapi_size.py measures the same at 10, 200 and 1,000 tables (docs/benchmarks.md)."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sqlite3
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.servers import serving

TABLES = 200
PER_TABLE = 25_000  # bytes of the compact JSON document, the bound
PAINTED_WITHIN = 10.0  # seconds from navigation to the first painted operation, the issue's


def build_wide_db(path: Path, tables: int) -> Path:
    """`tables` tables of 20 columns: id INTEGER PRIMARY KEY and 19 of INTEGER, TEXT and
    REAL in turn (as test_openapi.py's large-schema test)."""
    conn = sqlite3.connect(path)
    columns = ", ".join(f"c{j} {('INTEGER', 'TEXT', 'REAL')[j % 3]}" for j in range(19))
    for t in range(tables):
        conn.execute(f"CREATE TABLE t{t:04d} (id INTEGER PRIMARY KEY, {columns})")
    conn.execute("INSERT INTO t0000 (id, c0, c1, c2) VALUES (1, 7, 'seven', 7.5)")
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def wide_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wide_db(tmp_path_factory.mktemp("wide") / "wide.db", TABLES)


@pytest.fixture(scope="module")
def wide(wide_path: Path) -> Iterator[LiveApp]:
    live = LiveApp(Settings(database=wide_path))
    yield live
    live.close()


def test_the_document_of_200_tables_is_at_most_25_kb_a_table(wide: LiveApp) -> None:
    served = wide.get("/openapi.json")
    assert served.status == 200
    document = served.json()
    assert document == json.loads(json.dumps(wide.app.documentation.openapi_provider.schema()))
    assert {f"/api/tables/t{t:04d}/rows" for t in range(TABLES)} <= set(document["paths"])
    print(f"\n/openapi.json of {TABLES} tables: {len(served.body):,} bytes, "
          f"{len(served.body) // TABLES:,} a table")  # fmt: skip
    assert len(served.body) <= PER_TABLE * TABLES


def test_the_document_is_sent_gzip_compressed(wide: LiveApp) -> None:
    plain = wide.get("/openapi.json")
    compressed = wide.get("/openapi.json", {"Accept-Encoding": "gzip"})
    assert compressed.status == 200
    assert compressed.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in compressed.headers["vary"].lower()
    assert gzip.decompress(compressed.body) == plain.body
    print(f"\ngzip: {len(compressed.body):,} of {len(plain.body):,} bytes")
    assert len(compressed.body) * 10 < len(plain.body)  # repetitive JSON: far below a tenth


def test_a_table_s_own_document_is_small_and_valid(wide: LiveApp) -> None:
    """What Swagger UI loads past 50 tables: one table's paths and the components they use."""
    whole = wide.get("/openapi.json")
    served = wide.get("/openapi/t0007.json")
    assert served.status == 200 and len(served.body) * 50 < len(whole.body)
    document = served.json()
    assert {p.split("/")[3] for p in document["paths"]} == {"t0007"}
    assert "T0007Row" in document["components"]["schemas"]
    assert "T0008Row" not in document["components"]["schemas"]
    validate(document)


@pytest.mark.slow
def test_the_document_of_200_tables_validates(wide: LiveApp) -> None:
    # openapi-spec-validator checks each schema against the dialect in pure Python: half a
    # minute to a minute for this document's 2,100 schemas (the build takes under a second).
    validate(wide.get("/openapi.json").json())


# Swagger UI in Chromium (Debian's, as test_browser.py drives it)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
         "--no-first-run", "--disable-component-update", "--disable-sync"]  # fmt: skip


def paint_seconds(url: str) -> tuple[float, int, list[str]]:
    """Open `url`/docs in a fresh headless Chromium: the seconds from navigation to the first
    table's first operation painted, how many of its operations are visible, and the names
    the definition selector offers."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            raise RuntimeError("chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            started = time.perf_counter()
            page.goto(f"{url}/docs", wait_until="commit")
            rows = page.locator("#operations-t0000-list_T0000_rows")
            rows.wait_for(state="visible", timeout=60_000)
            painted = time.perf_counter() - started
            operations = page.locator(".opblock").count()
            visible = sum(page.locator(".opblock").nth(i).is_visible() for i in range(operations))
            choices = page.locator(".topbar select option").all_inner_texts()
        finally:
            browser.close()
    return painted, visible, choices


@pytest.mark.slow
def test_swagger_ui_paints_200_tables_within_10_seconds(wide_path: Path) -> None:
    runs = int(os.environ.get("SQLAPI_PAINT_RUNS", "1"))  # 3 for docs/benchmarks.md's median
    times = []
    for _ in range(runs):
        with serving(str(wide_path), "--no-access-log") as server:  # a fresh server each run
            painted, visible, choices = paint_seconds(server.url)
        times.append(painted)
        assert visible >= 4, visible  # rows, row by key, distinct values, events of t0000
        # the definition selector: one document per table, and the whole one last
        assert choices[:2] == ["t0000", "t0001"] and len(choices) == TABLES + 1, choices[:5]
        assert choices[-1] == f"all {TABLES} tables"
    each = ", ".join(f"{t:.2f}" for t in times)
    median = statistics.median(times)
    print(f"\nSwagger UI, {TABLES} tables: first operation painted after {each} s "
          f"(median {median:.2f} s)")  # fmt: skip
    assert median < PAINTED_WITHIN
