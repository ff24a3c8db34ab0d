"""The OpenAPI document, checked by tools nobody here wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from openapi_spec_validator import validate

from sqlapi.model.schema import Table
from sqlapi.openapi.names import component_names
from sqlapi.store.readonly import load_schema
from tests.fixtures import WEIRD_NAMES, LiveApp
from tests.openapi_doc import resolve
from tests.servers import COMMAND

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
