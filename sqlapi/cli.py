"""The `sqlapi` command. Expected failures end in one line on stderr and exit code 2."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import NoReturn

import click
from hypercorn.config import Config
from pydantic import ValidationError

from sqlapi import __version__
from sqlapi.config import Settings, sample_database
from sqlapi.schema import Schema


def fail(message: str) -> NoReturn:
    click.echo(f"sqlapi: error: {message}", err=True)
    sys.exit(2)


def _check_file(path: Path) -> Path:
    """Refuse early what SQLite would refuse (or, for a missing file, create)."""
    if not path.exists():
        fail(f"{path}: no such file (sqlapi never creates a database)")
    if path.is_dir():
        fail(f"{path}: is a directory, not an SQLite database")
    if not os.access(path, os.R_OK):
        fail(f"{path}: permission denied")
    return path


def _settings(**values: object) -> Settings:
    try:
        return Settings.model_validate({k: v for k, v in values.items() if v is not None})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        fail(f"{where}: {first['msg']}")


def _load(settings: Settings) -> Schema:
    from sqlapi.db import load_schema

    try:
        return load_schema(settings.database, settings.immutable)
    except sqlite3.DatabaseError as error:
        fail(f"{settings.database}: not a readable SQLite database ({error})")


DATABASE = click.argument("database", type=click.Path(path_type=Path), required=False)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sqlapi")
def main() -> None:
    """A safe, fast, read-only JSON API over any SQLite file."""


@main.command()
@DATABASE
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option("--immutable", is_flag=True, help="Promise the file never changes (immutable=1).")
@click.option("--time-limit-ms", type=int, help="Interrupt queries after this long [1000].")
@click.option("--max-limit", type=int, help="Largest page size a client may ask for [1000].")
@click.option(
    "--cors",
    "cors_origins",
    multiple=True,
    metavar="ORIGIN",
    help="Allow browser scripts from ORIGIN (repeatable; * for any).",
)
def serve(
    database: Path | None,
    host: str,
    port: int,
    workers: int,
    immutable: bool,
    time_limit_ms: int | None,
    max_limit: int | None,
    cors_origins: tuple[str, ...],
) -> None:
    """Serve DATABASE (default: the bundled sample.db) as a JSON API."""
    path = _check_file(database or sample_database())
    settings = _settings(
        database=path.resolve(),
        host=host,
        port=port,
        workers=workers,
        immutable=immutable,
        time_limit_ms=time_limit_ms,
        max_limit=max_limit,
        cors_origins=cors_origins,
    )
    schema = _load(settings)
    _check_port(host, port)
    views = sum(1 for t in schema.tables if t.kind == "view")
    click.echo(
        f"sqlapi: serving {path} ({len(schema.tables) - views} tables, {views} views) "
        f"on http://{host}:{port}/api with {workers} worker(s)",
        err=True,
    )
    if workers == 1:
        _serve_one(settings, schema)
    else:
        _serve_many(settings)


def _check_port(host: str, port: int) -> None:
    """Fail before the app starts (and opens its pool) if the address cannot be bound."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        family, kind, proto, _, address = infos[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind(address)
    except OSError as error:
        if error.errno == errno.EADDRINUSE:
            fail(f"{host}:{port} is already in use; choose another --port")
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}")


def _hypercorn_config(settings: Settings) -> Config:
    config = Config()
    config.bind = [f"{settings.host}:{settings.port}"]
    config.accesslog = None
    config.graceful_timeout = 10
    return config


def _serve_one(settings: Settings, schema: Schema) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve

    from sqlapi.app import create_app

    app = create_app(settings, schema)
    config = _hypercorn_config(settings)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(run())


def _serve_many(settings: Settings) -> None:
    from hypercorn.run import run

    os.environ.update(settings.to_env())
    config = _hypercorn_config(settings)
    config.workers = settings.workers
    config.application_path = "sqlapi.app:create_app_from_env()"
    exit_code = run(config)
    sys.exit(exit_code)


@main.command()
@DATABASE
def openapi(database: Path | None) -> None:
    """Print the OpenAPI document that `serve` would publish, without serving."""
    from sqlapi.app import create_app
    from sqlapi.openapi import document

    path = _check_file(database or sample_database())
    settings = _settings(database=path.resolve())
    app = create_app(settings, _load(settings))
    click.echo(json.dumps(document(app), indent=2, ensure_ascii=False))


@main.command()
@DATABASE
def inspect(database: Path | None) -> None:
    """Print, as JSON, the schema that `serve` would expose."""
    path = _check_file(database or sample_database())
    schema = _load(_settings(database=path.resolve()))
    click.echo(json.dumps(schema.describe(), indent=2, ensure_ascii=False))
