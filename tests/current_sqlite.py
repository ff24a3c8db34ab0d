"""`pytest -p tests.current_sqlite`: run the tests on a current SQLite instead of the
platform's. The standard library's sqlite3 module links SQLite dynamically; loading the
library that sqlean.py (a test dependency) ships, globally and before sqlite3 is first
imported, makes every SQLite call of this process go to it. So the same sqlapi code, the
same sqlite3 module, runs on two SQLite versions."""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from pathlib import Path

if "_sqlite3" in sys.modules:
    raise RuntimeError("tests.current_sqlite must be loaded before sqlite3 is imported")
_spec = importlib.util.find_spec("sqlean")
if _spec is None or not _spec.submodule_search_locations:
    raise RuntimeError("tests.current_sqlite needs sqlean.py (the test extras)")
LIBRARY = next(Path(_spec.submodule_search_locations[0]).glob("_sqlite3*.so"))
ctypes.CDLL(str(LIBRARY), mode=ctypes.RTLD_GLOBAL)

import sqlite3  # noqa: E402  (after the library, which it then binds to)

if sqlite3.sqlite_version_info < (3, 45):
    raise RuntimeError(f"{LIBRARY} is SQLite {sqlite3.sqlite_version}, not a current one")


def pytest_report_header() -> str:
    return f"SQLite {sqlite3.sqlite_version} from {LIBRARY.name} (tests.current_sqlite)"
