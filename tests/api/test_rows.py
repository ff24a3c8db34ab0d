from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.fixtures import BIG, LiveApp


def rows(live: LiveApp, url: str) -> list[dict[str, object]]:
    return live.json(url)["rows"]  # type: ignore[no-any-return]


def problem(live: LiveApp, url: str, status: int = 400) -> dict[str, object]:
    response = live.get(url)
    assert response.status == status, (url, response.body)
    assert response.content_type == "application/problem+json"
    return response.json()  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("query", "ids"),
    [
        ("name=alpha", [1]),
        ("name__exact=alpha", [1]),
        ("name__not=alpha", [2, 4, 5]),  # != leaves NULLs out, as SQL does
        ("n__gt=1", [2, 3, 5]),
        ("n__gte=2&n__lt=5", [2, 3]),
        ("n__lte=1", [1]),
        ("name__contains=%25", [5]),  # % is literal, not a wildcard
        ("name__contains=A", [1, 2, 4]),  # LIKE: ASCII case-insensitive
        ("name__startswith=100%25_", [5]),
        ("name__endswith=ta", [2]),
        ("name__like=_eta", [2]),
        ("name__glob=[ab]*", [1, 2]),
        ("n__in=1,5", [1, 5]),
        ("n__in=1&n__in=2", [1, 2, 3]),
        ('name__in=["alpha","beta"]', []),  # a JSON array is not special: it is one value
        ("n__notin=1,2", [5]),
        ("name__isnull=true", [3]),
        ("name__isnull=false", [1, 2, 4, 5]),
        ("score__notnull=true", [1, 3, 4, 5]),
        ("score=1.5&n=1", [1]),
        ("n__gt=1&n__gt=2", [5]),  # repeated filters are ANDed
    ],
)
def test_every_filter_operator(edge: LiveApp, query: str, ids: list[int]) -> None:
    assert [r["rowid"] for r in rows(edge, f"/api/tables/plain/rows?{query}")] == ids


def test_sort_on_several_columns_with_key_tie_break(edge: LiveApp) -> None:
    got = rows(edge, "/api/tables/plain/rows?_sort=-score,name")
    assert [r["rowid"] for r in got] == [5, 3, 1, 4, 2]  # NULL score last when descending


def test_select_keeps_only_named_columns_in_that_order(sample: LiveApp) -> None:
    assert rows(sample, "/api/tables/books/rows?_select=year,title&_limit=1") == [
        {"year": 1996, "title": "Hidden Letters"}
    ]


def test_following_next_visits_every_row_once_with_link_header(sample: LiveApp) -> None:
    url, seen, pages = "/api/tables/loans/rows?_limit=333&_sort=-borrowed&_select=id", [], 0
    while url:
        response = sample.get(url)
        body = response.json()
        seen += [r["id"] for r in body["rows"]]
        pages += 1
        if body["next"]:
            assert response.headers["link"] == f'<{body["next_url"]}>; rel="next"'
        url = body["next_url"]
    assert sorted(seen) == list(range(1, 4001)) and pages == 13


def test_deep_keyset_page_matches_sqlite_and_offset(sample: LiveApp) -> None:
    first = sample.json("/api/tables/books/rows?_limit=1000&_select=id")
    deep = sample.json(first["next_url"].replace("_limit=1000", "_limit=5"))
    assert [r["id"] for r in deep["rows"]] == [1001, 1002, 1003, 1004, 1005]
    by_offset = rows(sample, "/api/tables/books/rows?_offset=1000&_limit=5&_select=id")
    assert [r["id"] for r in by_offset] == [1001, 1002, 1003, 1004, 1005]


def test_count_is_exact_and_respects_filters(sample: LiveApp) -> None:
    body = sample.json("/api/tables/books/rows?year__gte=2000&_count=true&_limit=1")
    conn = sqlite3.connect(Path(__file__).parents[2] / "sqlapi" / "sample.db")
    assert (
        body["count"] == conn.execute("SELECT count(*) FROM books WHERE year >= 2000").fetchone()[0]
    )
    assert "count" not in sample.json("/api/tables/books/rows?_limit=1")


def test_full_text_search_on_content_table_and_fts_table(edge: LiveApp) -> None:
    assert [r["id"] for r in rows(edge, "/api/tables/docs/rows?_search=fox")] == [1, 3]
    assert [r["id"] for r in rows(edge, '/api/tables/docs/rows?_search="quoted" DROP')] == [3]
    assert [r["title"] for r in rows(edge, "/api/tables/notes/rows?_search=goodbye")] == ["second"]
    assert (
        rows(edge, "/api/tables/docs/rows?_search=AND OR NOT (") == []
    )  # FTS syntax is quoted away
    assert "full-text" in problem(edge, "/api/tables/plain/rows?_search=x")["detail"]


def test_arrays_shape(sample: LiveApp) -> None:
    body = sample.json("/api/tables/genres/rows?_shape=arrays&_limit=2")
    assert body["columns"] == ["id", "name"]
    assert body["rows"] == [[1, "Fiction"], [2, "Mystery"]]


def test_values_are_exact_json(edge: LiveApp) -> None:
    response = edge.get("/api/tables/values/rows")
    by_id = {r["id"]: r for r in json.loads(response.body)["rows"]}
    assert by_id[1]["big"] == BIG and by_id[2]["big"] == -(2**63) and by_id[3]["big"] == 2**53 + 1
    assert by_id[1]["real"] is None and by_id[2]["real"] is None  # +Inf, -Inf are not JSON
    assert base64.b64decode(by_id[1]["blob"]) == b"\xff\xfe\x00" and by_id[2]["blob"] == ""
    assert by_id[2]["txt"] == 'quote " and \\ and \n newline'
    assert by_id[3]["txt"] == "emoji 🎉 and nul \x00 byte"
    assert by_id[5]["txt"] == "A\ufffdB"  # not UTF-8 in the file: replaced, output stays valid
    assert by_id[1]["flag"] is True and by_id[2]["flag"] is False and by_id[3]["flag"] is None
    assert by_id[2]["untyped"] == "7" and by_id[1]["untyped"] == 7  # stored types are kept


def test_ints_as_strings_only_beyond_the_safe_range(edge: LiveApp) -> None:
    by_id = {r["id"]: r for r in rows(edge, "/api/tables/values/rows?_ints=string")}
    assert (
        by_id[1]["big"] == str(BIG) and by_id[3]["big"] == str(2**53 + 1) and by_id[4]["big"] == 42
    )


def test_typed_filters_on_blob_and_boolean_and_big_integers(edge: LiveApp) -> None:
    blob = quote(base64.b64encode(b"abc").decode())
    assert [r["id"] for r in rows(edge, f"/api/tables/values/rows?blob={blob}")] == [4]
    assert [r["id"] for r in rows(edge, "/api/tables/values/rows?flag=true")] == [1, 4]
    assert [r["id"] for r in rows(edge, f"/api/tables/values/rows?big={BIG}")] == [1]
    assert [r["id"] for r in rows(edge, "/api/tables/values/rows?untyped=7")] == [1]


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        ("/api/tables/books/rows?_limit=0", "_limit"),
        ("/api/tables/books/rows?_limit=1001", "_limit"),
        ("/api/tables/books/rows?_limit=ten", "_limit"),
        ("/api/tables/books/rows?_limit=1&_limit=2", "once"),
        ("/api/tables/books/rows?_after=garbage", "_after"),
        ("/api/tables/books/rows?_offset=-1", "_offset"),
        ("/api/tables/books/rows?year=nineteen", "integer"),
        ("/api/tables/books/rows?rating__gt=high", "number"),
        ("/api/tables/books/rows?in_print=maybe", "true or false"),
        ("/api/tables/books/rows?year__isnull=perhaps", "true or false"),
        ("/api/tables/books/rows?year__between=1,2", "operator"),
        ("/api/tables/books/rows?_shape=tree", "_shape"),
        ("/api/tables/books/rows?_nonsense=1", "reserved"),
        ("/api/tables/books/rows?_sort=-nope", "nope"),
        ("/api/tables/books/rows?_select=", "_select"),
        ("/api/tables/books/rows?_after=x&_offset=1", "not both"),
        ("/api/tables/books/rows?id=99999999999999999999", "between"),
    ],
)
def test_bad_parameters_are_400_problems(sample: LiveApp, url: str, needle: str) -> None:
    assert needle in json.dumps(problem(sample, url))


def test_unknown_column_is_400_listing_allowed_names(sample: LiveApp) -> None:
    body = problem(sample, "/api/tables/authors/rows?nmae=Ada")
    assert body["allowed"] == ["id", "name", "born", "country"]
    assert "nmae" in str(body["detail"])
    assert problem(sample, "/api/tables/authors/rows?_select=id,nmae")["allowed"] == [
        "id",
        "name",
        "born",
        "country",
    ]


def test_cursor_from_another_sort_is_refused(sample: LiveApp) -> None:
    cursor = sample.json("/api/tables/books/rows?_limit=1&_sort=year")["next"]
    assert "different _sort" in str(
        problem(sample, f"/api/tables/books/rows?_sort=title&_after={cursor}")["detail"]
    )


def test_one_row_by_single_compound_and_rowid_key(sample: LiveApp, edge: LiveApp) -> None:
    assert sample.json("/api/tables/books/rows/5")["row"]["id"] == 5
    assert sample.json("/api/tables/book_genres/rows/1,7")["row"] == {"book_id": 1, "genre_id": 7}
    assert edge.json("/api/tables/compound/rows/a~2Cb,1")["row"]["note"] == "comma"
    assert edge.json("/api/tables/compound/rows/a~7Eb,2")["row"]["note"] == "tilde"
    assert edge.json("/api/tables/compound/rows/" + quote("ü~2Fv,3"))["row"]["note"] == "slash"
    assert edge.json("/api/tables/plain/rows/3")["row"] == {
        "rowid": 3,
        "name": None,
        "score": 2.5,
        "n": 2,
    }
    assert edge.json("/api/tables/values/rows/1?_ints=string")["row"]["big"] == str(BIG)


def test_one_row_errors(sample: LiveApp, edge: LiveApp) -> None:
    assert "no row" in str(problem(sample, "/api/tables/books/rows/999999", 404)["detail"])
    assert "no primary key" in str(
        problem(sample, "/api/tables/books_with_authors/rows/1", 404)["detail"]
    )
    assert "integer" in str(problem(sample, "/api/tables/books/rows/abc")["detail"])
    assert "2 parts" in str(problem(sample, "/api/tables/book_genres/rows/1")["detail"])
    assert problem(sample, "/api/tables/books/rows/1?title=x")["status"] == 400


def test_views_page_by_offset_and_see_every_row(sample: LiveApp) -> None:
    url, seen = "/api/tables/books_with_authors/rows?_limit=700&_sort=-year&_select=id", []
    while url:
        body = sample.json(url)
        seen += [r["id"] for r in body["rows"]]
        url = body["next_url"]
    assert sorted(seen) == list(range(1, 1801))


def test_tables_without_any_usable_rowid_still_page(edge: LiveApp) -> None:
    first = edge.json("/api/tables/shadowed/rows?_limit=1")
    assert first["rows"] == [{"rowid": "r1", "oid": "o1", "_rowid_": "x1", "v": 1}]
    assert edge.json(first["next_url"])["rows"][0]["v"] == 2


def test_column_starting_with_underscore_can_still_be_filtered(tmp_path: Path) -> None:
    from sqlapi.config import Settings

    path = tmp_path / "u.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (_id INTEGER PRIMARY KEY, _sort TEXT)")
    conn.executemany("INSERT INTO t VALUES (?, ?)", [(1, "x"), (2, "y")])
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path))
    try:
        assert rows(live, "/api/tables/t/rows?_id=2") == [{"_id": 2, "_sort": "y"}]
        assert rows(live, "/api/tables/t/rows?_sort__exact=x") == [{"_id": 1, "_sort": "x"}]
        assert rows(live, "/api/tables/t/rows?_sort=-_id&_=123")[0]["_id"] == 2
    finally:
        live.close()


def test_the_contracts_or_example_answers_as_sqlite_does(sample: LiveApp) -> None:
    """API.md's `_or` example, verbatim (its `in_print.true` names no operator)."""
    from sqlapi.config import sample_database

    url = "/api/tables/books/rows?_or=(year__lt.1950,and(rating__gte.4.5,in_print.true))"
    page = sample.json(url + "&_select=id&_limit=1000&_count=true")
    conn = sqlite3.connect(f"file:{sample_database()}?mode=ro", uri=True)
    expected = [r[0] for r in conn.execute(
        "SELECT id FROM books WHERE year < 1950 OR (rating >= 4.5 AND in_print = 1) ORDER BY id"
    )]  # fmt: skip
    conn.close()
    assert [r["id"] for r in page["rows"]] == expected and page["count"] == len(expected) > 0
