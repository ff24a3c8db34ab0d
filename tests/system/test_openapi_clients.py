"""The OpenAPI document as its clients use it: schemathesis against a running server, a
generated Python client, a large schema documented without stalling the server."""

from __future__ import annotations

import http.client
import importlib
import json
import os
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sqlapi.config import Settings
from tests.api.test_openapi import BIN
from tests.servers import COMMAND, fetch, in_process, serving

CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
]


# How hard schemathesis looks follows the hypothesis profile (tests/conftest.py). In `ci`
# (the default): the coverage phase (each parameter's boundary and invalid values) on the
# sample's `books` rows, whose every column type, key order and full-text search stand for
# the rest; the fuzzing phase on every operation of the sample and of the edge database,
# and on chinook's tables whose types and keys differ from the sample's (NUMERIC money,
# dates as text, a key of two parts, four foreign keys). In `thorough`: the coverage phase
# over the whole sample too (41,000 requests, seven minutes) and fuzzing over all of
# chinook (a coverage run over everything, 2026-11-26, found nothing narrower runs did
# not). No stateful phase: the API creates no resources, and the links schemathesis
# infers feed one table's `id` to another's key (book_genres' key "11" for a key of two
# parts, which its own pattern refuses).
# run -> (database, phases, the operations' paths, as a regex)
RUNS = {
    "sample-covered": ("sample", "coverage", "^/api/tables/books/rows$"),
    "sample": ("sample", "fuzzing", "."),
    "edge": ("edge", "fuzzing", "."),
    "chinook": ("chinook", "fuzzing", "^/api/tables/(Invoice|InvoiceLine|PlaylistTrack|Track)/"),
}
if os.environ.get("HYPOTHESIS_PROFILE") == "thorough":
    RUNS |= {
        "sample-covered": ("sample", "coverage,fuzzing", "."),
        "chinook": ("chinook", "fuzzing", "."),
    }


@pytest.mark.slow
@pytest.mark.parametrize("run", list(RUNS))
def test_schemathesis_finds_no_failures(
    run: str, edge_path: Path, chinook_path: Path, tmp_path: Path
) -> None:
    database, phases, paths = RUNS[run]
    # The edge database's `slow` view counts to a billion: its answer is the documented 400
    # time-limit, which positive_data_acceptance would count; it is tested in test_db.py.
    config = tmp_path / "sqlapi.toml"
    config.write_text('tables_deny = ["slow"]\n')
    args = {
        "sample": [],
        "edge": [str(edge_path), "--time-limit-ms", "200", "--config", str(config)],
        "chinook": [str(chinook_path)],
    }
    with serving(*args[database]) as server:
        command = [
            str(BIN / "schemathesis"), "run", f"{server.url}/openapi.json",
            "--checks", ",".join(CHECKS), "--max-examples", "5", "--seed", "20261124",
            "--phases", phases, "--include-path-regex", paths, "--no-color",
            "--exclude-by", "/x-sqlapi-stream == true",  # endless streams: test_events.py
        ]  # fmt: skip
        hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                 "PYTHONPATH": str(Path(__file__).parents[2])}  # fmt: skip
        result = subprocess.run(  # in tmp_path: its run cache stays out of the checkout
            command, capture_output=True, text=True, timeout=900, cwd=tmp_path, env=hooks
        )
    summary = result.stdout[-3000:]
    assert result.returncode == 0, summary
    assert re.search(r"\d+ generated, \d+ passed", summary), summary


@pytest.mark.slow
def test_a_generated_client_lists_and_filters_rows(tmp_path: Path) -> None:
    with serving() as server:
        spec = tmp_path / "openapi.json"
        printed = subprocess.run([*COMMAND, "openapi"], capture_output=True, text=True, check=True)
        spec.write_text(printed.stdout)
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        generate = [
            str(BIN / "openapi-python-client"), "generate", "--path", str(spec),
            "--output-path", str(tmp_path / "sample_client"), "--meta", "none",
        ]  # fmt: skip
        subprocess.run(generate, check=True, capture_output=True, timeout=300, env=env)
        sys.path.insert(0, str(tmp_path))
        try:
            client_module = importlib.import_module("sample_client")
            rows_module = importlib.import_module("sample_client.api.books.list_books_rows")
            filters = importlib.import_module("sample_client.models").BooksFilters(year=1999)
            with client_module.Client(base_url=server.url) as client:  # closed when done
                page = rows_module.sync(
                    client=client, filters=filters, field_limit=2, field_count=True
                )
                assert page.count is not None and page.count > 2
                assert [type(row).__name__ for row in page.rows] == [
                    "BooksRow",
                    "BooksRow",
                ]  # typed rows
                assert [row.year for row in page.rows] == [1999, 1999]
                assert isinstance(page.rows[0].title, str) and isinstance(page.next_, str)
                second = rows_module.sync(
                    client=client, filters=filters, field_limit=2, field_after=page.next_
                )
                assert {r.id for r in second.rows}.isdisjoint({r.id for r in page.rows})
        finally:
            sys.path.remove(str(tmp_path))
            for name in [m for m in sys.modules if m.startswith("sample_client")]:
                del sys.modules[name]


@pytest.mark.slow
def test_a_large_schema_s_document_is_built_without_stalling_other_requests(
    tmp_path: Path,
) -> None:
    """600 tables of 20 columns take seconds to document: the document is built in a
    worker thread, started when the server starts, and requests are answered meanwhile."""
    path = tmp_path / "wide.db"
    conn = sqlite3.connect(path)
    for t in range(600):
        columns = ", ".join(f"c{j} {('INTEGER', 'TEXT', 'REAL')[j % 3]}" for j in range(19))
        conn.execute(f"CREATE TABLE t{t:03d} (id INTEGER PRIMARY KEY, {columns})")
    conn.commit()
    conn.close()
    answered: list[int] = []
    with in_process(Settings(database=path)) as server:
        provider = server.app.documentation.openapi_provider
        assert provider._pending is not None, "the document is built from the start"
        building = provider._pending[1]
        asked = threading.Event()  # the document's request has reached the provider
        built = provider.built

        async def asking() -> object:
            asked.set()
            return await built()

        provider.built = asking

        def ask_for_the_document() -> None:
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            connection.request("GET", "/openapi.json")
            response = connection.getresponse()  # its headers go out once it is built
            answered.append(response.status)
            response.read()
            connection.close()

        document_request = threading.Thread(target=ask_for_the_document)
        document_request.start()
        assert asked.wait(30)
        assert not building.done(), "built before it was asked for: make the schema larger"
        for _ in range(5):
            assert fetch(f"{server.url}/api/tables/t007/rows", timeout=60)[0] == 200
        # All five were answered while a request for the document waited, and while the
        # document was still being built.
        assert answered == [] and not building.done()
        document_request.join(timeout=120)
        assert answered == [200]
        document = json.loads(fetch(f"{server.url}/openapi.json")[2])
    assert "/api/tables/t599/rows" in document["paths"]
