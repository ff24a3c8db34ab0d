from __future__ import annotations

from urllib.parse import quote

from tests.fixtures import WEIRD_NAMES, LiveApp


def test_api_names_the_database_its_tables_and_views(sample: LiveApp) -> None:
    body = sample.json("/api")
    assert body["database"]["name"] == "sample.db"
    assert {"books", "authors", "loans", "members", "book_genres"} <= set(
        body["database"]["tables"]
    )
    assert body["database"]["views"] == ["books_with_authors", "popular_books"]
    assert body["database"]["sqlite_version"].count(".") == 2
    assert body["links"]["tables"] == "/api/tables"


def test_tables_lists_every_exposed_table_with_links(sample: LiveApp) -> None:
    tables = {t["name"]: t for t in sample.json("/api/tables")["tables"]}
    assert tables["books"]["kind"] == "table" and tables["books"]["fts"] is True
    assert tables["books_with_authors"]["kind"] == "view"
    assert tables["book_genres"]["primary_key"] == ["book_id", "genre_id"]
    assert sample.json(tables["books"]["rows_url"])["rows"]


def test_table_detail_has_columns_keys_indexes_and_exact_count(sample: LiveApp) -> None:
    books = sample.json("/api/tables/books")
    assert books["count"] == 1800
    assert books["primary_key"] == ["id"]
    assert books["columns"][0] == {
        "name": "id", "type": "INTEGER", "json_type": "integer",
        "nullable": False, "primary_key": 1, "generated": False,
    }  # fmt: skip
    assert {"columns": ["author_id"], "table": "authors", "references": ["id"]} in books[
        "foreign_keys"
    ]
    assert {"name": "books_year", "columns": ["year"], "unique": False} in books["indexes"]
    assert books["fts"] == {"table": "books_fts", "columns": ["title", "description"]}
    loans = sample.json("/api/tables/loans")
    assert [c["generated"] for c in loans["columns"] if c["name"] == "days_out"] == [True]


def test_weird_table_names_are_all_browsable(edge: LiveApp) -> None:
    for name in WEIRD_NAMES:
        detail = edge.json("/api/tables/" + quote(name, safe=""))
        assert detail["name"] == name and detail["count"] == 5
        rows = edge.json(
            "/api/tables/"
            + quote(name, safe="")
            + "/rows?"
            + quote(name, safe="")
            + "__endswith=-3"
        )
        assert rows["rows"] == [{"id": 3, name: f"{name}-3", f"col {WEIRD_NAMES.index(name)}": 30}]


def test_unknown_table_is_a_404_problem_that_lists_nothing(sample: LiveApp) -> None:
    response = sample.get("/api/tables/sqlite_master/rows")
    assert response.status == 404
    assert response.content_type == "application/problem+json"
    body = response.json()
    assert body["status"] == 404 and "sqlite_master" in body["detail"]
    assert "allowed" not in body and "books" not in response.body.decode()


def test_internal_and_shadow_tables_are_not_reachable(edge: LiveApp) -> None:
    for name in [
        "sqlite_schema",
        "sqlite_master",
        "docs_fts_data",
        "docs_fts_idx",
        "notes_content",
        "broken",
    ]:
        assert edge.get(f"/api/tables/{name}/rows").status == 404


def test_health_and_readiness(sample: LiveApp) -> None:
    assert sample.json("/healthz") == {"status": "ok"}
    assert sample.json("/readyz") == {"status": "ready"}


def test_unknown_path_and_method_are_problems_not_html(sample: LiveApp) -> None:
    response = sample.get("/no/such/thing")
    assert response.status == 404 and response.content_type == "application/problem+json"

    async def post():  # type: ignore[no-untyped-def]
        r = await sample.client.post("/api/tables/books/rows")
        return r.status_code, r.headers["content-type"]

    assert sample.run(post()) == (405, "application/problem+json")


def test_names_with_a_slash_travel_tilde_encoded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from sqlapi.config import Settings

    path = tmp_path / "slash.db"
    conn = sqlite3.connect(path)
    conn.execute('CREATE TABLE "in/out" (id INTEGER PRIMARY KEY, "a/b" TEXT)')
    conn.execute("INSERT INTO \"in/out\" VALUES (1, 'x/y')")
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path))
    try:
        (summary,) = live.json("/api/tables")["tables"]
        assert summary["rows_url"] == "/api/tables/in~2Fout/rows"
        assert live.json(summary["rows_url"])["rows"] == [{"id": 1, "a/b": "x/y"}]
        assert live.json("/api/tables/in~2Fout/columns/a~2Fb")["values"] == [
            {"value": "x/y", "count": 1}
        ]
        assert live.json("/api/tables/in~2Fout/rows?a/b=x/y")["rows"][0]["id"] == 1
    finally:
        live.close()
