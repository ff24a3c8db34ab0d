"""sqlapi and Datasette side by side on the same file, same machine, same load.

    python bench/make_big.py                        # bench/big.db, 1,000,000 rows
    python bench/compare.py [bench/big.db] [rounds] [seconds]

Datasette (latest from PyPI) is installed into its own virtualenv, bench/.venv-datasette,
on first use and started in immutable mode (`-i`) with `--setting max_csv_mb 0`. Both
servers run on 127.0.0.1 with access logs off; wrk (`-t1 -c32`) drives each request in
interleaved rounds and the medians are reported with the ratio sqlapi/Datasette.
Datasette also gets `--inspect-file` (precomputed counts) and `suggest_facets off`.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import urllib.request
from pathlib import Path

from common import free_port, wait_ready

HERE = Path(__file__).parent
DATASETTE_VENV = HERE / ".venv-datasette"


def datasette_binary() -> Path:
    binary = DATASETTE_VENV / "bin" / "datasette"
    if not binary.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
        subprocess.run(
            [str(DATASETTE_VENV / "bin" / "pip"), "install", "-q", "datasette"], check=True
        )
    return binary


def wrk(url: str, seconds: int) -> tuple[float, float, float]:
    """(req/s, p50 ms, p99 ms)."""
    out = subprocess.run(
        ["wrk", "-t1", "-c32", f"-d{seconds}s", "--timeout", "10s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        value, unit = re.search(rf"\s{p}%\s+([0-9.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out) or re.search(r"timeout (\d+)", out)
    if errors and int(errors.group(1)):
        raise RuntimeError(f"{url}: {errors.group(1)} errors or timeouts")
    return rate, percentile("50"), percentile("99")


def sqlapi_deep_cursor(base: str) -> str:
    with urllib.request.urlopen(
        f"{base}/api/tables/items/rows?id__gte=899951&_limit=50&_select=id"
    ) as r:
        return json.loads(r.read())["next"]


def main() -> None:
    database = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "big.db"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    seconds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    ours, theirs = free_port(), free_port()
    sqlapi = subprocess.Popen(
        [sys.executable, "-m", "sqlapi", "serve", str(database), "--immutable", "--no-access-log",
         "--port", str(ours)], stderr=subprocess.DEVNULL,
    )  # fmt: skip
    # Datasette's production advice for a large immutable file: precomputed counts
    # (--inspect-file) and no facet suggestions (they scan the table on every page).
    counts = HERE / f"{database.stem}.inspect.json"
    if not counts.exists():
        subprocess.run(
            [str(datasette_binary()), "inspect", str(database), "--inspect-file", str(counts)],
            check=True,
        )
    datasette = subprocess.Popen(
        [str(datasette_binary()), "serve", "-i", str(database), "--inspect-file", str(counts),
         "--port", str(theirs), "--setting", "max_csv_mb", "0", "--setting", "suggest_facets", "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        a, b = f"http://127.0.0.1:{ours}", f"http://127.0.0.1:{theirs}"
        wait_ready(f"{a}/readyz")
        wait_ready(f"{b}/-/versions.json")
        with urllib.request.urlopen(f"{b}/-/versions.json") as r:
            version = json.loads(r.read())["datasette"]["version"]
        name = database.stem
        requests = {
            # Datasette counts the matching rows on table pages unless told not to; sqlapi
            # only on _count=true. _nocount=1 compares the pages themselves.
            "1. page of 50 rows": (
                f"{a}/api/tables/items/rows?_limit=50",
                f"{b}/{name}/items.json?_size=50&_nocount=1",
            ),
            "2. indexed filter, 50 rows": (
                f"{a}/api/tables/items/rows?category_id=7&_limit=50",
                f"{b}/{name}/items.json?category_id=7&_size=50&_nocount=1",
            ),
            "3. deep keyset page (~row 900,000)": (
                f"{a}/api/tables/items/rows?_limit=50&_after={sqlapi_deep_cursor(a)}",
                f"{b}/{name}/items.json?_next=900000&_size=50&_nocount=1",
            ),
            "4. one row by key": (
                f"{a}/api/tables/items/rows/500000",
                f"{b}/{name}/items/500000.json",
            ),
            "5. facet on an indexed column": (
                f"{a}/api/tables/items/columns/category_id?_limit=30",
                f"{b}/{name}/items.json?_facet=category_id&_size=0&_nocount=1",
            ),
        }
        results: dict[str, dict[str, list[tuple[float, float, float]]]] = {
            r: {"sqlapi": [], "datasette": []} for r in requests
        }
        for _ in range(rounds):
            for label, (mine, other) in requests.items():
                results[label]["sqlapi"].append(wrk(mine, seconds))
                results[label]["datasette"].append(wrk(other, seconds))
    finally:
        sqlapi.terminate()
        datasette.terminate()
        sqlapi.wait()
        datasette.wait()

    print(f"Datasette {version}; wrk -t1 -c32 -d{seconds}s, {rounds} interleaved rounds, medians")
    print("| request | sqlapi req/s | p50 / p99 ms | Datasette req/s | p50 / p99 ms | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, by_server in results.items():
        cells = []
        for server in ("sqlapi", "datasette"):
            runs = by_server[server]
            rate = statistics.median(r[0] for r in runs)
            p50 = statistics.median(r[1] for r in runs)
            p99 = statistics.median(r[2] for r in runs)
            cells.append((rate, f"{rate:,.0f}", f"{p50:.1f} / {p99:.1f}"))
        ratio = cells[0][0] / cells[1][0]
        print(
            f"| {label} | {cells[0][1]} | {cells[0][2]} | {cells[1][1]} | {cells[1][2]} | {ratio:.2f}x |"
        )


if __name__ == "__main__":
    main()
