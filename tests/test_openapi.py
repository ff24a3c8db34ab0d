"""The OpenAPI document, checked by tools nobody here wrote."""

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
from openapi_spec_validator import validate

from sqlapi.config import Settings
from sqlapi.model.schema import Table
from sqlapi.openapi.names import component_names
from sqlapi.store.readonly import load_schema
from tests.fixtures import WEIRD_NAMES, LiveApp
from tests.openapi_doc import resolve
from tests.servers import COMMAND, fetch, in_process, serving

BIN = Path(sys.executable).parent


def test_document_validates_for_sample_edge_and_chinook(
    sample: LiveApp, edge: LiveApp, chinook: LiveApp
) -> None:
    for live in (sample, edge, chinook):
        document = live.json("/openapi.json")
        assert document["openapi"].startswith("3.")
        validate(document)


def test_every_table_has_its_own_typed_paths(edge: LiveApp) -> None:
    document = edge.json("/openapi.json")
    paths = document["paths"]
    for table in edge.json("/api/tables")["tables"]:
        rows_path = table["rows_url"]
        assert rows_path in paths, rows_path
        assert f"{table['url']}/columns/{{column}}" in paths
        assert (
            "text/event-stream"
            in paths[f"{table['url']}/events"]["get"]["responses"]["200"]["content"]
        )
        assert (f"{rows_path}/{{pk}}" in paths) == bool(table["primary_key"])
        ref = paths[rows_path]["get"]["responses"]["200"]["content"]["application/json"]["schema"][
            "$ref"
        ]
        assert ref.split("/")[-1] in document["components"]["schemas"]
    operation_ids = [op["operationId"] for item in paths.values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))


def _row_schema(document: dict, table: str) -> dict:  # type: ignore[type-arg]
    page_ref = document["paths"][f"/api/tables/{table}/rows"]["get"]["responses"]["200"]["content"][
        "application/json"
    ]["schema"]["$ref"]
    page = document["components"]["schemas"][page_ref.split("/")[-1]]
    row_ref = page["properties"]["rows"]["items"]["$ref"]
    return document["components"]["schemas"][row_ref.split("/")[-1]]  # type: ignore[no-any-return]


def test_row_schemas_follow_declared_column_types(sample: LiveApp, edge: LiveApp) -> None:
    row = _row_schema(sample.json("/openapi.json"), "books")
    books = row["properties"]
    assert books["id"] == {"type": "integer", "format": "int64", "description": "INTEGER"}
    assert books["title"]["type"] == "string"
    assert books["year"]["type"] == ["integer", "null"]  # nullable: an integer or null
    assert books["rating"]["type"] == ["number", "null"]  # REAL: NaN/Inf are sent as null
    assert books["in_print"]["type"] == "boolean"
    # every member is in every row (a NULL is sent as null): all required, and NOT NULL
    # columns (id, title, author_id, in_print) typed without null
    columns = [c["name"] for c in sample.json("/api/tables/books")["columns"]]
    assert row["required"] == columns  # members a relation adds (`authors`) are not
    assert [n for n in columns if "null" not in books[n].get("type", ["null"])] == [
        "id",
        "title",
        "author_id",
        "in_print",
    ]
    strict = _row_schema(edge.json("/openapi.json"), "strict_t")["properties"]
    assert strict["b"]["format"] == "byte" and strict["b"]["type"] == ["string", "null"]
    assert strict["x"] == {"description": "ANY"}  # any JSON value
    gen = _row_schema(edge.json("/openapi.json"), "gen")["properties"]
    assert "generated" in gen["doubled"]["description"]


def test_filters_and_reserved_parameters_are_documented_with_types(sample: LiveApp) -> None:
    document = sample.json("/openapi.json")
    operation = document["paths"]["/api/tables/books/rows"]["get"]
    params = {p["name"]: p for p in (resolve(document, p) for p in operation["parameters"])}
    assert params["filters"]["style"] == "form" and params["filters"]["explode"] is True
    filters = resolve(document, params["filters"]["schema"])["properties"]
    assert filters["year__gte"]["format"] == "int64"
    assert filters["rating__lt"] == {"type": "number"}
    assert filters["title__contains"] == {"type": "string", "maxLength": 254}
    assert resolve(document, filters["author_id__in"])["type"] == "array"
    assert filters["rating__isnull"] == {"type": "boolean"}
    assert params["_limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 1000}
    assert "-year" in params["_sort"]["schema"]["items"]["enum"]
    assert "_search" in params  # books has an FTS index
    genres = document["paths"]["/api/tables/genres/rows"]["get"]["parameters"]
    assert "_search" not in {resolve(document, p)["name"] for p in genres}
    problem = resolve(document, operation["responses"]["400"])
    assert problem["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


def test_component_names_are_valid_and_unique_for_any_table_name(edge_path: Path) -> None:
    tables = list(load_schema(edge_path, False).tables)
    for name in ["a b", "a_b", "A B", "ä b", "a-b", "AB", "ab", "1", "", "Row", "Page", "表"]:
        tables.append(Table(name=name, kind="table", columns=(), primary_key=()))
    names = component_names(tuple(tables))
    assert len(set(n.lower() for n in names.values())) == len(tables)
    assert all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", n) for n in names.values())
    weird = {name: names[name] for name in WEIRD_NAMES}
    assert len(set(weird.values())) == len(WEIRD_NAMES)  # each its own
    # Readable where the name allows: its words in CamelCase, with a hash of the name
    # whenever that loses something (a space, a quote, a dash...).
    assert names["plain"] == "Plain" and weird["select"] == "Select"
    assert weird["1starts_with_digit"] == "T1startsWithDigit"
    assert re.fullmatch(r"WithSpace_[0-9a-f]{6}", weird["with space"])
    assert re.fullmatch(r"MixedCase_[0-9a-f]{6}", weird["Mixed Case"])
    assert re.fullmatch(r"DqUote_[0-9a-f]{6}", weird['dq"uote'])


def test_cli_prints_the_served_document(sample: LiveApp) -> None:
    result = subprocess.run([*COMMAND, "openapi"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == sample.json("/openapi.json")


def test_docs_pages_load_their_assets_from_sqlapi_not_a_cdn(sample: LiveApp) -> None:
    for page in ("/docs", "/redocs"):
        response = sample.get(page)
        assert response.status == 200
        html = response.body.decode()
        assert "://" not in html, "an absolute URL (a CDN?) in the served HTML"
        assets = re.findall(r'(?:src|href)="(/assets/[^"]+)"', html)
        assert assets
        for asset in assets:
            got = sample.get(asset)
            assert got.status == 200
            if got.content_type.startswith(("text/javascript", "text/css")):
                assert len(got.body) > 50_000
            else:
                assert got.content_type == "image/png" and got.body.startswith(b"\x89PNG")
    assert sample.get("/assets/../pyproject.toml").status == 404
    assert sample.get("/assets/nothing.js").status == 404


CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "positive_data_acceptance",
]


# The coverage phase (every parameter's boundary and invalid values: 41,000 requests on
# the sample, three minutes) runs on the sample, whose tables cover every column type and
# relation; edge and chinook get the fuzzing phase (a few hundred requests each) to keep
# CI within ten minutes (a run of the coverage phase on both, 2026-11-26, found nothing the
# sample's did not). No stateful phase: the API creates no resources, and the links
# schemathesis infers feed one table's `id` to another's key (book_genres' key "11" for a
# key of two parts, which its own pattern refuses).
PHASES = {"sample": "coverage,fuzzing", "edge": "fuzzing", "chinook": "fuzzing"}


@pytest.mark.slow
@pytest.mark.parametrize("database", ["sample", "edge", "chinook"])
def test_schemathesis_finds_no_failures(
    database: str, edge_path: Path, chinook_path: Path, tmp_path: Path
) -> None:
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
            "--phases", PHASES[database], "--no-color",
            "--exclude-by", "/x-sqlapi-stream == true",  # endless streams: test_events.py
        ]  # fmt: skip
        hooks = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                 "PYTHONPATH": str(Path(__file__).parents[1])}  # fmt: skip
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
