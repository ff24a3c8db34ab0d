"""sqlapi: a safe, fast, read-only JSON API over any SQLite file."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sqlapi")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
