"""The one Settings object: defaults < flags (the TOML file comes with the configuration issue)."""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

SETTINGS_ENV = "SQLAPI_SETTINGS"


def sample_database() -> Path:
    """The bundled sample.db, wherever the package is installed."""
    return Path(str(files("sqlapi").joinpath("sample.db")))


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    database: Path
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    workers: int = Field(1, ge=1, le=64)
    immutable: bool = False
    time_limit_ms: int = Field(1000, ge=1, le=3_600_000)
    default_limit: int = Field(100, ge=1)
    max_limit: int = Field(1000, ge=1, le=100_000)
    pool_size: int = Field(4, ge=1, le=64)
    cors_origins: tuple[str, ...] = ()
    max_exports: int = Field(16, ge=1, le=1024)
    max_event_streams: int = Field(1000, ge=1, le=100_000)
    keepalive_s: float = Field(15.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _limits_agree(self) -> Settings:
        if self.default_limit > self.max_limit:
            raise ValueError(
                f"default_limit ({self.default_limit}) exceeds max_limit ({self.max_limit})"
            )
        return self

    def to_env(self) -> dict[str, str]:
        """For worker processes, which rebuild the app from the environment."""
        return {SETTINGS_ENV: self.model_dump_json()}

    @classmethod
    def from_env(cls) -> Settings:
        return cls.model_validate_json(os.environ[SETTINGS_ENV])
