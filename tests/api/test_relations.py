"""Relations under hostile and edge input: every mistake in `_expand`, `_embed`,
`_embed_limit`, filters across a key, `_or` and JSON paths is a 400 (or a 403 for a table
the caller may not read) with a problem body, never a 5xx; denied tables and hidden
columns stay invisible through every relation; the OpenAPI document still validates."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from openapi_spec_validator import validate

from sqlapi.auth.settings import hash_key
from sqlapi.config import Settings, load_settings, sample_database
from tests.fixtures import LiveApp
from tests.helpers import write


def problem(live: LiveApp, url: str, status: int = 400, **headers: str) -> dict[str, Any]:
    response = live.get(url, headers=headers)
    assert response.status == status, (url, response.status, response.body[:300])
    assert response.content_type == "application/problem+json", url
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["detail"], url
    return body


def rows_url(table: str, *pairs: tuple[str, str]) -> str:
    return f"/api/tables/{quote(table)}/rows?" + urlencode(pairs)


# ---------------------------------------------------------------------------------------
# Unknown names and malformed items


@pytest.mark.parametrize(
    ("params", "allowed"),
    [
        ([("_expand", "nope")], ["author_id"]),
        ([("_expand", "title")], ["author_id"]),  # a column, but not a key
        ([("_expand", "authors")], ["author_id"]),  # a table, but keys are named by column
        ([("_embed", "nope")], ["book_genres", "loans"]),
        ([("_embed", "authors")], ["book_genres", "loans"]),  # books refers to it, not back
        ([("_embed", ".book_id")], ["book_genres", "loans"]),
        ([("_embed", "loans.book_id.x")], ["book_genres", "loans"]),
        ([("_embed", "loans.member_id")], ["loans.book_id"]),  # a key, but onto members
        ([("_expand", "author_id(nope)")], ["id", "name", "born", "country"]),
        (
            [("_embed", "loans(nope)")],
            ["id", "book_id", "member_id", "borrowed", "returned", "days_out"],
        ),
        ([("author_id.nope", "x")], ["id", "name", "born", "country"]),
        ([("author_id.nope__startswith", "x")], ["id", "name", "born", "country"]),
        ([("nope.name", "x")], None),
        ([("author_id.name.x", "1")], ["id", "name", "born", "country"]),
        ([("author_id.", "x")], ["id", "name", "born", "country"]),
    ],
)
def test_unknown_names_are_a_400_listing_the_allowed_ones(
    sample: LiveApp, params: list[tuple[str, str]], allowed: list[str] | None
) -> None:
    body = problem(sample, rows_url("books", *params))
    if allowed is not None:
        assert body["allowed"] == allowed


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("_expand", "author_id("),
        ("_expand", "author_id(name))"),
        ("_expand", "(("),
        ("_expand", "))"),
        ("_expand", ")author_id("),
        ("_expand", "author_id()"),
        ("_expand", "author_id(name)(id)"),
        ("_expand", "author_id(name"),
        ("_expand", "(author_id)"),
        ("_expand", "author_id(name,)x"),
        ("_expand", "author_id((name))"),
        ("_expand", "author_id(\x00)"),
        ("_embed", "loans("),
        ("_embed", "loans(id))"),
        ("_embed", "loans()"),
        ("_embed", "(("),
        ("_embed", "loans.(id)"),
    ],
)
def test_malformed_parentheses_are_a_400(sample: LiveApp, parameter: str, value: str) -> None:
    problem(sample, rows_url("books", (parameter, value)))
    problem(sample, f"/api/tables/books/rows/1?{urlencode([(parameter, value)])}")


@pytest.mark.parametrize(
    "item",
    [
        "1a:author_id",
        "a-b:author_id",
        ":author_id",
        "é:author_id",
        "a b:author_id",
        "a:b:author_id",
        "author:",
        "a.b:author_id",
        "-:author_id",
        "$x:author_id",
    ],
)
def test_aliases_that_are_not_names_are_a_400(sample: LiveApp, item: str) -> None:
    problem(sample, rows_url("books", ("_expand", item)))
    embed_item = item.replace("author_id", "loans") if item != "author:" else "l:"
    problem(sample, rows_url("books", ("_embed", embed_item)))


def test_empty_items_add_nothing(sample: LiveApp) -> None:
    for value in ("", ",,,"):
        page = sample.json(rows_url("books", ("_expand", value), ("_limit", "1")))
        assert set(page["rows"][0]) == {
            "id",
            "title",
            "author_id",
            "year",
            "pages",
            "rating",
            "isbn",
            "in_print",
            "description",
        }
    page = sample.json(rows_url("books", ("_expand", "author_id,"), ("_limit", "1")))
    assert page["rows"][0]["authors"]["id"] == page["rows"][0]["author_id"]


# ---------------------------------------------------------------------------------------
# Sizes and member names


def test_a_thousand_expansions_or_embeddings_are_a_400(sample: LiveApp) -> None:
    many = ",".join(f"a{i}:author_id" for i in range(1000))
    problem(sample, rows_url("books", ("_expand", many)))
    problem(sample, rows_url("books", *[("_expand", f"a{i}:author_id") for i in range(1000)]))
    problem(sample, rows_url("books", ("_expand", ",".join(["author_id"] * 1000))))
    problem(sample, rows_url("books", ("_embed", ",".join(f"l{i}:loans" for i in range(1000)))))
    deep = "author_id(" * 1000 + ")" * 1000
    problem(sample, rows_url("books", ("_expand", deep)))
    # ten are allowed, eleven are not
    ten = ",".join(f"a{i}:author_id(id)" for i in range(10))
    assert sample.get(rows_url("books", ("_expand", ten), ("_limit", "1"))).status == 200
    problem(sample, rows_url("books", ("_expand", ten + ",a10:author_id")))


@pytest.mark.parametrize(
    "params",
    [
        [("_expand", "author_id"), ("_expand", "author_id")],
        [("_expand", "author_id,author_id")],
        [("_expand", "title:author_id")],  # a member named as a column
        [("_expand", "TITLE:author_id")],  # names fold as SQLite folds them
        [("_expand", "authors:author_id"), ("_embed", "authors:loans")],
        [("_embed", "loans"), ("_embed", "loans")],
        [("_embed", "loans"), ("_expand", "loans:author_id")],
        [("_embed", "id:loans")],
    ],
)
def test_two_relations_on_one_member_name_are_a_400(
    sample: LiveApp, params: list[tuple[str, str]]
) -> None:
    body = problem(sample, rows_url("books", *params))
    assert body["type"].endswith("member-clash"), body


def test_aliases_resolve_a_clash(sample: LiveApp) -> None:
    page = sample.json(
        rows_url(
            "books",
            ("_expand", "author_id,a2:author_id(name)"),
            ("_embed", "loans(id),l2:loans(member_id)"),
            ("_limit", "2"),
            ("_embed_limit", "1"),
        )
    )
    row = page["rows"][0]
    assert row["a2"] == {"name": row["authors"]["name"]}
    assert len(row["loans"]["rows"]) == len(row["l2"]["rows"]) <= 1


@pytest.mark.parametrize(
    "value", ["0", "101", "x", "-1", "1e2", "1.5", " ", "99999999999999999999999"]
)
def test_embed_limit_out_of_range_or_not_a_number_is_a_400(sample: LiveApp, value: str) -> None:
    problem(sample, rows_url("books", ("_embed", "loans"), ("_embed_limit", value)))
    problem(sample, f"/api/tables/books/rows/1?_embed=loans&_embed_limit={quote(value)}")


def test_embed_limit_bounds_and_repeats(sample: LiveApp) -> None:
    for value in ("1", "100"):
        assert (
            sample.get(rows_url("books", ("_embed", "loans"), ("_embed_limit", value))).status
            == 200
        )
    problem(
        sample, rows_url("books", ("_embed", "loans"), ("_embed_limit", "1"), ("_embed_limit", "2"))
    )


# ---------------------------------------------------------------------------------------
# Boolean groups and JSON paths


def or_terms(n: int) -> str:
    return "(" + ",".join(f"year__exact.{1900 + i % 100}" for i in range(n)) + ")"


@pytest.mark.parametrize(
    "group",
    [
        " ",
        "(",
        ")",
        "()",
        "(and())",
        "(year__exact.1",
        "(year__exact.1))",
        "((year__exact.1)",
        "(and(year__exact.1)",
        "(year__exact.1,)",
        "(,year__exact.1)",
        "(year__nope.1)",
        "(nope__exact.1)",
        '(title__exact."abc)',
        '(title__exact."a\\x")',
        '(title__exact."a"b)',
        "(foo(year__exact.1))",
        "(AND(year__exact.1))",
        "(year__exact.abc)",
        "(author_id.nope__exact.1)",
        "(nope.name__exact.1)",
        "(description->a..b__exact.1)",
        "year__exact.1",
        "(" + "and(" * 9 + "year__exact.1" + ")" * 9 + ")",
        "(" + "or(" * 100 + "year__exact.1" + ")" * 100 + ")",
        "(" * 10_000 + ")" * 10_000,
        or_terms(101),
        or_terms(10_000),
    ],
)
def test_malformed_or_is_a_400_with_a_position(sample: LiveApp, group: str) -> None:
    body = problem(sample, rows_url("books", ("_or", group)))
    if body["type"].endswith("bad-group"):
        assert isinstance(body["position"], int) and 0 <= body["position"] <= len(group)


def test_an_empty_or_is_no_group_as_a_forms_empty_field_sends_it(sample: LiveApp) -> None:
    every = sample.json("/api/tables/books/rows?_limit=1000&_select=id")["rows"]
    assert sample.json("/api/tables/books/rows?_limit=1000&_select=id&_or=")["rows"] == every


def test_or_limits_are_the_documented_ones(sample: LiveApp) -> None:
    """Depth 8 and 100 terms are fine; more filters than 100 in one request are not."""
    eight = "(" + "and(" * 7 + "year__exact.1999" + ")" * 7 + ")"
    assert sample.get(rows_url("books", ("_or", eight))).status == 200
    assert sample.get(rows_url("books", ("_or", or_terms(100)))).status == 200
    problem(sample, rows_url("books", ("_or", or_terms(100)), ("_or", or_terms(1))))


@pytest.mark.parametrize(
    "key",
    [
        "description->json(a)",
        "description->a.length()",
        "description->$.a",
        "description->a[0]",
        "description->'a'",
        'description->"a"',
        "description->a.$",
        "description->a;drop",
        "description->",
        "description->a..b",
        "description->.a",
        "description->a.",
        "description->-1",
        "description->a b",
        "description->a'b",
        'description->a"b',
        "description->$",
        "description->a->b",
        "description->ü",
        "description->a.*",
        "description->a__nope",
        "nope->a",
        "author_id.name->a",
    ],
)
def test_bad_json_paths_are_a_400(sample: LiveApp, key: str) -> None:
    problem(sample, rows_url("books", (key, "1")))
    if "__" not in key:  # in a group the operator is always named: a__nope is a path there
        problem(sample, rows_url("books", ("_or", f"({key}__exact.1)")))


def test_json_paths_that_reach_nothing_match_nothing(sample: LiveApp) -> None:
    for key in ("description->a", "description->99999999999999999999999", "year->0.a"):
        assert sample.json(rows_url("books", (key, "1")))["rows"] == [], key


# ---------------------------------------------------------------------------------------
# Formats, endpoints that take no relations


def test_csv_with_relations_is_a_400(sample: LiveApp) -> None:
    for pair in (("_expand", "author_id"), ("_embed", "loans")):
        problem(sample, rows_url("books", pair, ("_format", "csv")))


def test_csv_chosen_by_accept_with_relations_is_a_400(sample: LiveApp) -> None:
    problem(sample, rows_url("books", ("_expand", "author_id"), ("_limit", "2")), Accept="text/csv")


def test_relations_do_not_apply_to_other_endpoints(sample: LiveApp) -> None:
    problem(sample, "/api/tables/books/columns/title?_expand=author_id")
    problem(sample, "/api/tables/books/columns/title?_embed=loans")
    problem(sample, "/api/data/title?_expand=author_id")
    problem(sample, "/api/tables/books/rows/1?_expand=author_id&year=1")
    problem(sample, "/api/tables/books_with_authors/rows?_expand=author_id")
    problem(sample, "/api/tables/books_with_authors/rows?_embed=loans")
    assert problem(sample, "/api/tables/authors/rows?_embed=books_with_authors")["allowed"] == [
        "books"
    ]


def test_one_row_and_ndjson_carry_relations(sample: LiveApp) -> None:
    one = sample.json(
        "/api/tables/books/rows/1?_expand=a:author_id(name)&_embed=loans(id)&_embed_limit=1"
    )
    assert set(one["row"]["a"]) == {"name"} and len(one["row"]["loans"]["rows"]) <= 1
    response = sample.get(
        rows_url("books", ("_expand", "author_id(id)"), ("_limit", "3")),
        headers={"Accept": "application/x-ndjson"},
    )
    assert response.status == 200 and response.content_type.startswith("application/x-ndjson")
    for line in response.body.splitlines():
        row = json.loads(line)
        assert row["authors"] == {"id": row["author_id"]}


# ---------------------------------------------------------------------------------------
# The self-reference on chinook


def test_self_reference_needs_an_alias_to_expand_twice(chinook: LiveApp) -> None:
    base = "/api/tables/Employee/rows?_select=EmployeeId,ReportsTo&"
    page = chinook.json(base + "_expand=ReportsTo(EmployeeId)")
    assert [r["Employee"] for r in page["rows"][:3]] == [None, {"EmployeeId": 1}, {"EmployeeId": 2}]
    for clash in (
        "_expand=ReportsTo&_expand=ReportsTo",
        "_expand=ReportsTo,ReportsTo",
        "_expand=ReportsTo&_embed=Employee",
        "_expand=employee:ReportsTo&_embed=Employee",
    ):
        assert problem(chinook, base + clash)["type"].endswith("member-clash"), clash
    expand = "_expand=ReportsTo(EmployeeId),boss:ReportsTo(ReportsTo)"
    page = chinook.json(base + expand + "&_embed=reports:Employee.ReportsTo(EmployeeId)")
    assert page["rows"][2]["boss"] == {"ReportsTo": 1}
    assert page["rows"][0]["reports"]["rows"] == [{"EmployeeId": 2}, {"EmployeeId": 6}]


def test_filters_across_the_self_reference_go_one_key_deep(chinook: LiveApp) -> None:
    rows = chinook.json("/api/tables/Employee/rows?ReportsTo.LastName=Adams&_select=EmployeeId")[
        "rows"
    ]
    assert rows == [{"EmployeeId": 2}, {"EmployeeId": 6}]
    problem(chinook, "/api/tables/Employee/rows?ReportsTo.ReportsTo.LastName=Adams")
    problem(chinook, "/api/tables/Employee/rows?_expand=ReportsTo.ReportsTo")


def test_openapi_still_validates_for_chinook(chinook: LiveApp) -> None:
    validate(chinook.json("/openapi.json"))
    validate(chinook.json("/openapi/Employee.json"))


def test_openapi_documents_expand_and_embed_with_their_names(chinook: LiveApp) -> None:
    document = chinook.json("/openapi.json")
    operation = document["paths"]["/api/tables/Employee/rows"]["get"]
    names = set()
    for parameter in operation["parameters"]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        names.add(parameter["name"])
    assert {"_expand", "_embed", "_embed_limit"} <= names
    assert "ReportsTo" in str(document["components"]), "the allowed names are listed"


# ---------------------------------------------------------------------------------------
# Visibility: denied tables, hidden columns, keys scoped to tables

BOOKS_KEY = "books-only-" + "k" * 40


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    config = tmp_path_factory.mktemp("restricted") / "sqlapi.toml"
    config.write_text('tables_deny = ["authors"]\n\n[tables.members]\nhidden_columns = ["email"]\n')
    live = LiveApp(load_settings(config, database=sample_database()))
    yield live
    live.close()


@pytest.fixture(scope="module")
def scoped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    config = tmp_path_factory.mktemp("scoped") / "sqlapi.toml"
    config.write_text(f'[[api_keys]]\nhash = "{hash_key(BOOKS_KEY)}"\ntables = ["books"]\n')
    live = LiveApp(load_settings(config, database=sample_database()))
    yield live
    live.close()


def test_a_key_onto_a_denied_table_is_not_exposed(restricted: LiveApp) -> None:
    assert problem(restricted, rows_url("books", ("_expand", "author_id")))["allowed"] == []
    detail = restricted.json("/api/tables/books")
    assert detail["foreign_keys"] == []
    assert "authors" not in str(detail)
    problem(restricted, rows_url("books", ("author_id.name", "x")))
    problem(restricted, rows_url("books", ("author_id.name__startswith", "x")))
    problem(restricted, rows_url("books", ("_or", "(author_id.name__exact.x)")))
    problem(restricted, "/api/tables/authors/rows?_embed=books", status=404)
    # the column itself still filters as a column
    assert restricted.get(rows_url("books", ("author_id", "1"))).status == 200


def test_a_hidden_column_never_shows_through_a_relation(restricted: LiveApp) -> None:
    response = restricted.get(rows_url("loans", ("_expand", "member_id"), ("_limit", "50")))
    assert response.status == 200
    assert b"email" not in response.body and b"@" not in response.body
    rows = response.json()["rows"]
    assert set(rows[0]["members"]) == {"id", "name", "joined", "city"}
    one = restricted.get("/api/tables/loans/rows/1?_expand=member_id")
    assert one.status == 200 and b"@" not in one.body
    export = restricted.get(
        rows_url("loans", ("_expand", "member_id"), ("_format", "ndjson"), ("_limit", "50"))
    )
    assert export.status == 200 and b"@" not in export.body
    embedded = restricted.get(rows_url("members", ("_embed", "loans"), ("_limit", "5")))
    assert embedded.status == 200 and b"@" not in embedded.body
    for params in (
        [("_expand", "member_id(email)")],
        [("_expand", "member_id(id,email)")],
        [("member_id.email", "x")],
        [("member_id.email__isnull", "false")],
        [("member_id.email__contains", "@")],
        [("_or", "(member_id.email__contains.@)")],
        [("member_id.email->a", "1")],
    ):
        problem(restricted, rows_url("loans", *params))


@pytest.mark.parametrize(
    ("params", "table"),
    [
        ([("_expand", "author_id")], "authors"),
        ([("_expand", "a:author_id(name)")], "authors"),
        ([("author_id.name", "x")], "authors"),
        ([("author_id.name__startswith", "x")], "authors"),
        ([("_or", "(author_id.name__exact.x)")], "authors"),
        ([("_embed", "loans")], "loans"),
        ([("_embed", "book_genres")], "book_genres"),
    ],
)
def test_a_key_scoped_to_books_may_not_follow_keys_out_of_it(
    scoped: LiveApp, params: list[tuple[str, str]], table: str
) -> None:
    auth = {"Authorization": f"Bearer {BOOKS_KEY}"}
    body = problem(scoped, rows_url("books", *params), status=403, **auth)
    assert table in body["detail"]
    one = "/api/tables/books/rows/1?" + urlencode([p for p in params if p[0].startswith("_e")])
    if "_e" in one:
        assert table in problem(scoped, one, status=403, **auth)["detail"]
    assert scoped.get(rows_url("books", ("author_id", "1")), headers=auth).status == 200


# ---------------------------------------------------------------------------------------
# Tables the relations were not written for

EDGE_SCHEMA = """
CREATE TABLE parent (id INTEGER PRIMARY KEY, name TEXT);
CREATE TABLE shadow (rowid TEXT, oid TEXT, _rowid_ TEXT, parent_id INTEGER REFERENCES parent(id));
CREATE TABLE reserved (id INTEGER PRIMARY KEY, "_limit" INTEGER REFERENCES parent(id),
                       "_after" INTEGER REFERENCES parent(id));
"""


@pytest.fixture(scope="module")
def odd_tables(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    path: Path = tmp_path_factory.mktemp("odd-tables") / "odd.db"
    conn = sqlite3.connect(path)
    conn.executescript(EDGE_SCHEMA)
    conn.executemany("INSERT INTO parent VALUES (?, ?)", [(1, "one"), (2, "two")])
    conn.executemany(
        "INSERT INTO shadow VALUES (?, ?, ?, ?)", [("r1", "o1", "x1", 1), ("r2", "o2", "x2", 1)]
    )
    conn.executemany("INSERT INTO reserved VALUES (?, ?, ?)", [(i, 1, 2) for i in range(1, 5)])
    conn.commit()
    conn.close()
    live = LiveApp(Settings(database=path))
    yield live
    live.close()


@pytest.mark.parametrize(
    "url",
    [
        "/api/tables/parent/rows?_embed=shadow",
        "/api/tables/parent/rows/1?_embed=shadow",
        "/api/tables/shadow/rows?_expand=parent_id",
    ],
)
def test_relations_of_a_table_without_a_key_answer_or_say_why(
    odd_tables: LiveApp, url: str
) -> None:
    response = odd_tables.get(url)
    assert response.status in (200, 400), response.status
    assert b"syntax error" not in response.body and b"cannot answer" not in response.body


def test_export_whose_relations_fail_is_a_problem_not_a_cut_stream(odd_tables: LiveApp) -> None:
    try:
        response = odd_tables.get("/api/tables/shadow/rows?_expand=parent_id&_format=ndjson")
    except Exception as error:  # the test client surfaces the broken stream
        pytest.fail(f"the stream broke after its 200: {error!r}")
    assert response.status in (200, 400)
    if response.status == 200:
        assert len(response.body.splitlines()) == 2


def test_relations_of_a_table_without_a_key_never_5xx(odd_tables: LiveApp) -> None:
    for url in (
        "/api/tables/parent/rows?_embed=shadow",
        "/api/tables/shadow/rows?_expand=parent_id",
        "/api/tables/shadow/rows?parent_id.name=one",
    ):
        response = odd_tables.get(url)
        assert response.status < 500, url
    rows = odd_tables.json("/api/tables/shadow/rows?parent_id.name=one")["rows"]
    assert len(rows) == 2


def test_embed_next_url_of_a_key_column_named_like_a_reserved_parameter(
    odd_tables: LiveApp,
) -> None:
    row = odd_tables.json("/api/tables/parent/rows/1?_embed=reserved._limit&_embed_limit=1")["row"]
    assert row["reserved"]["rows"] == [{"id": 1, "_limit": 1, "_after": 2}]
    rest = odd_tables.get(row["reserved"]["next_url"])
    assert rest.status == 200, rest.body[:300]
    assert [r["id"] for r in rest.json()["rows"]] == [2]


def test_a_key_column_named_like_a_reserved_parameter_filters_across_and_pages(
    tmp_path: Path,
) -> None:
    """`_ref.id=7` is a filter across the key `_ref` and `_meta->a=1` one inside the JSON
    of `_meta` (not unknown reserved parameters), and an embedding's next_url that needs
    the first form continues the list."""
    path = tmp_path / "under.db"
    write(
        path,
        "CREATE TABLE parent (id INTEGER PRIMARY KEY)",
        "CREATE TABLE kid (id INTEGER PRIMARY KEY, _ref TEXT REFERENCES parent(id), _meta TEXT)",
        "INSERT INTO parent VALUES (7)",
        """INSERT INTO kid VALUES (1, '7', '{"a": 1}'), (2, '07', NULL), (3, '7.0', NULL),
                                (4, '8', '{"a": 2}')""",
    )
    live = LiveApp(Settings(database=path))
    try:
        assert live.json("/api/tables/kid/rows?_meta->a=1&_select=id")["rows"] == [{"id": 1}]
        across = live.json("/api/tables/kid/rows?_ref.id=7&_select=id")["rows"]
        first = live.json("/api/tables/parent/rows/7?_embed=kid(id)&_embed_limit=1")["row"]
        rest = live.json(first["kid"]["next_url"].replace("_limit=1", "_limit=10"))["rows"]
    finally:
        live.close()
    assert across == [{"id": 1}, {"id": 2}, {"id": 3}]
    assert first["kid"]["rows"] == [{"id": 1}] and rest == [{"id": 2}, {"id": 3}]


def test_relations_of_a_table_with_a_hidden_column_named_rowid(tmp_path: Path) -> None:
    """Where a hidden column is called `rowid`, SQLite's authorizer blanks every read of
    the true rowid too: such a table's relations are fetched by its key, not by a rowid
    that would read NULL for every row (and relate every row to nothing)."""
    path, config = tmp_path / "hid.db", tmp_path / "sqlapi.toml"
    write(
        path,
        "CREATE TABLE p (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE c (k TEXT PRIMARY KEY, pid INTEGER REFERENCES p(id), rowid TEXT)",
        "CREATE TABLE g (id INTEGER PRIMARY KEY, ck TEXT REFERENCES c(k))",
        "INSERT INTO p VALUES (1, 'one')",
        "INSERT INTO c VALUES ('a', 1, 'secret')",
        "INSERT INTO g VALUES (1, 'a')",
    )
    config.write_text('[tables.c]\nhidden_columns = ["rowid"]\n')
    live = LiveApp(load_settings(config, database=path))
    try:
        page = live.json("/api/tables/c/rows?_expand=pid&_embed=g")["rows"]
    finally:
        live.close()
    assert page == [
        {"k": "a", "pid": 1, "p": {"id": 1, "name": "one"},
         "g": {"rows": [{"id": 1, "ck": "a"}], "next_url": None}}
    ]  # fmt: skip


def test_embed_next_url_keeps_ints_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "big.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE big (id INTEGER PRIMARY KEY);"
        "CREATE TABLE bigkid (id INTEGER PRIMARY KEY, b INTEGER REFERENCES big(id));"
        f"INSERT INTO big VALUES ({2**53 + 1});"
        f"INSERT INTO bigkid VALUES ({2**53 + 3}, {2**53 + 1}), ({2**53 + 5}, {2**53 + 1});"
    )
    conn.close()
    live = LiveApp(Settings(database=path))
    try:
        page = live.json("/api/tables/big/rows?_embed=bigkid&_embed_limit=1&_ints=string")
        embedded = page["rows"][0]["bigkid"]
        assert embedded["rows"] == [{"id": str(2**53 + 3), "b": str(2**53 + 1)}]
        rest = live.json(embedded["next_url"])["rows"]
    finally:
        live.close()
    assert rest == [{"id": str(2**53 + 5), "b": str(2**53 + 1)}]


def test_embedded_lists_stay_whole_when_parent_keys_collate_as_equal(tmp_path: Path) -> None:
    """The parents' keys `a` and `A` are two rows (the key is BINARY) that the column's
    NOCASE collation orders as one: each parent still gets all of its children."""
    path = tmp_path / "collated.db"
    write(
        path,
        "CREATE TABLE parent (name TEXT COLLATE NOCASE, PRIMARY KEY (name COLLATE BINARY))",
        "CREATE TABLE child (id INTEGER PRIMARY KEY, parent_name TEXT REFERENCES parent(name))",
        "INSERT INTO parent VALUES ('a'), ('A')",
        "INSERT INTO child VALUES (1, 'a'), (2, 'A'), (3, 'a'), (4, 'A'), (5, 'a')",
    )
    live = LiveApp(Settings(database=path))
    try:
        answer = live.get("/api/tables/parent/rows?_embed=child")
        assert answer.status == 200
        lists = {
            row["name"]: [c["id"] for c in row["child"]["rows"]] for row in answer.json()["rows"]
        }
        assert lists == {"a": [1, 3, 5], "A": [2, 4]}
    finally:
        live.close()
