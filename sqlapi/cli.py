"""The `sqlapi` command. Expected failures end in one line on stderr and exit code 2."""

from __future__ import annotations

import errno
import json
import os
import re
import socket
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import click
import orjson

if TYPE_CHECKING:
    from sqlapi.app import App
    from sqlapi.store.exposure import Exposure

from sqlapi import __version__
from sqlapi.auth.settings import hash_key
from sqlapi.config import ConfigError, Settings, load_settings, sample_database
from sqlapi.serving import missing_server, serve_many, serve_one


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


def _settings(config: Path | None = None, **values: object) -> Settings:
    try:
        return load_settings(config, **values)
    except ConfigError as error:
        fail(str(error))


_MALFORMED_SCHEMA = re.compile(r"malformed database schema \((.*)\) - (.*)", re.S)


def unreadable(error: sqlite3.DatabaseError) -> str:
    """Why SQLite cannot open a file, said as its real cause."""
    text = str(error)
    schema = _MALFORMED_SCHEMA.fullmatch(text)
    if schema is not None:
        return f"SQLite cannot read its schema: {schema.group(1)!r}: {schema.group(2)}"
    if "file is not a database" in text:
        return "not an SQLite database"
    if "malformed" in text:
        return f"the file is damaged ({text})"
    return f"SQLite cannot read it: {text}"


def _load(settings: Settings) -> Exposure:
    from sqlapi.store.exposure import expose

    try:
        return expose(settings)
    except sqlite3.DatabaseError as error:
        fail(f"{settings.database}: {unreadable(error)}")
    except MemoryError:
        fail(f"{settings.database}: SQLite runs out of memory reading its schema")
    except OSError as error:
        fail(f"{settings.database}: {error.strerror or error}")
    except ConfigError as error:
        fail(str(error))


DATABASE = click.argument("database", type=click.Path(path_type=Path), required=False)
CONFIG = click.option(
    "--config", "config", type=click.Path(path_type=Path), help="A sqlapi.toml file."
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sqlapi")
def main() -> None:
    """A safe, fast, read-only JSON API over any SQLite file."""


@main.command()
@DATABASE
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--server",
    type=click.Choice(["hypercorn", "uvicorn"]),
    default="hypercorn",
    show_default=True,
    help="HTTP server; uvicorn needs `pip install 'sqlapi[uvicorn]'` and is faster.",
)
@click.option("--immutable", is_flag=True, help="Promise the file never changes (immutable=1).")
@click.option("--time-limit-ms", type=int, help="Interrupt queries after this long [1000].")
@click.option("--max-limit", type=int, help="Largest page size a client may ask for [1000].")
@click.option("--access-log/--no-access-log", default=True, help="Log each request on stdout.")
@CONFIG
@click.option("--enable-sql", is_flag=True, default=None, help="Serve /api/sql (read-only SQL).")
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
    server: str,
    immutable: bool,
    time_limit_ms: int | None,
    max_limit: int | None,
    cors_origins: tuple[str, ...],
    config: Path | None,
    enable_sql: bool | None,
    access_log: bool,
) -> None:
    """Serve DATABASE (default: the bundled sample.db) as a JSON API."""
    path = _check_file(database or sample_database())
    if (missing := missing_server(server)) is not None:
        fail(missing)
    settings = _settings(
        config,
        database=path.resolve(),
        host=host,
        port=port,
        workers=workers,
        server=server,
        immutable=immutable,
        time_limit_ms=time_limit_ms,
        max_limit=max_limit,
        cors_origins=cors_origins or None,
        enable_sql=enable_sql,
    )
    app = _app(settings)
    schema = app.services.schema
    _check_port(host, port)
    views = sum(1 for t in schema.tables if t.kind == "view")
    skipped = f", {len(schema.skipped)} skipped (GET /api says why)" if schema.skipped else ""
    click.echo(
        f"sqlapi: serving {path} ({len(schema.tables) - views} tables, {views} views{skipped}) "
        f"on http://{host}:{port}/api with {workers} {server} worker(s)",
        err=True,
    )
    for item in schema.skipped[:10]:
        click.echo(f"sqlapi: not serving {item.kind} {item.name!r}: {item.reason}", err=True)
    if len(schema.skipped) > 10:
        click.echo(f"sqlapi: ... and {len(schema.skipped) - 10} more (GET /api)", err=True)
    if workers == 1:
        serve_one(app, settings, access_log)
    else:
        sys.exit(serve_many(settings, access_log))


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


def _app(settings: Settings) -> App:
    """The app, or one line on stderr for a bad file or configuration."""
    from sqlapi.app import create_app
    from sqlapi.auth.jwks import JwksError

    try:
        return create_app(settings, _load(settings))
    except (ConfigError, JwksError) as error:
        fail(str(error))


@main.command("hash-key")
@click.argument("key")
def hash_key_command(key: str) -> None:
    """Print the hash of KEY, to put in [[api_keys]] hash = "..."."""
    if len(key) < 16:
        fail("use a long random key (16 characters at least), e.g. from `openssl rand -hex 32`")
    if key.count(".") == 2:
        fail("a key with two dots would be read as a JSON Web Token: use another")
    click.echo(hash_key(key))


@main.command("token")
@click.option("--secret", help="The shared secret of [auth.jwt] (or give --config).")
@CONFIG
@click.option("--claims", default="{}", show_default=True, help="The claims, as a JSON object.")
@click.option("--algorithm", type=click.Choice(["HS256", "HS384", "HS512"]), help="[HS256]")
@click.option("--expires-in", default=3600, show_default=True, type=int, help="Seconds.")
def token_command(
    secret: str | None,
    config: Path | None,
    claims: str,
    algorithm: str | None,
    expires_in: int,
) -> None:
    """Print a signed JWT for LOCAL DEVELOPMENT and tests: production tokens come from
    your identity provider. The secret is --secret or [auth.jwt] secret of --config."""
    from sqlapi.auth.tokens import mint_token

    if config is not None:
        jwt = _settings(config, database=sample_database()).auth.jwt
        if jwt is None or jwt.secret is None:
            fail(f"{config}: [auth.jwt] has no secret (a key set's issuer signs its tokens)")
        secret = secret or jwt.secret
        algorithm = algorithm or jwt.algorithms[0]
    if secret is None:
        fail("give --secret, or --config with an [auth.jwt] secret")
    try:
        payload = json.loads(claims)
    except ValueError as error:
        fail(f"--claims: not JSON: {error}")
    if not isinstance(payload, dict):
        fail('--claims: give a JSON object, e.g. \'{"sub": "1", "role": "member"}\'')
    try:
        click.echo(mint_token(secret, payload, algorithm or "HS256", expires_in))
    except ValueError as error:
        fail(str(error))


@main.command()
@DATABASE
@CONFIG
def openapi(database: Path | None, config: Path | None) -> None:
    """Print the OpenAPI document that `serve` would publish, without serving."""
    path = _check_file(database or sample_database())
    app = _app(_settings(config, database=path.resolve()))
    document = app.documentation.openapi_provider.schema()
    # orjson writes the indented bytes straight out: no megabytes-long str in between
    # (a 1,000-table document is 24 MB).
    sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")


@main.command()
@DATABASE
@CONFIG
def inspect(database: Path | None, config: Path | None) -> None:
    """Print, as JSON, the schema that `serve` would expose."""
    path = _check_file(database or sample_database())
    from sqlapi.respond.models import describe_schema

    exposure = _load(_settings(config, database=path.resolve()))
    click.echo(json.dumps(describe_schema(exposure.schema), indent=2, ensure_ascii=False))
