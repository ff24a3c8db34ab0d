"""Round two's features side by side on bench/big.db (issues 18-22): relations, aggregates,
`_or`, row policies with RS256 tokens, and the pages and key lookups of the architecture
step, sqlapi on one hypercorn worker against Datasette, SQLite alone as the floor.

    python bench/suite.py --features [--rounds 5] [--seconds 5] [--before BIN]

`--before BIN` adds the `sqlapi` command of another checkout (e.g. the commit before the
architecture split, installed in a venv of its own) for the page and the key lookup.
Run by hand; prints Markdown (medians of interleaved rounds, each round's ratio) and the
statements sqlapi runs for the relation and `_or` requests, built as the server builds
them, with SQLite's query plans.
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import jwt
from common import Load, wrk
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

API_KEY = "bench-key-" + "b" * 32


@dataclass
class Case:
    label: str
    server: str  # which server answers it
    path: str
    headers: dict[str, str] | None = None
    compare: str | None = None  # the label of the case this one is a ratio against


def credentials(folder: Path) -> tuple[Path, Path, str]:
    """(config with an API key, config with RS256 tokens and a row policy, a token)."""
    from sqlapi.auth.settings import hash_key

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = {**RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "bench", "alg": "RS256"}
    (folder / "keys.json").write_text(json.dumps({"keys": [jwk]}))
    keyed = folder / "keyed.toml"
    keyed.write_text(f'[[api_keys]]\nhash = "{hash_key(API_KEY)}"\n')
    policy = folder / "policy.toml"
    policy.write_text(
        f'[auth.jwt]\njwks_file = "{folder / "keys.json"}"\nalgorithms = ["RS256"]\n'
        '[tables.items]\nrow_filter = { category_id = "category" }\n'
    )
    claims = {"sub": "bench", "category": 7, "exp": int(time.time()) + 24 * 3600}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "bench"})
    return keyed, policy, token


def cases(token: str) -> list[Case]:
    items = "/api/tables/items"
    key = {"Authorization": f"Bearer {API_KEY}"}
    bearer = {"Authorization": f"Bearer {token}"}
    three = "_or=(category_id__exact.7,category_id__exact.8,category_id__exact.9)"
    return [
        Case("1. page of 50 rows", "sqlapi", f"{items}/rows?_limit=50"),
        Case("1. page of 50 rows", "Datasette", "/big/items.json?_size=50&_nocount=1"),
        Case("4. one row by key", "sqlapi", f"{items}/rows/500000"),
        Case("4. one row by key", "Datasette", "/big/items/500000.json"),
        Case("r1. _expand=category_id, 50 rows", "sqlapi", f"{items}/rows?_limit=50&_expand=category_id"),
        Case("r1. _expand=category_id, 50 rows", "Datasette", "/big/items.json?_size=50&_nocount=1&_labels=on"),
        Case("r2. _embed=reviews (10 each), 50 rows", "sqlapi", f"{items}/rows?_limit=50&_embed=reviews",
             compare="1. page of 50 rows"),
        Case("a1. aggregate by category_id (count, avg price), cached", "sqlapi",
             f"{items}/aggregate?_group=category_id&_agg=count,avg:price&_limit=500"),
        Case("a1. aggregate by category_id (count, avg price), cached", "Datasette",
             "/big/items.json?_facet=category_id&_size=0&_nocount=1"),
        Case("o1. category_id__in=7,8,9, 50 rows", "sqlapi", f"{items}/rows?category_id__in=7,8,9&_limit=50"),
        Case("o2. _or of the same three terms, 50 rows", "sqlapi", f"{items}/rows?{three}&_limit=50",
             compare="o1. category_id__in=7,8,9, 50 rows"),
        Case("p1. API key, category_id=7, 50 rows", "sqlapi keyed", f"{items}/rows?category_id=7&_limit=50", key),
        Case("p2. RS256 token, row policy category_id=7, 50 rows", "sqlapi policy", f"{items}/rows?_limit=50",
             bearer, compare="p1. API key, category_id=7, 50 rows"),
    ]  # fmt: skip


def first_call_seconds(start_server, database: Path, path: str, runs: int = 3) -> list[float]:  # type: ignore[no-untyped-def]
    """The aggregate on a fresh server: computed, not cached (one server per run)."""
    found = []
    for _ in range(runs):
        server = start_server("sqlapi", database)
        started = time.perf_counter()
        urllib.request.urlopen(server.base + path, timeout=120).read()
        found.append(time.perf_counter() - started)
        server.stop()
    return found


def sqlite_alone(database: Path, sql: str, seconds: float) -> float:
    conn = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        conn.execute(sql).fetchall()
        n += 1
    conn.close()
    return n / (time.perf_counter() - started)


def plans(database: Path) -> list[str]:
    """The statements sqlapi builds for the relation and `_or` cases, with SQLite's plan."""
    from sqlapi.config import Settings
    from sqlapi.request.rows import parse_rows
    from sqlapi.request.types import RequestContext, RequestLimits
    from sqlapi.sql.relations import build_embedding_query, build_expansion_query
    from sqlapi.sql.rows import build_rows_query
    from sqlapi.store.exposure import expose
    from sqlapi.store.readonly import connect_readonly

    schema = expose(Settings(database=database, immutable=True)).schema
    items = schema.table("items")
    assert items is not None
    context = RequestContext(schema, RequestLimits())
    conn = connect_readonly(database, True)  # with sqlapi's own SQL function
    out = []

    def show(title: str, sql: str, params: tuple[object, ...]) -> None:
        plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + sql, params)]
        out.append(f"- {title}: `{sql}`\n  plan: {'; '.join(plan)}")

    for query in ("_limit=50&_expand=category_id", "_limit=50&_embed=reviews",
                  "_limit=50&_or=(category_id__exact.7,category_id__exact.8,category_id__exact.9)",
                  "_limit=50&category_id__in=7,8,9"):  # fmt: skip
        pairs = [tuple(p.split("=", 1)) for p in query.split("&")]
        request, _ = parse_rows(items, pairs, context)  # type: ignore[arg-type]
        page = build_rows_query(request)
        show(f"page ({query})", page.sql, page.params)
        keys = [(i,) for i in range(1, 51)]
        for link in request.expand:
            related = build_expansion_query(link, keys, request.scope)
            show("its expansion", related.sql, related.params)
        for embedding in request.embed:
            related = build_embedding_query(embedding, keys, request.scope, False)
            show("its embedding", related.sql, related.params)
    conn.close()
    return out


def run(start_sqlapi, start_datasette, database: Path, rounds: int, seconds: float,  # type: ignore[no-untyped-def]
        before: str | None) -> None:  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="sqlapi-features-"))
    keyed, policy, token = credentials(folder)
    servers = {
        "Datasette": start_datasette([database]),
        "sqlapi": start_sqlapi("sqlapi", database),
        "sqlapi keyed": start_sqlapi("sqlapi keyed", database, "--config", str(keyed)),
        "sqlapi policy": start_sqlapi("sqlapi policy", database, "--config", str(policy)),
    }
    todo = cases(token)
    if before:
        servers["sqlapi before"] = start_sqlapi("sqlapi before", database, binary=before)
        todo += [Case(c.label, "sqlapi before", c.path) for c in todo[:4] if c.server == "sqlapi"]
    for case in todo:  # every case answers 200 with rows before it is measured
        request = urllib.request.Request(
            servers[case.server].base + case.path, headers=case.headers or {}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            body = json.loads(response.read())
        assert body.get("rows") or body.get("row") or body.get("facet_results"), case
    loads: dict[tuple[str, str], list[Load]] = {}
    for round_ in range(rounds):
        for case in todo:
            load = wrk(servers[case.server].base + case.path, seconds, headers=case.headers)
            loads.setdefault((case.label, case.server), []).append(load)
            print(f"  round {round_ + 1} {case.label} [{case.server}]: {load.rate:,.0f} req/s"
                  + (f" errors {load.errors + load.non_2xx}" if load.errors + load.non_2xx else ""),
                  flush=True)  # fmt: skip
    for server in servers.values():
        server.stop()
    aggregate = next(c for c in todo if c.label.startswith("a1.")).path
    first = first_call_seconds(start_sqlapi, database, aggregate)
    floor = sqlite_alone(database, "SELECT category_id, count(*), avg(price) FROM items GROUP BY 1",
                         seconds)  # fmt: skip

    print(f"\nwrk -t1 -c32 -d{seconds:g}s, {rounds} interleaved rounds, medians; one worker each")
    print(
        "| request | server | req/s | p50 / p99 ms | ratio (per round) |\n| --- | --- | --- | --- | --- |"
    )
    for case in todo:
        runs = loads[(case.label, case.server)]
        rate = statistics.median(x.rate for x in runs)
        base = ("Datasette" if (case.label, "Datasette") in loads and case.server != "Datasette"
                else None)  # fmt: skip
        against = loads.get((case.label, base)) if base else None
        if case.compare:
            against = loads[(case.compare, "sqlapi" if "p2." not in case.label else "sqlapi keyed")]
        ratio = ""
        if against:
            each = sorted(a.rate / b.rate for a, b in zip(runs, against, strict=True))
            ratio = f"**{statistics.median(each):.2f}x** ({', '.join(f'{r:.2f}' for r in each)})"
        print(f"| {case.label} | {case.server} | {rate:,.0f} | "
              f"{statistics.median(x.p50 for x in runs):.1f} / {statistics.median(x.p99 for x in runs):.1f} | "
              f"{ratio} |")  # fmt: skip
    print(f"\nThe aggregate's first call on a fresh server: {', '.join(f'{s:.2f}' for s in first)} s "
          f"(median {statistics.median(first):.2f} s); SQLite alone, the same GROUP BY: "
          f"{floor:.2f} q/s ({1 / floor:.2f} s each).")  # fmt: skip
    print("\nStatements sqlapi runs for the relation and `_or` requests, with SQLite's plans:")
    print("\n".join(plans(database)))
    subprocess.run(["rm", "-rf", str(folder)], check=False)
