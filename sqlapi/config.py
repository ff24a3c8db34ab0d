"""The one Settings object: defaults < TOML file < command-line flags. Unknown keys and
wrong types stop startup with an error that names the key."""

from __future__ import annotations

import os
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sqlapi.auth.settings import ApiKey, AuthSettings, NamedQuery, TableRules

SETTINGS_ENV = "SQLAPI_SETTINGS"


def sample_database() -> Path:
    """The bundled sample.db, wherever the package is installed."""
    return Path(str(files("sqlapi").joinpath("sample.db")))


class ConfigError(ValueError):
    """A configuration problem, worded for one line: `key.path: what is wrong`."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    server: Literal["hypercorn", "uvicorn"] = "hypercorn"
    immutable: bool = False
    time_limit_ms: int = Field(1000, ge=1, le=3_600_000)
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(1000, ge=1, le=100_000)
    # One read connection per core (2 to 8): SQLite releases the GIL while it works, but
    # more connections than cores only make their threads queue for it (bench/).
    pool_size: int = Field(default_factory=lambda: min(8, max(2, os.cpu_count() or 2)), ge=1, le=64)
    # Requests worked on at once; more wait their turn, none is refused (admission.py).
    max_active_requests: int = Field(32, ge=1, le=10_000)
    cors_origins: tuple[str, ...] = ()
    max_exports: int = Field(16, ge=1, le=1024)
    max_event_streams: int = Field(1000, ge=1, le=100_000)
    keepalive_s: float = Field(15.0, gt=0, le=3600)
    stall_timeout_s: float = Field(30.0, gt=0, le=3600)  # a streaming client that reads nothing
    # What one request may cost (docs/security.md): SQLite's limits bound the work and
    # memory of a single step, which no time limit can interrupt; the response budget
    # bounds what a page holds in memory.
    max_value_bytes: int = Field(16 * 1024 * 1024, ge=1024, le=1_000_000_000)
    sql_max_value_bytes: int = Field(256 * 1024, ge=1024, le=1_000_000_000)
    max_pattern_length: int = Field(256, ge=8, le=50_000)
    max_response_bytes: int = Field(16 * 1024 * 1024, ge=64 * 1024, le=2**40)
    enable_sql: bool = False
    tables_allow: tuple[str, ...] | None = None
    tables_deny: tuple[str, ...] = ()
    tables: dict[str, TableRules] = {}
    api_keys: tuple[ApiKey, ...] = ()
    auth: AuthSettings = AuthSettings()
    queries: dict[str, NamedQuery] = {}

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        if self.default_limit > self.max_limit:
            raise ValueError(
                f"default_limit ({self.default_limit}) exceeds max_limit ({self.max_limit})"
            )
        filtered = [name for name, rules in self.tables.items() if rules.row_filter]
        if filtered and self.auth.jwt is None:
            raise ValueError(
                f"tables.{filtered[0]}.row_filter: row filters compare columns with the "
                "claims of a verified token; configure [auth.jwt] (without it no one could "
                "read a row)"
            )
        return self

    @property
    def authenticated(self) -> bool:
        """Whether requests must say who they are (API keys or tokens are configured)."""
        return bool(self.api_keys) or self.auth.jwt is not None

    @classmethod
    def from_env(cls) -> Settings:
        return cls.model_validate_json(os.environ[SETTINGS_ENV])


FILE_KEYS = frozenset(Settings.model_fields) - {
    "database",
    "host",
    "port",
    "workers",
    "server",
    "immutable",
}


def read_config(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from error
    unknown = sorted(set(data) - FILE_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r} (known: {', '.join(sorted(FILE_KEYS))})"
        )
    return data


def load_settings(config: Path | None, **flags: object) -> Settings:
    """Defaults < the TOML file < flags that were given (None means not given)."""
    values: dict[str, Any] = read_config(config) if config is not None else {}
    values.update({k: v for k, v in flags.items() if v is not None})
    try:
        return Settings.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        raise ConfigError(f"{where}: {first['msg']}") from error
