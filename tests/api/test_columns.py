from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.fixtures import LiveApp

SAMPLE = Path(__file__).parents[2] / "sqlapi" / "sample.db"


def test_column_values_are_distinct_with_counts_most_frequent_first(sample: LiveApp) -> None:
    body = sample.json("/api/tables/books/columns/year?_limit=1000")
    expected = (
        sqlite3.connect(SAMPLE)
        .execute("SELECT year, count(*) FROM books GROUP BY year ORDER BY count(*) DESC, year")
        .fetchall()
    )
    assert [(v["value"], v["count"]) for v in body["values"]] == expected
    assert body["table"] == "books" and body["column"] == "year" and body["next"] is None


def test_column_values_page_through_with_next(sample: LiveApp) -> None:
    url, seen = "/api/tables/members/columns/city?_limit=4", []
    while url:
        body = sample.json(url)
        seen += [v["value"] for v in body["values"]]
        url = body["next_url"]
    assert len(seen) == len(set(seen)) == 16  # 15 cities and NULL, each once


def test_column_values_accept_row_filters(sample: LiveApp) -> None:
    body = sample.json("/api/tables/books/columns/in_print?year__lt=1950")
    expected = dict(
        sqlite3.connect(SAMPLE)
        .execute("SELECT in_print, count(*) FROM books WHERE year < 1950 GROUP BY 1")
        .fetchall()
    )
    assert {v["value"]: v["count"] for v in body["values"]} == {
        True: expected[1],
        False: expected[0],
    }


def test_column_values_errors(sample: LiveApp) -> None:
    assert sample.get("/api/tables/books/columns/nope").json()["allowed"][0] == "id"
    assert sample.get("/api/tables/books/columns/year?_sort=year").status == 400
    assert sample.get("/api/tables/nope/columns/year").status == 404


def test_data_endpoint_finds_the_one_table_with_the_column(sample: LiveApp) -> None:
    body = sample.json("/api/data/email?_limit=3")
    assert body["table"] == "members" and body["column"] == "email"
    assert body["values"] == [
        r[0]
        for r in sqlite3.connect(SAMPLE).execute("SELECT email FROM members ORDER BY id LIMIT 3")
    ]
    assert sample.json(body["next_url"])["values"][0].endswith("@example.org")


def test_data_endpoint_prefers_tables_over_fts_and_views(sample: LiveApp) -> None:
    assert sample.json("/api/data/description?_limit=1")["table"] == "books"
    assert sample.json("/api/data/author?_limit=1")["table"] == "books_with_authors"


def test_data_endpoint_ambiguity_and_choice(sample: LiveApp) -> None:
    response = sample.get("/api/data/name")
    assert response.status == 400 and response.json()["allowed"] == ["authors", "genres", "members"]
    body = sample.json("/api/data/name?_table=genres&_sort=-name&_limit=2")
    assert body["values"] == ["Travel", "Thriller"]
    assert sample.get("/api/data/nothing_has_this").status == 404
    assert sample.get("/api/data/name?_table=books").status == 400
    assert sample.json("/api/data/name?_table=genres&name__startswith=Sci")["values"] == [
        "Science-fiction",
        "Science",
    ]
