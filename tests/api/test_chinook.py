"""A real database nobody here wrote: every table browses completely and matches SQLite."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import quote

from tests.fixtures import LiveApp


def test_every_chinook_table_pages_to_exactly_its_rows(
    chinook: LiveApp, chinook_path: Path
) -> None:
    conn = sqlite3.connect(f"file:{chinook_path}?mode=ro", uri=True)
    for table in chinook.json("/api/tables")["tables"]:
        url, got = table["rows_url"] + "?_limit=997&_shape=arrays", []
        while url:
            body = chinook.json(url)
            got += [tuple(r) for r in body["rows"]]
            url = body["next_url"]
        select = ", ".join('"' + c + '"' for c in body["columns"])
        key = ", ".join('"' + c + '"' for c in table["primary_key"])
        expected = conn.execute(f'SELECT {select} FROM "{table["name"]}" ORDER BY {key}').fetchall()
        assert got == expected, table["name"]


def test_chinook_filters_sort_and_facets(chinook: LiveApp) -> None:
    body = chinook.json(
        "/api/tables/Track/rows?GenreId=1&Milliseconds__gt=600000&_sort=-Milliseconds&_count=true&_limit=3"
    )
    assert body["count"] > 3 and len(body["rows"]) == 3
    assert (
        body["rows"][0]["Milliseconds"]
        >= body["rows"][1]["Milliseconds"]
        >= body["rows"][2]["Milliseconds"]
    )
    countries = chinook.json("/api/tables/Customer/columns/Country?_limit=1")["values"]
    assert countries == [{"value": "USA", "count": 13}]
    assert chinook.json("/api/tables/" + quote("InvoiceLine") + "/rows/1")["row"]["InvoiceId"] == 1
