"""The bundled sample.db is what scripts/build_sample.py builds, and is worth exploring."""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_sample_is_rebuilt_identically_by_the_committed_script(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "build_sample", ROOT / "scripts" / "build_sample.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.build(tmp_path / "rebuilt.db")
    shipped = sqlite3.connect(ROOT / "sqlapi" / "sample.db")
    rebuilt = sqlite3.connect(tmp_path / "rebuilt.db")
    assert list(shipped.iterdump()) == list(rebuilt.iterdump())


def test_top_level_sample_is_the_packaged_one() -> None:
    assert (ROOT / "sample.db").resolve() == (ROOT / "sqlapi" / "sample.db").resolve()
