"""A suite that tries to break sqlapi: hostile input everywhere, writes through /api/sql,
fuzzed query strings, and API keys. The database file must come out byte for byte."""

from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlapi.auth.settings import TableRules, hash_key
from sqlapi.config import Settings, load_settings, sample_database
from tests.fixtures import LiveApp
from tests.helpers import write
from tests.openapi_doc import parameters

pytestmark = pytest.mark.both_sqlites  # .ci/run runs these on a current SQLite too

EXAMPLE = Path(__file__).parents[2] / "sqlapi.example.toml"
FULL_KEY, CATALOGUE_KEY = "full-" + "a" * 40, "catalogue-" + "b" * 40
KEYS = f"""
[[api_keys]]
name = "full"
hash = "{hash_key(FULL_KEY)}"
[[api_keys]]
name = "catalogue"
hash = "{hash_key(CATALOGUE_KEY)}"
tables = ["books", "authors"]
"""
HOSTILE = [
    "'", '"', "`", "' OR '1'='1", '" OR 1=1 --', "1; DROP TABLE books; --", "*/ SELECT 1 /*",
    "%", "_", "\\", "\x00", "a\x00b", "\u202egnp.exe", "e\u0301", "\ud7ff\ue000",
    "\uff53\uff45\uff4c\uff45\uff43\uff54",  # fullwidth "select"
    "🎉" * 50, "9" * 400, "-9223372036854775809", "1e999", "NaN", "", " ", ",,,", "~", "~zz",
    "x" * 20_000, "\n\r\t", "../../etc/passwd", "%00", "<script>alert(1)</script>",
]  # fmt: skip


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A private copy of the sample: its bytes and its folder are checked at the end."""
    folder = tmp_path_factory.mktemp("attacked")
    path = folder / "sample.db"
    shutil.copy(sample_database(), path)
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    yield path
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before, "the database changed"
    assert [p.name for p in folder.iterdir()] == ["sample.db"], "a file appeared beside it"


@pytest.fixture(scope="module")
def secured(database: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    config = tmp_path_factory.mktemp("config") / "sqlapi.toml"
    config.write_text(EXAMPLE.read_text() + KEYS)
    live = LiveApp(load_settings(config, database=database, time_limit_ms=300))
    yield live
    live.close()


def get(live: LiveApp, url: str, key: str | None = FULL_KEY):  # type: ignore[no-untyped-def]
    return live.get(url, headers={"Authorization": f"Bearer {key}"} if key else {})


def assert_clear_answer(response, url: str) -> None:  # type: ignore[no-untyped-def]
    assert response.status < 500, (url, response.status, response.body[:300])
    if response.status >= 400:
        assert response.content_type == "application/problem+json", url
        body = response.json()
        assert body["status"] == response.status and body["detail"]


def operations(live: LiveApp) -> list[tuple[str, list[str]]]:
    """(path with its path parameters filled in, query parameter names) from the document."""
    document = get(live, "/openapi.json").json()
    found = []
    for path, item in document["paths"].items():
        if item["get"].get("x-sqlapi-stream"):
            continue  # endless streams: see test_events.py
        params = parameters(document, item["get"])
        for param in params:
            if param["in"] == "path":
                choice = param["schema"].get("enum", ["1"])[0] if "enum" in param["schema"] else "1"
                path = path.replace("{" + param["name"] + "}", str(choice))
        names = [p["name"] for p in params if p["in"] == "query"]
        found.append((path, names[:14] + [n for n in names if n.startswith("_")]))
    return found


def test_every_parameter_of_every_endpoint_survives_hostile_input(secured: LiveApp) -> None:
    count = 0
    for path, names in operations(secured):
        for name in dict.fromkeys(names):
            for value in HOSTILE:
                url = f"{path}?{urlencode({name: value})}"
                assert_clear_answer(get(secured, url), url)
                count += 1
        for value in HOSTILE[:8]:  # the path itself
            hostile = re.sub(r"/api/tables/[^/]+", "/api/tables/" + quote(value, safe=""), path)
            assert_clear_answer(get(secured, hostile), hostile)
    assert count > 1000


def test_hostile_names_repeated_parameters_and_overlong_keys(secured: LiveApp) -> None:
    urls = [
        "/api/tables/books/rows?" + "&".join(f"year={i}" for i in range(500)),
        "/api/tables/books/rows?_sort=title&_sort=-year&_sort=" + "x" * 5000,
        "/api/tables/books/rows?" + "y" * 10_000 + "=1",
        "/api/tables/books/rows?year__in=" + ",".join(str(i) for i in range(1001)),
        "/api/tables/books/rows?title__in=" + "&title__in=".join("a" * 5 for _ in range(800)),
        "/api/tables/books/rows?_limit=1&_limit=2",
        "/api/tables/" + "t" * 5000 + "/rows",
        "/api/tables/books/rows/" + "9" * 5000,
        "/api/tables/book_genres/rows/" + ",".join("1" * 3 for _ in range(50)),
        "/api/tables/books/columns/" + "c" * 3000,
        "/api/data/" + quote("title\x00"),
    ]
    for url in urls:
        assert_clear_answer(get(secured, url), url[:120])


WRITES = [
    "INSERT INTO books (title, author_id) VALUES ('x', 1)",
    "UPDATE books SET title = 'x'",
    "DELETE FROM books",
    "DROP TABLE books",
    "CREATE TABLE evil (x)",
    "CREATE TEMP TABLE evil (x)",
    "CREATE VIEW evil AS SELECT 1",
    "ALTER TABLE books ADD COLUMN evil",
    "ATTACH DATABASE '/tmp/evil.db' AS evil",
    "DETACH DATABASE main",
    "VACUUM",
    "VACUUM INTO '/tmp/evil-copy.db'",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 7",
    "PRAGMA query_only = 0",
    "PRAGMA writable_schema = 1",
    "SELECT load_extension('/tmp/evil.so')",
    "REINDEX",
    "ANALYZE",
    "BEGIN EXCLUSIVE",
    "SELECT writefile('/tmp/evil', 'x')",
    "WITH t(x) AS (SELECT 1) INSERT INTO genres (name) SELECT 'evil' FROM t",
    "SELECT * FROM pragma_table_info('members')",
    "SELECT * FROM members",
    "SELECT * FROM loans",
]


@pytest.mark.parametrize("statement", WRITES)
def test_sql_writes_and_escapes_are_refused(secured: LiveApp, statement: str) -> None:
    response = get(secured, "/api/sql?" + urlencode({"sql": statement}))
    assert response.status in (400, 403), (statement, response.body)
    assert response.content_type == "application/problem+json"
    assert not Path("/tmp/evil.db").exists() and not Path("/tmp/evil-copy.db").exists()


@pytest.mark.parametrize(
    "statement",
    [
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c",
        "SELECT count(*) FROM loans AS a, books AS b, members AS c",
        "SELECT count(*) FROM books a, books b, books c",
    ],
)
def test_endless_and_huge_queries_are_cut_at_the_time_limit(
    secured: LiveApp, statement: str
) -> None:
    response = get(secured, "/api/sql?" + urlencode({"sql": statement}))
    assert response.status in (400, 403)
    assert response.json()["type"] in (
        "urn:sqlapi:problem:time-limit",
        "urn:sqlapi:problem:not-authorized",
    )
    assert get(secured, "/api/sql?sql=SELECT 1").status == 200  # and the server carries on


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.text(max_size=30), st.text(max_size=60)), max_size=6))
def test_fuzzed_query_strings_never_get_a_server_error(
    secured: LiveApp, pairs: list[tuple[str, str]]
) -> None:
    for table in ("books", "book_genres", "books_fts", "books_with_authors"):
        url = f"/api/tables/{table}/rows?" + urlencode(pairs)
        assert_clear_answer(get(secured, url), url)


def test_keys_are_required_and_scoped(secured: LiveApp) -> None:
    missing = get(secured, "/api/tables/books/rows", key=None)
    assert missing.status == 401 and missing.headers["www-authenticate"].startswith("Bearer")
    assert get(secured, "/api/tables/books/rows", key="wrong-" + "c" * 40).status == 401
    assert get(secured, f"/api/tables/books/rows?api_key={FULL_KEY}", key=None).status == 401
    assert get(secured, f"/api/tables/books/rows?access_token={FULL_KEY}", key=None).status == 401
    assert get(secured, "/api/tables/books/rows", key=CATALOGUE_KEY).status == 200
    assert get(secured, "/api/tables/genres/rows", key=CATALOGUE_KEY).status == 403
    listed = [t["name"] for t in get(secured, "/api/tables", key=CATALOGUE_KEY).json()["tables"]]
    assert listed == ["authors", "books"]
    assert get(secured, "/api/sql?sql=SELECT 1", key=CATALOGUE_KEY).status == 403
    assert get(secured, "/api/queries/books_by_year?year=1999", key=CATALOGUE_KEY).status == 403
    assert get(secured, "/api/data/name", key=CATALOGUE_KEY).json()["table"] == "authors"
    for public in ("/healthz", "/readyz", "/openapi.json", "/docs", "/"):
        assert get(secured, public, key=None).status == 200, public


def test_listings_are_cached_per_key(secured: LiveApp) -> None:
    full = get(secured, "/api/tables").headers["etag"]
    scoped = get(secured, "/api/tables", key=CATALOGUE_KEY)
    assert scoped.headers["etag"] != full
    replay = secured.get(
        "/api/tables", headers={"If-None-Match": full, "Authorization": f"Bearer {CATALOGUE_KEY}"}
    )
    assert replay.status == 200  # another key's tag never earns a 304


def test_openapi_documents_the_bearer_scheme(secured: LiveApp) -> None:
    document = get(secured, "/openapi.json", key=None).json()
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["security"] == [{"bearer": []}]
    assert "401" in document["paths"]["/api/tables/books/rows"]["get"]["responses"]
    assert document["paths"]["/healthz"]["get"]["security"] == []


def test_key_comparison_checks_every_key_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlapi.auth import apikeys as auth
    from sqlapi.auth.settings import ApiKey

    keys = tuple(ApiKey(hash=hash_key(f"key-{i}-" + "z" * 30)) for i in range(5))
    compared: list[tuple[str, str]] = []
    real = auth.hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    assert auth.find_key("key-0-" + "z" * 30, keys) is keys[0]
    assert len(compared) == 5  # no early exit on the first match
    compared.clear()
    assert auth.find_key("nope", keys) is None and len(compared) == 5
    assert all(len(a) == len(b) for a, b in compared)  # hashes, not the raw key, are compared


def test_an_integer_primary_key_desc_is_an_ordinary_column(tmp_path: Path) -> None:
    """SQLite's exception: `INTEGER PRIMARY KEY DESC` in a column's definition is not the
    rowid but a column stored in the record (any value, NULL too). Taken for the rowid, its
    slot was missing from what /api/sql may read beside a hidden column (a false 403)."""
    path = tmp_path / "desc.db"
    write(
        path,
        "CREATE TABLE t (id INTEGER PRIMARY KEY DESC, secret TEXT, x)",
        "INSERT INTO t VALUES (1.5, 's', 'x'), (2, 's2', 'y')",
    )
    rules = {"t": TableRules(hidden_columns=("secret",))}
    live = LiveApp(Settings(database=path, enable_sql=True, tables=rules))
    try:
        found = live.json("/api/sql?" + urlencode({"sql": "SELECT id, x FROM t ORDER BY x"}))
        assert found["rows"] == [{"id": 1.5, "x": "x"}, {"id": 2, "x": "y"}]
        assert live.get("/api/sql?" + urlencode({"sql": "SELECT secret FROM t"})).status == 403
        (column,) = [c for c in live.json("/api/tables/t")["columns"] if c["name"] == "id"]
        assert column["nullable"] is True
    finally:
        live.close()
