"""The performance suite: sqlapi and Datasette side by side on the same files, with the
floors (SQLite alone) and the ceilings (the HTTP servers alone) measured in the same run.

    python bench/suite.py [--rounds 3] [--seconds 8] [--quick]
    python bench/suite.py --only 4. --rounds 9    # some requests, more rounds, writes nothing

Run by hand, never in CI (about 25 minutes; --quick is a 2-minute smoke run). It builds
bench/big.db (1,000,000 rows) and bench/wide.db (1,000 tables x 20 columns) if missing,
installs the latest Datasette from PyPI into bench/.venv-datasette on first use, starts
every server once on 127.0.0.1 (access logs off, Datasette's too), then drives each
request with wrk (-t1 -c32) from this process, server after server, in interleaved
rounds. It prints
Markdown (medians of the rounds), writes every round to docs/benchmarks.json, and draws
docs/benchmarks.png.

Datasette runs as its docs advise for large immutable files: `-i` (immutable),
`--inspect-file` (precomputed counts), `suggest_facets off` (facet suggestions scan the
table on every page), `max_csv_mb 0` (so its CSV export streams every row), and table
pages with `_nocount=1` (sqlapi counts only on `_count=true`). Both servers get a 10 s
SQL and facet time limit, so that under 32 connections neither drops the slow facets
(Datasette's default facet limit of 200 ms would skip them and answer less).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from common import Load, PeakRss, free_port, wait_ready, wrk
from make_big import build, build_wide

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BIG, WIDE = HERE / "big.db", HERE / "wide.db"
CHINOOK = ROOT.parent / "shared" / "data" / "chinook.sqlite"
VENV = HERE / ".venv-datasette"
BIN = Path(sys.executable).parent
TIME_LIMIT_MS = "10000"
SCRIPTS = Path(tempfile.mkdtemp(prefix="sqlapi-bench-"))  # wrk's Lua scripts


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    base: str
    single: bool = True  # one process: its RSS is the server's

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(name: str, command: list[str], ready: str, cwd: Path | None = None) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [*command, "--port", str(port)] if "{port}" not in " ".join(command)
        else [part.replace("{port}", str(port)) for part in command],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_ready(base + ready)
    return Server(name, process, base, single="--workers" not in command)


def sqlapi(name: str, database: Path, *flags: str, binary: str | None = None) -> Server:
    command = [binary or str(BIN / "sqlapi"), "serve", str(database), "--immutable",
               "--no-access-log", "--time-limit-ms", TIME_LIMIT_MS, *flags]  # fmt: skip
    return start(name, command, "/readyz")


def datasette_binary() -> Path:
    binary = VENV / "bin" / "datasette"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "datasette"], check=True)
    return binary


def datasette_serve() -> list[str]:
    """`datasette serve` with uvicorn's access log off, as sqlapi's (datasette_quiet.py):
    measured side by side, its log costs Datasette 4 % on pages and 8 % on key lookups."""
    datasette_binary()
    return [str(VENV / "bin" / "python"), str(HERE / "datasette_quiet.py"), "serve"]


def datasette(databases: list[Path]) -> Server:
    counts = HERE / f"{'-'.join(d.stem for d in databases)}.inspect.json"
    if not counts.exists():
        subprocess.run([str(datasette_binary()), "inspect", *map(str, databases),
                        "--inspect-file", str(counts)], check=True)  # fmt: skip
    immutable = [arg for database in databases for arg in ("-i", str(database))]
    command = [*datasette_serve(), *immutable, "--inspect-file", str(counts),
               "--setting", "max_csv_mb", "0", "--setting", "suggest_facets", "off",
               "--setting", "sql_time_limit_ms", TIME_LIMIT_MS,
               "--setting", "facet_time_limit_ms", TIME_LIMIT_MS]  # fmt: skip
    return start("Datasette", command, "/-/versions.json")


def ceiling(name: str, server: str, app: str) -> Server:
    if server == "hypercorn":
        command = [
            str(BIN / "hypercorn"),
            f"ceiling:{app}",
            "-b",
            "127.0.0.1:{port}",
            "-k",
            "uvloop",
        ]
    else:
        command = [str(BIN / "uvicorn"), f"ceiling:{app}", "--no-access-log", "--loop", "uvloop",
                   "--http", "httptools", "--port", "{port}"]  # fmt: skip
    return start(name, command, "/api/tables/items/rows", cwd=HERE)


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=60) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


RANDOM_FILTER = """
math.randomseed(%d)
request = function()
  local category, price = math.random(1, 500), math.random(100, 50000) / 100
  return wrk.format("GET", "%s" .. category .. "&price__gte=" .. string.format("%%.2f", price))
end
"""
SAMPLE_FILTER = "7&price__gte=250.00"  # what check_answers completes such a path with


@dataclass
class Request:
    label: str
    ours: str  # path on sqlapi
    theirs: str  # path on Datasette
    random_filter: bool = False  # the path ends in category_id=, completed per request by wrk

    def script(self, path: str, seed: int) -> Path | None:
        if not self.random_filter:
            return None
        script = SCRIPTS / f"random-{abs(hash(path))}.lua"
        script.write_text(RANDOM_FILTER % (seed, path))
        return script


def big_requests(cursor: str) -> list[Request]:
    page = "/api/tables/items"
    return [
        Request("1. page of 50 rows", f"{page}/rows?_limit=50", "/big/items.json?_size=50&_nocount=1"),
        Request("2. indexed filter, 50 rows", f"{page}/rows?category_id=7&_limit=50",
                "/big/items.json?category_id=7&_size=50&_nocount=1"),
        Request("3. deep keyset page (after row 900,000)", f"{page}/rows?_limit=50&_after={cursor}",
                "/big/items.json?_next=900000&_size=50&_nocount=1"),
        Request("4. one row by key", f"{page}/rows/500000", "/big/items/500000.json"),
        Request("5. facet, indexed column (repeated)", f"{page}/columns/category_id?_limit=30",
                "/big/items.json?_facet=category_id&_size=0&_nocount=1"),
        Request("5b. facet in a new filter each time", f"{page}/columns/stock?_limit=30&category_id=",
                "/big/items.json?_facet=stock&_size=0&_nocount=1&category_id=", random_filter=True),
    ]  # fmt: skip


def big_requests_of(server: Server) -> list[Request]:
    """The requests on big.db, the deep page after the cursor `server` gives for row 900,000."""
    deep = get_json(server.base + "/api/tables/items/rows?id__gte=900000&_limit=1&_select=id")
    return big_requests(urllib.parse.quote(str(deep["next"])))


CHINOOK_REQUESTS = [
    Request("c1. chinook: page of 50 tracks", "/api/tables/Track/rows?_limit=50",
            "/chinook/Track.json?_size=50&_nocount=1"),
    Request("c2. chinook: filter GenreId=1", "/api/tables/Track/rows?GenreId=1&_limit=50",
            "/chinook/Track.json?GenreId=1&_size=50&_nocount=1"),
    Request("c3. chinook: one track by key", "/api/tables/Track/rows/1000", "/chinook/Track/1000.json"),
    Request("c4. chinook: facet GenreId", "/api/tables/Track/columns/GenreId",
            "/chinook/Track.json?_facet=GenreId&_size=0&_nocount=1"),
]  # fmt: skip

FLOOR_SQL = {
    "1. page of 50 rows": ("SELECT * FROM items ORDER BY id LIMIT 51", ()),
    "2. indexed filter, 50 rows": ("SELECT * FROM items WHERE category_id = 7 ORDER BY id LIMIT 51", ()),
    "3. deep keyset page (after row 900,000)": ("SELECT * FROM items WHERE id > 900000 ORDER BY id LIMIT 51", ()),
    "4. one row by key": ("SELECT * FROM items WHERE id = 500000", ()),
    "5. facet, indexed column (repeated)": (
        "SELECT category_id, count(*) FROM items GROUP BY category_id "
        "ORDER BY count(*) DESC, category_id LIMIT 31", ()),
    "5b. facet in a new filter each time": (
        "SELECT stock, count(*) FROM items WHERE category_id = ? AND price >= ? GROUP BY stock "
        "ORDER BY count(*) DESC, stock LIMIT 31", ("random",)),
}  # fmt: skip


def floors(seconds: float) -> dict[str, float]:
    """Queries per second of plain Python sqlite3 on one thread: SQLite's own limit."""
    import random

    conn = sqlite3.connect(f"file:{BIG}?mode=ro&immutable=1", uri=True)
    rng, found = random.Random(7), {}
    for label, (sql, params) in FLOOR_SQL.items():
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            values = (rng.randint(1, 500), rng.randint(100, 50000) / 100) if params else ()
            conn.execute(sql, values).fetchall()
            n += 1
        found[label] = n / (time.perf_counter() - started)
    conn.close()
    return found


@dataclass
class Export:
    label: str
    seconds: float
    megabytes: float
    lines: int
    peak_rss_mib: float | None

    @property
    def rows_per_s(self) -> float:
        return 1_000_000 / self.seconds


def download(server: Server, path: str, label: str) -> Export:
    with PeakRss(server.process.pid) as peak:
        started = time.perf_counter()
        size = lines = 0
        with urllib.request.urlopen(server.base + path, timeout=600) as response:
            while chunk := response.read(1 << 20):
                size += len(chunk)
                lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - started
    return Export(label, elapsed, size / 1e6, lines, peak.peak / 1024 if server.single else None)


def sqlite_cli_export() -> Export:
    started = time.perf_counter()
    process = subprocess.Popen(["sqlite3", "-json", str(BIG), "SELECT * FROM items"],
                               stdout=subprocess.PIPE)  # fmt: skip
    size = lines = 0
    assert process.stdout is not None
    while chunk := process.stdout.read(1 << 20):
        size += len(chunk)
        lines += chunk.count(b"\n")
    process.wait()
    return Export("sqlite3 -json (floor)", time.perf_counter() - started, size / 1e6, lines, None)


def startup(runs: int) -> dict[str, float]:
    """Seconds from `sqlapi serve wide.db` to /readyz 200 and to a built /openapi.json;
    the same for Datasette; and /api/tables once started (introspection is not redone)."""
    ready, documented, listing = [], [], []
    for _ in range(runs):
        started = time.perf_counter()
        server = sqlapi("wide", WIDE)
        ready.append(time.perf_counter() - started)
        urllib.request.urlopen(server.base + "/openapi.json", timeout=120).read()
        documented.append(time.perf_counter() - started)
        for _ in range(10):
            begun = time.perf_counter()
            urllib.request.urlopen(server.base + "/api/tables", timeout=30).read()
            listing.append(time.perf_counter() - begun)
        server.stop()
    theirs = []
    for _ in range(max(1, runs // 2)):
        started = time.perf_counter()
        command = [*datasette_serve(), "-i", str(WIDE)]
        other = start("Datasette", command, "/-/versions.json")
        theirs.append(time.perf_counter() - started)
        other.stop()
    return {
        "sqlapi_ready_s": statistics.median(ready),
        "sqlapi_document_s": statistics.median(documented),
        "sqlapi_api_tables_ms": statistics.median(listing) * 1000,
        "datasette_ready_s": statistics.median(theirs),
    }


@dataclass
class Results:
    machine: dict[str, str]
    requests: dict[str, dict[str, list[Load]]] = field(default_factory=dict)
    floors: dict[str, float] = field(default_factory=dict)
    ceilings: dict[str, list[Load]] = field(default_factory=dict)
    exports: list[Export] = field(default_factory=list)
    startup: dict[str, float] = field(default_factory=dict)


def machine() -> dict[str, str]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text()
                .splitlines() if line.startswith("model name")), "?")  # fmt: skip
    version = subprocess.run([str(datasette_binary()), "--version"], capture_output=True,
                             text=True).stdout.strip()  # fmt: skip
    return {
        "date": time.strftime("%Y-%m-%d"), "cpu": f"{os.cpu_count()} x {cpu}",
        "memory_gib": f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f}",
        "kernel": platform.release(), "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version, "datasette": version,
    }  # fmt: skip


def measure_requests(results: Results, servers: list[Server], requests: list[Request],
                     rounds: int, seconds: float) -> None:  # fmt: skip
    for round_ in range(rounds):
        for request in requests:
            for server in servers:
                path = request.theirs if server.name == "Datasette" else request.ours
                load = wrk(server.base + (path if not request.random_filter else "/"), seconds,
                           script=request.script(path, round_ + 1))  # fmt: skip
                results.requests.setdefault(request.label, {}).setdefault(server.name, []).append(
                    load
                )
                print(f"  round {round_ + 1} {request.label} {server.name}: {load.rate:,.0f} req/s",
                      f"errors {load.errors + load.non_2xx}" if load.errors + load.non_2xx else "",
                      flush=True)  # fmt: skip


def check_answers(ours: Server, theirs: Server, requests: list[Request]) -> None:
    """Each request answers 200 with what it should (so no server is measured doing less)."""
    for request in requests:
        suffix = SAMPLE_FILTER if request.random_filter else ""
        mine, other = (
            get_json(ours.base + request.ours + suffix),
            get_json(theirs.base + request.theirs + suffix),
        )
        if "/columns/" in request.ours:
            assert mine["values"] and other["facet_results"], (request.label, other)
        elif "rows" in mine:
            assert mine["rows"] and other["rows"], request.label
        else:
            assert mine["row"] and other["rows"], request.label


def median_load(loads: list[Load]) -> tuple[float, float, float]:
    return (statistics.median(x.rate for x in loads), statistics.median(x.p50 for x in loads),
            statistics.median(x.p99 for x in loads))  # fmt: skip


def report(results: Results, names: list[str]) -> str:
    out = ["| request | " + " | ".join(f"{n} req/s (p50/p99 ms)" for n in names) + " | SQLite alone q/s |",
           "| --- |" + " --- |" * (len(names) + 1)]  # fmt: skip
    for label, by_server in results.requests.items():
        theirs = median_load(by_server["Datasette"])[0]
        cells = []
        for name in names:
            if name not in by_server:
                cells.append("")
                continue
            rate, p50, p99 = median_load(by_server[name])
            ratio = "" if name == "Datasette" or not theirs else f" **{rate / theirs:.1f}x**"
            errors = sum(x.errors + x.non_2xx for x in by_server[name])
            cells.append(
                f"{rate:,.0f}{ratio} ({p50:.1f}/{p99:.1f})"
                + (f" {errors} errors" if errors else "")
            )
        floor = results.floors.get(label)
        out.append(f"| {label} | " + " | ".join(cells) + f" | {f'{floor:,.0f}' if floor else ''} |")
    out += ["", "| HTTP ceiling (the 50-row page from memory) | req/s |", "| --- | --- |"]
    out += [
        f"| {name} | {median_load(loads)[0]:,.0f} |" for name, loads in results.ceilings.items()
    ]
    out += ["", "| export of 1,000,000 rows | seconds | MB | MB/s | rows/s | peak RSS MiB |",
            "| --- | --- | --- | --- | --- | --- |"]  # fmt: skip
    by_label: dict[str, list[Export]] = {}
    for export in results.exports:
        by_label.setdefault(export.label, []).append(export)
    for label, runs in by_label.items():
        seconds = statistics.median(r.seconds for r in runs)
        size = runs[0].megabytes
        peaks = [r.peak_rss_mib for r in runs if r.peak_rss_mib is not None]
        out.append(f"| {label} | {seconds:.2f} | {size:.0f} | {size / seconds:.0f} | "
                   f"{1_000_000 / seconds:,.0f} | {f'{max(peaks):.0f}' if peaks else ''} |")  # fmt: skip
    if results.startup:
        s = results.startup
        out += ["", f"Startup on 1,000 tables x 20 columns: sqlapi ready in {s['sqlapi_ready_s']:.2f} s "
                f"(OpenAPI document built in the background by {s['sqlapi_document_s']:.2f} s; "
                f"/api/tables then takes {s['sqlapi_api_tables_ms']:.1f} ms); Datasette ready in "
                f"{s['datasette_ready_s']:.2f} s."]  # fmt: skip
    return "\n".join(out)


def chart(results: Results, names: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 3.8), width_ratios=[3, 1.3])
    labels = [label.split(". ")[0] for label in results.requests]
    width = 0.8 / len(names)
    colours = {"Datasette": "0.6", "sqlapi hypercorn": "tab:blue", "sqlapi hypercorn x2": "navy",
               "sqlapi uvicorn": "tab:orange", "sqlapi uvicorn x2": "tab:red"}  # fmt: skip
    for i, name in enumerate(names):
        rates = [median_load(by[name])[0] if name in by else 0 for by in results.requests.values()]
        left.bar([x + i * width for x in range(len(labels))], rates, width, label=name,
                 color=colours.get(name))  # fmt: skip
    left.set_yscale("log")
    left.set_xticks([x + 0.4 - width / 2 for x in range(len(labels))], labels)
    left.set_ylabel("requests/s (log)")
    left.set_title("Requests (wrk -c32, medians)", fontsize=10)
    left.legend(fontsize=7, ncols=5, loc="upper center", bbox_to_anchor=(0.5, -0.1), frameon=False)
    by_label: dict[str, list[float]] = {}
    for export in results.exports:
        by_label.setdefault(export.label, []).append(export.rows_per_s)
    shades = [
        "0.6" if "Datasette" in k else "0.3" if "sqlite3" in k else "tab:blue" for k in by_label
    ]
    right.barh(
        list(by_label), [statistics.median(v) / 1000 for v in by_label.values()], color=shades
    )
    right.set_xlabel("thousand rows/s")
    right.set_title("Export of 1,000,000 rows", fontsize=10)
    right.tick_params(axis="y", labelsize=7)
    figure.suptitle(
        f"sqlapi and Datasette, same file, same machine ({results.machine['date']})", fontsize=9
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def only(prefix: str, rounds: int, seconds: float) -> None:
    """--only: the requests whose label starts with `prefix`, Datasette against sqlapi on
    one hypercorn worker (the default), for a steadier median from more rounds. Prints
    the table and each round's ratio; writes nothing."""
    results = Results(machine())
    databases = [BIG, *([CHINOOK] if CHINOOK.exists() else [])]
    theirs = datasette(databases)
    for database in databases:
        ours = sqlapi("sqlapi hypercorn", database)
        candidates = big_requests_of(ours) if database == BIG else CHINOOK_REQUESTS
        requests = [r for r in candidates if r.label.startswith(prefix)]
        if requests:
            check_answers(ours, theirs, requests)
            measure_requests(results, [theirs, ours], requests, rounds, seconds)
        ours.stop()
    theirs.stop()
    print(f"\nwrk -t1 -c32 -d{seconds:g}s, {rounds} interleaved rounds, medians")
    print(report(results, ["Datasette", "sqlapi hypercorn"]).split("\n\n")[0])
    for label, by_server in results.requests.items():
        pairs = zip(by_server["Datasette"], by_server["sqlapi hypercorn"], strict=True)
        ratios = sorted(mine.rate / other.rate for other, mine in pairs)
        print(f"{label}: ratio per round {', '.join(f'{r:.2f}x' for r in ratios)}; "
              f"median {statistics.median(ratios):.2f}x")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--quick", action="store_true", help="1 round of 2 s: a smoke run")
    parser.add_argument("--only", metavar="PREFIX", help="just these requests (e.g. 4.)")
    parser.add_argument("--features", action="store_true", help="round two's features")
    parser.add_argument("--compression", action="store_true", help="what compression costs")
    parser.add_argument("--before", metavar="BIN", help="with --features: another sqlapi")
    args = parser.parse_args()
    rounds, seconds = (1, 2.0) if args.quick else (args.rounds, args.seconds)
    if args.only:
        only(args.only, rounds, seconds)
        return
    if args.features or args.compression:
        import compressed
        import features

        if not BIG.exists():
            build(BIG, 1_000_000)
        chosen = features if args.features else compressed
        chosen.run(sqlapi, datasette, BIG, rounds, seconds, args.before)
        return
    for path, make in ((BIG, lambda: build(BIG, 1_000_000)), (WIDE, lambda: build_wide(WIDE))):
        if not path.exists():
            make()
    results = Results(machine())
    print(json.dumps(results.machine), flush=True)
    results.floors = floors(1.0 if args.quick else 3.0)

    databases = [BIG, *([CHINOOK] if CHINOOK.exists() else [])]
    theirs = datasette(databases)
    servers = [sqlapi("sqlapi hypercorn", BIG), sqlapi("sqlapi hypercorn x2", BIG, "--workers", "2"),
               sqlapi("sqlapi uvicorn", BIG, "--server", "uvicorn"),
               sqlapi("sqlapi uvicorn x2", BIG, "--server", "uvicorn", "--workers", "2")]  # fmt: skip
    requests = big_requests_of(servers[0])
    check_answers(servers[0], theirs, requests)
    measure_requests(results, [theirs, *servers], requests, rounds, seconds)
    if CHINOOK.exists():
        small = [
            sqlapi("sqlapi hypercorn", CHINOOK),
            sqlapi("sqlapi uvicorn", CHINOOK, "--server", "uvicorn"),
        ]
        check_answers(small[0], theirs, CHINOOK_REQUESTS)
        measure_requests(results, [theirs, *small], CHINOOK_REQUESTS, rounds, seconds)
        for server in small:
            server.stop()

    ceilings = [ceiling("hypercorn, bare ASGI", "hypercorn", "raw"),
                ceiling("hypercorn + Quart", "hypercorn", "app"),
                ceiling("uvicorn, bare ASGI", "uvicorn", "raw"),
                ceiling("uvicorn + Quart", "uvicorn", "app")]  # fmt: skip
    for _ in range(rounds):
        for server in ceilings:
            results.ceilings.setdefault(server.name, []).append(
                wrk(server.base + "/api/tables/items/rows", seconds)
            )
    for server in ceilings:
        server.stop()

    exports: list[tuple[Server, str, str]] = [
        (servers[0], "/api/tables/items/rows?_format=ndjson", "sqlapi hypercorn NDJSON"),
        (servers[0], "/api/tables/items/rows?_format=csv", "sqlapi hypercorn CSV"),
        (servers[2], "/api/tables/items/rows?_format=ndjson", "sqlapi uvicorn NDJSON"),
        (servers[2], "/api/tables/items/rows?_format=csv", "sqlapi uvicorn CSV"),
        (theirs, "/big/items.csv?_stream=on&_size=max", "Datasette CSV (streamed)"),
    ]
    for _ in range(rounds):
        for server, path, label in exports:
            results.exports.append(download(server, path, label))
            print(f"  {label}: {results.exports[-1].seconds:.2f} s", flush=True)
        results.exports.append(sqlite_cli_export())
    for server in [theirs, *servers]:
        server.stop()
    for export in results.exports:
        expected = 1_000_001 if "CSV" in export.label or "sqlite3" in export.label else 1_000_000
        assert export.lines >= expected - 1, (export.label, export.lines)
    results.startup = startup(3 if args.quick else 5)

    names = [
        "Datasette",
        "sqlapi hypercorn",
        "sqlapi hypercorn x2",
        "sqlapi uvicorn",
        "sqlapi uvicorn x2",
    ]
    (ROOT / "docs" / "benchmarks.json").write_text(
        json.dumps(asdict(results), indent=1, default=str)
    )
    chart(results, names, ROOT / "docs" / "benchmarks.png")
    print()
    print(json.dumps(results.machine))
    print(f"wrk -t1 -c32 -d{seconds:g}s, {rounds} interleaved rounds, medians")
    print(report(results, names))


if __name__ == "__main__":
    main()
