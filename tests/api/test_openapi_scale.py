"""The OpenAPI document at scale (issue 21): 200 tables of 20 columns. Its size stays under
25 KB a table, it validates, it goes out gzip-compressed, and Swagger UI, offered one table's
document at a time past 50 tables, paints the first table's operations within 10 s.
bench/openapi_size.py measures the same at 10, 200 and 1,000 tables (docs/benchmarks.md)."""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.wide import PER_TABLE, TABLES, build_wide_db


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


def test_the_document_of_200_tables_validates(wide: LiveApp) -> None:
    """openapi-spec-validator takes a minute for the whole document's 2,100 schemas (pure
    Python). The tables are alike: the document is valid when one table's part of it is,
    with everything the tables share, and every other table's part is that part with its
    own name."""
    whole = wide.get("/openapi.json").json()
    first = _part(whole, "t0000", "T0000")
    validate({**whole, "paths": first["paths"], "components": first["components"]})
    own = _part(whole, "t0000", "T0000", shared=False)
    for t in range(1, TABLES):
        part = _part(whole, f"t{t:04d}", f"T{t:04d}", shared=False)
        renamed = json.dumps(part).replace(f"t{t:04d}", "t0000").replace(f"T{t:04d}", "T0000")
        assert json.loads(renamed) == own, t


def _part(document: dict, name: str, base: str, *, shared: bool = True) -> dict:
    """The paths of one table and the components its base name starts; with `shared`,
    the paths and components no table owns too."""
    owned = re.compile(r"T[0-9]{4}")
    paths = {
        p: v
        for p, v in document["paths"].items()
        if p.split("/")[3:4] == [name] or (shared and not p.startswith("/api/tables/t"))
    }
    components = {
        kind: {
            k: v
            for k, v in defined.items()
            if k.startswith(base) or (shared and not owned.match(k))
        }
        for kind, defined in document["components"].items()
        if isinstance(defined, dict)
    }
    return {"paths": paths, "components": components}
