"""The configuration file: what it exposes, hides and refuses; and its errors."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlapi.auth.settings import hash_key
from sqlapi.config import ConfigError, load_settings, sample_database
from tests.fixtures import LiveApp
from tests.servers import COMMAND

EXAMPLE = Path(__file__).parents[2] / "sqlapi.example.toml"


@pytest.fixture(scope="module")
def configured() -> Iterator[LiveApp]:
    live = LiveApp(load_settings(EXAMPLE, database=sample_database()))
    yield live
    live.close()


def test_example_config_loads_and_flags_override_it() -> None:
    settings = load_settings(EXAMPLE, database=sample_database(), max_limit=900)
    assert settings.default_limit == 50 and settings.max_limit == 900 and settings.enable_sql
    assert settings.cors_origins == ("https://app.example",)
    assert settings.queries["books_by_year"].params == {"year": "integer"}


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("max_limt = 10", "unknown key 'max_limt'"),
        ("max_limit = 'lots'", "max_limit"),
        ("enable_sql = 3", "enable_sql"),
        ("[tables.books]\nhiden_columns = ['x']", "tables.books.hiden_columns"),
        ("[[api_keys]]\nhash = 'plain-text-key'", "api_keys.0.hash"),
        ("[queries.q]\nsql = 'SELECT 1'\nparams = { a = 'date' }", "queries.q.params.a"),
        ("default_limit = 50\nmax_limit = 10", "default_limit"),
        ("not toml at all [", "not valid TOML"),
    ],
)
def test_bad_configuration_names_the_key(tmp_path: Path, toml: str, needle: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match=needle.replace("[", r"\[").replace(".", r"\.")):
        load_settings(path, database=sample_database())


@pytest.mark.parametrize(
    ("toml", "needle"),
    [
        ("tables_deny = ['bookz']", "tables_deny: the database has no table or view 'bookz'"),
        ("[tables.members]\nhidden_columns = ['emial']", "has no column 'emial'"),
        ("[queries.q]\nsql = 'SELECT * FROM nowhere'", "queries.q: SQLite cannot prepare it"),
        ("tables_deny = ['loans']\n[queries.q]\nsql = 'SELECT * FROM loans'", "queries.q"),
    ],
)
def test_config_that_does_not_fit_the_database_stops_startup_in_one_line(
    tmp_path: Path, toml: str, needle: str
) -> None:
    path = tmp_path / "misfit.toml"
    path.write_text(toml)
    result = subprocess.run(
        [*COMMAND, "serve", "--config", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr
    assert needle in result.stderr


def test_denied_tables_are_gone_everywhere(configured: LiveApp) -> None:
    names = [t["name"] for t in configured.json("/api/tables")["tables"]]
    assert "loans" not in names and "popular_books" not in names and "books" in names
    assert configured.get("/api/tables/loans/rows").status == 404
    assert configured.get("/api/data/borrowed").status == 404
    assert "loans" not in configured.get("/openapi.json").body.decode().replace("loans_", "")


def test_hidden_column_never_appears(configured: LiveApp) -> None:
    everywhere = [
        "/api/tables/members", "/api/tables/members/rows", "/api/tables/members/rows/1",
        "/api/tables/members/rows?_format=ndjson&_limit=3",
        "/api/tables/members/rows?_format=csv&_limit=3",
        "/api/tables", "/openapi.json", "/api/sql?sql=SELECT id, name FROM members LIMIT 3",
    ]  # fmt: skip
    for url in everywhere:
        response = configured.get(url)
        assert response.status == 200, url
        assert b"email" not in response.body and b"@example.org" not in response.body, url
    for url in ["/api/tables/members/rows?email=x", "/api/tables/members/rows?_sort=email",
                "/api/tables/members/rows?_select=email", "/api/tables/members/columns/email",
                "/api/data/email"]:  # fmt: skip
        assert configured.get(url).status in (400, 404), url
    refused = configured.get("/api/sql?sql=SELECT email FROM members")
    assert refused.status == 403 and b"email" not in refused.body  # SQLite's message would name it
    assert configured.get("/api/sql?sql=SELECT * FROM members").status == 403
    schema = configured.get("/api/sql?sql=SELECT sql FROM sqlite_master")
    assert schema.status == 403 and b"email" not in schema.body  # the schema names it: refused


def test_named_queries_bind_typed_parameters_and_page(configured: LiveApp) -> None:
    first = configured.json("/api/queries/books_by_year?year=1999&_limit=3")
    assert first["query"] == "books_by_year" and [r["year"] for r in first["rows"]] == [1999] * 3
    rest = configured.json(first["next_url"])
    assert {r["id"] for r in rest["rows"]}.isdisjoint({r["id"] for r in first["rows"]})
    assert configured.get("/api/queries/books_by_year").status == 400  # missing
    assert configured.get("/api/queries/books_by_year?year=nineteen").status == 400  # typed
    assert configured.get("/api/queries/books_by_year?year=1999&title=x").status == 400  # unknown
    assert configured.get("/api/queries/nope").status == 404
    document = configured.json("/openapi.json")
    operation = document["paths"]["/api/queries/books_by_year"]["get"]
    params = {p["name"]: p for p in operation["parameters"] if "name" in p}  # not the shared $refs
    assert params["year"]["required"] is True and params["year"]["schema"]["type"] == "integer"


def test_sql_is_off_unless_enabled(sample: LiveApp) -> None:
    assert sample.get("/api/sql?sql=SELECT 1").status == 404
    assert "/api/sql" not in sample.json("/openapi.json")["paths"]


def test_hash_key_command() -> None:
    key = "k" * 40
    result = subprocess.run([*COMMAND, "hash-key", key], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == hash_key(key) and key not in result.stdout
    short = subprocess.run(
        [*COMMAND, "hash-key", "short"], capture_output=True, text=True, timeout=60
    )
    assert short.returncode == 2
    dotted = subprocess.run(
        [*COMMAND, "hash-key", "aaaaaaaa.bbbbbbbb.cccccccc"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert dotted.returncode == 2 and "JSON Web Token" in dotted.stderr  # it would never work
