"""The command line, as a user runs it: real processes, one real server over TCP."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from sqlapi import __version__
from tests.corpus import build_modern
from tests.servers import COMMAND, serving


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60, cwd=cwd)


def assert_one_line_error(result: subprocess.CompletedProcess[str], needle: str) -> None:
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("sqlapi: error:"), (
        result.stderr
    )
    assert needle in result.stderr and "Traceback" not in result.stderr


def test_version() -> None:
    result = run("--version")
    assert result.returncode == 0 and __version__ in result.stdout


def test_inspect_prints_the_exposed_schema_as_json(edge_path: Path) -> None:
    result = run("inspect", str(edge_path))
    assert result.returncode == 0, result.stderr
    schema = json.loads(result.stdout)
    names = [t["name"] for t in schema["tables"]]
    assert "plain" in names and "docs_fts_data" not in names and "broken" not in names


def test_inspect_defaults_to_the_bundled_sample_from_any_directory(tmp_path: Path) -> None:
    result = run("inspect", cwd=tmp_path)
    assert result.returncode == 0
    assert "books" in [t["name"] for t in json.loads(result.stdout)["tables"]]


def test_missing_file_is_one_line_and_never_created(tmp_path: Path) -> None:
    missing = tmp_path / "nope.db"
    assert_one_line_error(run("serve", str(missing)), "no such file")
    assert_one_line_error(run("inspect", str(missing)), "no such file")
    assert not missing.exists()


def test_not_sqlite_is_one_line(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.txt"
    bogus.write_text("hello, I am not a database\n" * 200)
    before = bogus.read_bytes()
    assert_one_line_error(run("serve", str(bogus)), "not an SQLite database")
    assert bogus.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_schema_sqlite_cannot_read_is_named_with_its_cause(tmp_path: Path) -> None:
    path = tmp_path / "broken.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE fine (id INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA writable_schema = ON")
    conn.execute(
        "INSERT INTO sqlite_master (type, name, tbl_name, rootpage, sql) "
        "VALUES ('table', 'odd', 'odd', 0, 'CREATE TABLE odd (')"
    )
    conn.commit()
    conn.close()
    assert_one_line_error(run("inspect", str(path)), "SQLite cannot read its schema: 'odd'")


def test_inspect_serves_json_functions_and_rtree_and_says_what_it_skips(tmp_path: Path) -> None:
    path = build_modern(tmp_path / "modern.db")
    done = run("inspect", str(path))
    assert done.returncode == 0, done.stderr
    described = json.loads(done.stdout)
    names = {t["name"] for t in described["tables"]}
    assert {"docs", "doc_kinds", "places", "words"} <= names
    assert {s["name"] for s in described["skipped"]} == {"broken", "pages", "geo", "geo_node"}


def test_directory_and_bad_flag_values_are_one_line(tmp_path: Path) -> None:
    assert_one_line_error(run("serve", str(tmp_path)), "directory")
    assert_one_line_error(run("serve", "--time-limit-ms", "0"), "time_limit_ms")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    with serving(cwd=tmp_path) as running:
        yield running.process, running.port


@pytest.mark.slow
def test_real_server_over_tcp_serves_the_sample_and_stops_cleanly(
    server: tuple[subprocess.Popen[str], int],
) -> None:
    process, port = server
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/api/tables/books/rows?_limit=2"
    ) as response:
        assert response.headers["Content-Type"] == "application/json"
        body = json.loads(response.read())
    assert [r["id"] for r in body["rows"]] == [1, 2] and body["next"]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{body['next_url']}") as response:
        assert [r["id"] for r in json.loads(response.read())["rows"]] == [3, 4]
    with pytest.raises(urllib.error.HTTPError) as refused:  # a bad parameter is a 400 problem
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/tables/books/rows?_limit=x")
    assert refused.value.code == 400
    assert refused.value.headers["Content-Type"] == "application/problem+json"
    refused.value.close()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=15) == 0
    assert process.stderr is not None
    log = process.stderr.read()
    assert "serving" in log and "7 tables, 2 views" in log and "Traceback" not in log


@pytest.mark.slow
def test_busy_port_is_one_line(server: tuple[subprocess.Popen[str], int]) -> None:
    _, port = server
    assert_one_line_error(run("serve", "--port", str(port)), "already in use")


def test_module_entry_point_matches_console_script() -> None:
    command = [sys.executable, "-m", "sqlapi", "--version"]
    result = subprocess.run(command, capture_output=True, text=True, env={**os.environ}, timeout=60)
    assert result.returncode == 0 and __version__ in result.stdout
