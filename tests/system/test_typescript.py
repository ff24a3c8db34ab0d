"""A TypeScript client typed by the OpenAPI document: openapi-typescript generates the types
of the sample and edge-case databases, tsc --strict compiles tests/typescript/client.ts (no
type assertion, `any` or ts-comment in it) and rejects each mistake in wrong.ts, and the
compiled client runs with openapi-fetch against real servers. The npm packages are pinned
by tests/typescript/package-lock.json; everything runs in a copy of that folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import COMMAND, serving

pytestmark = pytest.mark.slow

SOURCE = Path(__file__).parent / "typescript"
FILES = ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.wrong.json",
         "client.ts", "wrong.ts", "run.mjs"]  # fmt: skip
NODE, NPM = shutil.which("node"), shutil.which("npm")

if NODE is None or NPM is None:
    if os.environ.get("CI"):
        raise RuntimeError("node or npm is missing: .ci/run installs Debian's nodejs and npm")
    pytest.skip(
        "Node.js and npm are not installed (apt-get install nodejs npm)", allow_module_level=True
    )

ERROR = re.compile(r"^(?P<file>[\w.]+)\((?P<line>\d+),\d+\): error (?P<code>TS\d+): ")


@dataclass
class TscError:
    file: str
    line: int
    code: str
    text: str  # the message with its indented elaboration lines


def _errors(output: str) -> list[TscError]:
    errors: list[TscError] = []
    for line in output.splitlines():
        if match := ERROR.match(line):
            errors.append(TscError(match["file"], int(match["line"]), match["code"], line))
        elif errors and line.startswith(" "):
            errors[-1].text += "\n" + line
    return errors


@dataclass
class Project:
    folder: Path

    def run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(args), cwd=self.folder, capture_output=True, text=True, timeout=timeout
        )

    def tsc(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.folder / "node_modules" / ".bin" / "tsc"), *args)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, edge_path: Path) -> Iterator[Project]:
    """A copy of tests/typescript with its locked packages installed and the generated
    sample.d.ts and edge.d.ts beside client.ts (the checkout stays clean)."""
    folder = tmp_path_factory.mktemp("typescript")
    for name in FILES:
        shutil.copy(SOURCE / name, folder / name)
    project = Project(folder)
    installed = project.run(str(NPM), "ci", "--no-audit", "--no-fund", "--ignore-scripts")
    assert installed.returncode == 0, installed.stderr[-3000:]
    generate = str(folder / "node_modules" / ".bin" / "openapi-typescript")
    for name, database in (("sample", []), ("edge", [str(edge_path)])):
        printed = subprocess.run(
            [*COMMAND, "openapi", *database], capture_output=True, text=True, timeout=120
        )
        assert printed.returncode == 0, printed.stderr
        (folder / f"{name}.json").write_text(printed.stdout)
        made = project.run(generate, f"{name}.json", "-o", f"{name}.d.ts")
        assert made.returncode == 0, made.stdout + made.stderr
    yield project


def test_the_client_uses_no_type_assertion_any_or_ts_comment() -> None:
    source = (SOURCE / "client.ts").read_text()
    assert not re.search(r"@ts-|eslint-disable", source)
    code = re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.DOTALL)
    code = re.sub(r"`[^`]*`|\"[^\"\n]*\"", '""', code)
    code = re.sub(r"^import [^;]*;", "", code, flags=re.MULTILINE)  # `paths as SamplePaths`
    assert not re.search(r"\bas\b|\bany\b|<\w+>\s*\w", code), "a type assertion or any"
    assert not re.search(r"[\w)\]]!(?!=)", code), "a non-null assertion"


def test_the_typed_client_compiles_under_strict(project: Project) -> None:
    """Nullable columns are present (`year: number | null`, not optional) and
    /api/data's values are typed once the answer's `table` is checked: no casts."""
    compiled = project.tsc("-p", ".")
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr


def test_each_mistake_in_wrong_ts_is_a_compile_error(project: Project) -> None:
    expected = {
        (number, code)
        for number, line in enumerate((SOURCE / "wrong.ts").read_text().splitlines(), 1)
        for code in re.findall(r"// fails: (TS\d+)", line)
    }
    assert len(expected) >= 10
    compiled = project.tsc("-p", "tsconfig.wrong.json")
    output = compiled.stdout + compiled.stderr
    assert compiled.returncode != 0, output
    errors = _errors(output)
    assert all(e.file == "wrong.ts" for e in errors), output
    reported = {(e.line, e.code) for e in errors}
    assert reported == expected, output


def test_the_compiled_client_reads_live_servers(project: Project, edge_path: Path) -> None:
    # Emitted even while the types have errors (noEmitOnError is off): the wire is checked
    # whatever the compile-time verdict.
    project.tsc("-p", ".", "--noEmit", "false", "--outDir", "out")
    assert (project.folder / "out" / "client.js").exists()
    with serving() as sample, serving(str(edge_path)) as edge:
        ran = project.run(str(NODE), "run.mjs", sample.url, edge.url, timeout=120)
    assert ran.returncode == 0, ran.stderr[-3000:]
    summary = json.loads(ran.stdout)
    books = summary["books"]
    # filters went out as their own parameters (style form, explode true), as documented
    assert "year__gte=2000" in books["firstUrl"] and "filters" not in books["firstUrl"]
    assert "_limit=5" in books["firstUrl"]
    assert len(books["ids"]) == 5 and all(y is not None and y >= 2000 for y in books["years"])
    assert books["secondPageIds"] and set(books["secondPageIds"]).isdisjoint(books["ids"])
    assert min(books["secondPageIds"]) > max(books["ids"])
    assert books["byKey"] == {"id": books["ids"][0], "title": books["titles"][0],
                              "year": books["years"][0]}  # fmt: skip
    assert books["dataTable"] == "books" and len(books["dataTitles"]) == 3
    assert all(isinstance(t, str) for t in books["dataTitles"])
    edge_summary = summary["edge"]
    assert edge_summary["strict"] == [
        {"id": 1, "i": 10, "b": "AAE="},
        {"id": 2, "i": None, "b": None},
        {"id": 3, "i": -7, "b": ""},
    ]
    assert edge_summary["compound"] == [
        {"a": "x", "b": 1, "note": None},
        {"a": "x", "b": 2, "note": "two"},
    ]
    assert edge_summary["byKey"] == {"a": "x", "b": 2, "note": "two"}
