"""`GET /api/tables/{table}/aggregate`, differentially: every answer, paged to its end,
equals what an oracle computes on the same rows (in Python for a generated table with
NULLs, non-dates and values needing quotes; hand-written SQL for chinook), and every
mistake is a 400 problem."""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sqlapi.config import Settings
from tests.fixtures import LiveApp
from tests.helpers import wait_for, write

REGIONS = ["north", "south", "a,b", 'q"uote', "(x)", "ü", "Ü", "日本", "", None]
DATES = [
    "2024-03-05",
    "2024-03-05T10:20:00",
    "2024-03-31 23:59",
    "2024-04-01T00:00:00.000",
    "2025-12-31T08:00:00",
    "2023-01-15",
    "not a date",
    "",
    "2024-13-01",  # no such month: not a date
    "2024-3-5",  # not ISO-8601
    "20240305",
    None,
]


def build_sales_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE sales (id INTEGER PRIMARY KEY, region TEXT, qty INTEGER NOT NULL, "
        "price REAL, sold TEXT, note TEXT)"
    )
    rows = []
    for n in range(1, 121):
        region = REGIONS[(n * 7) % len(REGIONS)]
        qty = (n * 13) % 11 - 3
        price = None if n % 9 == 0 else round(((n * 37) % 23) * 1.25, 2)
        sold = DATES[(n * 5) % len(DATES)]
        rows.append((n, region, qty, price, sold, f"note {n % 4}"))
    conn.executemany("INSERT INTO sales VALUES (?, ?, ?, ?, ?, ?)", rows)
    conn.execute(
        "CREATE VIEW per_note AS SELECT note, count(*) AS n, sum(qty) AS q FROM sales GROUP BY note"
    )
    conn.execute("CREATE TABLE big (id INTEGER PRIMARY KEY, g TEXT, v INTEGER)")
    conn.executemany(
        "INSERT INTO big VALUES (?, ?, ?)",
        [(1, "exact", 2**62 + 1), (2, "exact", 2), (3, "over", 2**62), (4, "over", 2**62),
         (5, "over", 2**62)],
    )  # fmt: skip
    conn.commit()
    conn.close()
    return path


@pytest.fixture(scope="module")
def sales_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_sales_db(tmp_path_factory.mktemp("aggregates") / "sales.db")


@pytest.fixture(scope="module")
def live(sales_path: Path) -> Iterator[LiveApp]:
    app = LiveApp(Settings(database=sales_path))
    yield app
    app.close()


def sales_rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    names = ["id", "region", "qty", "price", "sold", "note"]
    rows = [dict(zip(names, r, strict=True)) for r in conn.execute("SELECT * FROM sales")]
    conn.close()
    return rows


# ---------------------------------------------------------------------------------------
# The oracle: grouping and aggregating in Python, with SQLite's ordering (NULLs first)

FORMATS = {"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d", "hour": "%Y-%m-%dT%H"}


def bucket(kind: str, value: object) -> str | None:
    """The bucket of an ISO-8601 date or date-time text; None for anything else."""
    if not isinstance(value, str) or not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?", value
    ):
        return None
    try:
        moment = datetime.fromisoformat(value.replace(" ", "T"))
    except ValueError:
        return None
    return moment.strftime(FORMATS[kind])


def key_of(term: str, row: dict[str, Any]) -> object:
    kind, colon, column = term.partition(":")
    return bucket(kind, row[column]) if colon else row[term]


def output_of(term: str, rows: list[dict[str, Any]]) -> object:
    function, _, column = term.partition(":")
    if function == "count":
        return len(rows)
    values = [r[column] for r in rows if r[column] is not None]
    if function == "count_distinct":
        return len(set(values))
    if not values:
        return None
    if function == "sum":
        return sum(values)
    if function == "avg":
        return sum(values) / len(values)
    return min(values) if function == "min" else max(values)


def name_of(term: str) -> str:
    kind, colon, column = term.partition(":")
    return f"{kind}_{column}" if colon else term


def sort_value(value: object) -> tuple[int, object]:
    return (0, 0) if value is None else (1, value)


def oracle(
    rows: list[dict[str, Any]], keys: list[str], outputs: list[str], sort: str | None
) -> list[dict[str, object]]:
    groups: dict[tuple[object, ...], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(key_of(k, row) for k in keys), []).append(row)
    if not keys and not groups:
        groups[()] = []  # no GROUP BY: one row over no rows
    answer = [
        {**{name_of(k): v for k, v in zip(keys, key, strict=True)},
         **{name_of(o): output_of(o, members) for o in outputs}}
        for key, members in groups.items()
    ]  # fmt: skip
    order = [name_of(k) for k in keys]
    if sort is not None:
        name = sort.lstrip("-")
        order = [n for n in order if n != name]
    # a stable sort by the keys, then by the requested term: the keys break its ties
    answer.sort(key=lambda r: tuple(sort_value(r[n]) for n in order))
    if sort is not None:
        answer.sort(key=lambda r: sort_value(r[sort.lstrip("-")]), reverse=sort.startswith("-"))
    return answer


def same(got: list[dict[str, object]], expected: list[dict[str, object]]) -> bool:
    if len(got) != len(expected):
        return False
    for a, b in zip(got, expected, strict=True):
        if a.keys() != b.keys():
            return False
        for name in a:
            x, y = a[name], b[name]
            if isinstance(x, float) or isinstance(y, float):
                if x is None or y is None or not math.isclose(x, y, rel_tol=1e-9):  # type: ignore[arg-type]
                    return False
            elif x != y or type(x) is not type(y):
                return False
    return True


def every_page(live: LiveApp, query: list[tuple[str, str]]) -> list[dict[str, object]]:
    """The groups of every page, following `next`."""
    url = "/api/tables/sales/aggregate?" + urlencode(query)
    page = live.json(url)
    rows = list(page["rows"])
    for _ in range(200):
        if page["next"] is None:
            return rows
        assert page["next_url"].endswith(page["next"])
        page = live.json(url + "&" + urlencode({"_after": page["next"]}))
        rows += page["rows"]
    raise AssertionError("more than 200 pages")


# ---------------------------------------------------------------------------------------
# Differential

KEYS = ["region", "qty", "note", "year:sold", "month:sold", "day:sold", "hour:sold"]
OUTPUTS = ["count", "count_distinct:region", "count_distinct:sold", "sum:qty", "sum:price",
    "avg:price", "avg:qty", "min:region", "max:region", "min:sold", "max:qty",
    "min:price"]  # fmt: skip
FILTERS: list[tuple[list[tuple[str, str]], Any]] = [
    ([], lambda r: True),
    ([("qty__gte", "2")], lambda r: r["qty"] >= 2),
    ([("region__in", "north,a,b")], lambda r: r["region"] in ("north", "a", "b")),
    ([("region__isnull", "true")], lambda r: r["region"] is None),
    ([("price__lt", "10")], lambda r: r["price"] is not None and r["price"] < 10),
    ([("_or", '(region.north,region."a,b",price__gt.20)')],
     lambda r: r["region"] in ("north", "a,b") or (r["price"] is not None and r["price"] > 20)),
    ([("sold__startswith", "2024-03"), ("qty__lt", "5")],
     lambda r: (r["sold"] or "").startswith("2024-03") and r["qty"] < 5),
]  # fmt: skip


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    keys=st.lists(st.sampled_from(KEYS), max_size=2, unique=True),
    outputs=st.lists(st.sampled_from(OUTPUTS), min_size=1, max_size=4, unique=True),
    chosen=st.integers(0, len(FILTERS) - 1),
    sort=st.one_of(st.none(), st.tuples(st.booleans(), st.integers(0, 10))),
    limit=st.integers(1, 40),
)
def test_every_aggregate_equals_the_oracle_page_by_page(
    live: LiveApp,
    sales_path: Path,
    keys: list[str],
    outputs: list[str],
    chosen: int,
    sort: tuple[bool, int] | None,
    limit: int,
) -> None:
    filters, keep = FILTERS[chosen]
    terms = [*keys, *outputs]
    sorted_by = None
    if sort is not None:
        descending, pick = sort
        sorted_by = ("-" if descending else "") + name_of(terms[pick % len(terms)])
    query = [("_agg", ",".join(outputs)), ("_limit", str(limit)), *filters]
    if keys:
        query.append(("_group", ",".join(keys)))
    if sorted_by:
        query.append(("_sort", sorted_by))
    rows = [r for r in sales_rows(sales_path) if keep(r)]
    expected = oracle(rows, keys, outputs, sorted_by)
    got = every_page(live, query)
    assert same(got, expected), (query, got[:5], expected[:5])


def test_non_dates_group_under_null_and_buckets_are_iso_text(live: LiveApp) -> None:
    page = live.json("/api/tables/sales/aggregate?_group=month:sold&_agg=count&_limit=1000")
    months = [r["month_sold"] for r in page["rows"]]
    assert months == [None, "2023-01", "2024-03", "2024-04", "2025-12"]
    nulls = page["rows"][0]["count"]
    not_dates = [d for d in DATES if bucket("month", d) is None]
    per_value = 120 // len(DATES)
    assert nulls == per_value * len(not_dates)


# ---------------------------------------------------------------------------------------
# Types, formats, caching


def test_outputs_keep_their_types_and_sum_is_exact_to_64_bits(live: LiveApp) -> None:
    page = live.json("/api/tables/big/aggregate?_group=g&_agg=sum:v,avg:v,min:v,max:g&g=exact")
    (row,) = page["rows"]
    assert row["sum_v"] == 2**62 + 3 and type(row["sum_v"]) is int  # beyond a float's 53 bits
    assert isinstance(row["avg_v"], float) and row["min_v"] == 2 and row["max_g"] == "exact"
    strings = live.json("/api/tables/big/aggregate?_group=g&_agg=sum:v&g=exact&_ints=string")
    assert strings["rows"] == [{"g": "exact", "sum_v": str(2**62 + 3)}]
    summed = live.json("/api/tables/sales/aggregate?_agg=sum:qty,sum:price,avg:qty")["rows"][0]
    assert type(summed["sum_qty"]) is int and type(summed["sum_price"]) is float
    assert type(summed["avg_qty"]) is float


def test_an_integer_sum_that_overflows_is_a_400_not_a_5xx(live: LiveApp) -> None:
    response = live.get("/api/tables/big/aggregate?_agg=sum:v&g=over")
    assert response.status == 400, response.body
    assert response.content_type == "application/problem+json"
    assert "overflow" in response.json()["detail"].lower()


def test_csv_and_ndjson_stream_the_groups_of_the_json_answer(live: LiveApp) -> None:
    query = "_group=region&_agg=count,avg:price&_sort=-count&_limit=1000"
    rows = live.json(f"/api/tables/sales/aggregate?{query}")["rows"]
    ndjson = live.get(f"/api/tables/sales/aggregate?{query}&_format=ndjson")
    assert ndjson.status == 200 and ndjson.content_type.startswith("application/x-ndjson")
    assert [json.loads(line) for line in ndjson.body.decode().splitlines()] == rows
    text = live.get(f"/api/tables/sales/aggregate?{query}&_format=csv")
    assert text.status == 200 and text.content_type.startswith("text/csv")
    table = list(csv.reader(io.StringIO(text.body.decode())))
    assert table[0] == ["region", "count", "avg_price"]
    assert [r[0] for r in table[1:]] == ["" if r["region"] is None else r["region"] for r in rows]
    assert [int(r[1]) for r in table[1:]] == [r["count"] for r in rows]
    limited = live.get(f"/api/tables/sales/aggregate?{query[: -len('1000')]}3&_format=ndjson")
    assert [json.loads(line) for line in limited.body.decode().splitlines()] == rows[:3]


def test_an_export_without_a_limit_streams_every_group(live: LiveApp) -> None:
    """A page is 100 groups by default; an export is every group (or `_limit` of them)."""
    for fmt in ("ndjson", "csv"):
        everything = live.get(f"/api/tables/sales/aggregate?_group=id&_format={fmt}")
        lines = everything.body.decode().splitlines()
        assert len(lines) == 120 + (fmt == "csv"), (fmt, len(lines))
    limited = live.get("/api/tables/sales/aggregate?_group=id&_format=ndjson&_limit=7")
    assert len(limited.body.decode().splitlines()) == 7


def test_a_views_untyped_computed_column_sums(live: LiveApp, sales_path: Path) -> None:
    page = live.json("/api/tables/per_note/aggregate?_agg=sum:n,avg:q,max:n")
    conn = sqlite3.connect(sales_path)
    expected = conn.execute("SELECT sum(n), avg(q), max(n) FROM per_note").fetchone()
    conn.close()
    assert [page["rows"][0][k] for k in ("sum_n", "avg_q", "max_n")] == pytest.approx(expected)
    assert expected[0] == 120


def test_an_answer_follows_a_write_to_the_file(tmp_path: Path) -> None:
    path = build_sales_db(tmp_path / "sales.db")
    app = LiveApp(Settings(database=path))
    try:
        url = "/api/tables/sales/aggregate?_group=note&_agg=count"
        before = app.json(url)["rows"]
        assert app.json(url)["rows"] == before  # the cached answer
        write(path, "INSERT INTO sales (region, qty, note) VALUES ('west', 1, 'note 0')")
        after = wait_for(  # the file's watcher notices the new version
            lambda: (rows := app.json(url)["rows"]) != before and rows, what="a new answer"
        )
        assert after[0] == {"note": "note 0", "count": before[0]["count"] + 1}
        assert after[1:] == before[1:]
    finally:
        app.close()


# ---------------------------------------------------------------------------------------
# Mistakes: 400 problems naming what is wrong


@pytest.mark.parametrize(
    ("query", "detail"),
    [
        ("_agg=median:qty", "unknown function"),
        ("_agg=sum:region", "numeric"),
        ("_agg=avg:sold", "numeric"),
        ("_group=month:qty", "ISO-8601"),
        ("_group=week:sold", "date bucket"),
        ("_group=nope", "nope"),
        ("_agg=max:nope", "nope"),
        ("_agg=count:qty", "count takes no column"),
        ("_agg=sum", "needs a column"),
        ("_group=region&_agg=count&_sort=price", "not a group key or an output"),
        ("_agg=count&_limit=0", "_limit"),
        ("_agg=count&_after=bm90IGEgY3Vyc29y", "_after"),
        ("_agg=count&_group=region&_agg=min:region&_group=min:region", ""),
        ("_agg=count&_or=(qty__gte.1", "expected"),
        ("_agg=count&qty__gte=many", "qty"),
        ("_agg=count&_expand=region", "_expand"),
        ("_agg=count&_offset=1", "_offset does not apply here"),
        ("_agg=count&_select=id", "_select does not apply here"),
    ],
)
def test_mistakes_are_400_problems(live: LiveApp, query: str, detail: str) -> None:
    response = live.get(f"/api/tables/sales/aggregate?{query}")
    assert response.status == 400, (query, response.status, response.body[:300])
    assert response.content_type == "application/problem+json"
    assert detail in response.json()["detail"]


def test_two_terms_of_one_name_are_refused_and_a_query_of_10000_terms_is_bounded(
    live: LiveApp,
) -> None:
    dup = live.get("/api/tables/sales/aggregate?_group=region,region&_agg=count,count")
    assert dup.status == 200 and dup.json()["group"] == ["region"]  # repeats said once
    terms = ",".join(f"count_distinct:{c}" for c in ["region", "qty", "price", "sold"] * 2500)
    assert live.get(f"/api/tables/sales/aggregate?_agg={terms}").status == 200  # 4 distinct
    columns = ["region", "qty", "note", "price", "sold", "id"]
    keys = ",".join([*columns, "year:sold", "month:sold", "day:sold"])
    outputs = [f"{f}:{c}" for f in ("min", "max", "count_distinct") for c in columns]
    outputs += [f"{f}:{c}" for f in ("sum", "avg") for c in ("qty", "price", "id")]
    wide = live.get(f"/api/tables/sales/aggregate?_group={keys}&_agg=count,{','.join(outputs)}")
    assert wide.status == 400 and "at most" in wide.json()["detail"]


# ---------------------------------------------------------------------------------------
# chinook: hand-written SQL as the oracle


@pytest.mark.parametrize(
    ("query", "sql"),
    [
        (
            "_group=GenreId&_agg=count,sum:Milliseconds,avg:UnitPrice,max:Name",
            "SELECT GenreId, count(*), sum(Milliseconds), avg(UnitPrice), max(Name) FROM Track "
            "GROUP BY GenreId ORDER BY GenreId",
        ),
        (
            "_group=year:InvoiceDate&_agg=sum:Total,count_distinct:CustomerId&BillingCountry=USA",
            "SELECT substr(InvoiceDate, 1, 4), sum(Total), count(DISTINCT CustomerId) FROM Invoice "
            "WHERE BillingCountry = 'USA' GROUP BY 1 ORDER BY 1",
        ),
        (
            "_group=month:InvoiceDate&_agg=count&_sort=-count&_limit=1000",
            "SELECT substr(InvoiceDate, 1, 7) AS m, count(*) AS c FROM Invoice GROUP BY m "
            "ORDER BY c DESC, m",
        ),
        (
            "_agg=count,min:Milliseconds,max:Milliseconds&_or=(GenreId.1,MediaTypeId__gte.4)",
            "SELECT count(*), min(Milliseconds), max(Milliseconds) FROM Track "
            "WHERE GenreId = 1 OR MediaTypeId >= 4",
        ),
        (
            "_group=AlbumId.ArtistId&_agg=count&_limit=1000",
            "SELECT AlbumId, count(*) FROM Track GROUP BY AlbumId ORDER BY AlbumId",
        ),
    ],
)
def test_chinook_aggregates_equal_hand_written_sql(
    chinook: LiveApp, chinook_path: Path, query: str, sql: str
) -> None:
    table = "Invoice" if "Invoice" in sql else "Track"
    if query.startswith("_group=AlbumId.ArtistId"):  # a related filter applies first
        query, table = "_group=AlbumId&_agg=count&_limit=1000&AlbumId.ArtistId=22", "Track"
        sql = ("SELECT t.AlbumId, count(*) FROM Track t JOIN Album a ON a.AlbumId = t.AlbumId "
               "WHERE a.ArtistId = 22 GROUP BY t.AlbumId ORDER BY t.AlbumId")  # fmt: skip
    conn = sqlite3.connect(f"file:{chinook_path}?mode=ro", uri=True)
    expected = [list(r) for r in conn.execute(sql)]
    conn.close()
    page = chinook.json(f"/api/tables/{table}/aggregate?{query}")
    got = [list(r.values()) for r in page["rows"]]
    assert len(got) == len(expected) > 0
    for a, b in zip(got, expected, strict=True):
        assert a == pytest.approx(b)


# ---------------------------------------------------------------------------------------
# OpenAPI


def test_the_document_lists_only_the_terms_a_table_allows(live: LiveApp) -> None:
    document = live.json("/openapi/sales.json")
    operation = document["paths"]["/api/tables/sales/aggregate"]["get"]
    parameters = {p.get("name"): p for p in operation["parameters"] if "name" in p}
    groups = set(parameters["_group"]["schema"]["items"]["enum"])
    outputs = set(parameters["_agg"]["schema"]["items"]["enum"])
    assert {"region", "month:sold", "year:sold"} <= groups
    assert "month:qty" not in groups and "month:price" not in groups
    assert {"count", "sum:qty", "avg:price", "min:region", "count_distinct:sold"} <= outputs
    assert "sum:region" not in outputs and "avg:sold" not in outputs
    row = document["components"]["schemas"]["SalesAggregateRow"]

    def typed(name: str) -> Any:
        if name in row["properties"]:
            return row["properties"][name]
        return next(v for p, v in row["patternProperties"].items() if re.fullmatch(p, name))

    assert typed("count")["type"] == "integer" and typed("count_distinct_sold")["type"] == "integer"
    assert typed("avg_qty")["type"] == ["number", "null"]
    assert typed("month_sold")["type"] == ["string", "null"]
    assert typed("sum_qty")["type"] == ["integer", "null"] and typed("max_price")["type"] == [
        "number",
        "null",
    ]
    assert row["additionalProperties"] is False
