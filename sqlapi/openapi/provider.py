"""quart-schema's OpenAPI provider, taught that one generic route is one path per table
(and per column name, and per named query). The document is built once per exposure, off
the event loop, and kept as JSON; a document of one table is cut from it on demand."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from quart import Quart
from quart_schema import QuartSchema
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import Rule

from sqlapi.config import Settings
from sqlapi.http.marks import DOCUMENTED_APART
from sqlapi.model.encoding import dumps
from sqlapi.model.names import path_segment
from sqlapi.model.schema import fold
from sqlapi.openapi.components import (
    API_ERRORS,
    PUBLIC_ERRORS,
    Json,
    problem_responses,
    shared_parameters,
    shared_responses,
    shared_schemas,
)
from sqlapi.openapi.generic import data_paths, query_paths
from sqlapi.openapi.tables import Parts, TableDocument
from sqlapi.services import Services
from sqlapi.store.exposure import Exposure

BEARER = {
    "type": "http",
    "scheme": "bearer",
    "description": "An API key from the server's configuration: `Authorization: Bearer <key>`.",
}
BEARER_JWT = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A JSON Web Token from the identity provider: `Authorization: Bearer "
    "<token>`. Its role decides the tables, its claims the rows of tables with a row filter.",
}


def security(settings: Settings) -> tuple[dict[str, Json], list[dict[str, list[str]]]]:
    """The security schemes, and the alternatives an API request may satisfy (an empty one
    when a request without credentials is answered: no configuration, or an anonymous
    role)."""
    schemes: dict[str, Json] = {}
    if settings.api_keys:
        schemes["bearer"] = BEARER
    jwt = settings.auth.jwt
    if jwt is not None:
        schemes["bearerAuth"] = BEARER_JWT
    anonymous = jwt is not None and jwt.anonymous_role is not None
    alternatives: list[dict[str, list[str]]] = [{name: []} for name in schemes]
    if anonymous:
        alternatives.append({})
    return schemes, alternatives


@dataclass
class Built:
    """The document of one exposure, as JSON with its ETag, and the cut per table."""

    exposure: Exposure
    document: Json
    encoded: bytes
    etag: str
    owners: dict[str, str]  # path -> table
    tables: dict[str, tuple[bytes, str]] = field(default_factory=dict)  # folded name -> JSON

    def table(self, name: str) -> tuple[bytes, str]:
        """The document of one table: its paths and the components they reach."""
        key = fold(name)
        if key not in self.tables:
            paths = {p: item for p, item in self.document["paths"].items()
                     if fold(self.owners.get(p, "")) == key}  # fmt: skip
            cut = {**self.document, "paths": paths,
                   "components": _reached(self.document["components"], paths)}  # fmt: skip
            cut["info"] = {**cut["info"], "title": f"{cut['info']['title']}: {name}"}
            encoded = dumps(cut)
            self.tables[key] = (encoded, _etag(encoded))
        return self.tables[key]


def _etag(encoded: bytes) -> str:
    return hashlib.blake2s(encoded, digest_size=12).hexdigest()


def _refs(node: object) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _reached(components: Json, roots: Json) -> Json:
    """The components `roots` reach, through references of references."""
    reached: dict[str, dict[str, Any]] = {}
    pending = list(_refs(roots))
    while pending:
        _, _, kind, name = pending.pop().split("/", 3)
        if name in reached.setdefault(kind, {}) or name not in components.get(kind, {}):
            continue
        reached[kind][name] = components[kind][name]
        pending += _refs(reached[kind][name])
    return {kind: items for kind, items in reached.items() if items} | {
        k: v for k, v in components.items() if k == "securitySchemes"
    }


class SqlapiOpenAPIProvider(OpenAPIProvider):
    """Generic routes as quart-schema documents them, with problem responses; the
    per-table routes expanded into one path per table; the result cached."""

    _built: Built | None = None
    _pending: tuple[Exposure, asyncio.Future[Built]] | None = None

    def __init__(self, app: Quart, extension: QuartSchema) -> None:
        super().__init__(app, extension)
        self.view_functions = app.view_functions  # quart-schema's own `_app` is private
        services = getattr(extension, "services", None)
        assert isinstance(services, Services)
        self.services = services

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        if getattr(self.view_functions[rule.endpoint], DOCUMENTED_APART, False):
            return {}, {}  # one path per table / column / query, added in _make()
        return super().build_paths(rule)

    def schema(self) -> dict[str, Any]:
        return self._current().document

    def _current(self) -> Built:
        exposure = self.services.exposure
        if self._built is None or self._built.exposure is not exposure:
            self._built = self._make(exposure)
        return self._built

    async def built(self) -> Built:
        """The document of what is exposed now, built in a worker thread so that the event
        loop keeps answering meanwhile (a thousand tables take a second or more); requests
        that arrive during a build wait for that build."""
        exposure = self.services.exposure
        if self._built is not None and self._built.exposure is exposure:
            return self._built
        if self._pending is None or self._pending[0] is not exposure:
            self._pending = (
                exposure,
                asyncio.ensure_future(asyncio.to_thread(self._make, exposure)),
            )
        built = await asyncio.shield(self._pending[1])
        if built.exposure is self.services.exposure:
            self._built = built
        return built

    def _make(self, exposure: Exposure) -> Built:
        document = super().schema()
        settings = self.services.settings
        schemes, alternatives = security(settings)
        keyed = bool(schemes)
        errors = API_ERRORS if keyed else PUBLIC_ERRORS
        self._finish_generic(document, exposure, errors, keyed)
        tables = TableDocument(exposure.schema, self.services.limits, errors)
        parts: Parts = tables.build()
        data_paths(exposure.schema, tables.names, errors, parts, self.services.limits)
        query_paths(settings.queries, exposure.query_columns, errors, parts)
        document["paths"] = {**dict(document["paths"]), **parts.paths}
        components = document["components"]
        components["schemas"] = {**components["schemas"], **shared_schemas(), **parts.schemas}
        components["parameters"] = {**shared_parameters(self.services.limits), **parts.parameters}
        components["responses"] = shared_responses()
        if keyed:
            components["securitySchemes"] = schemes
            document["security"] = alternatives
        encoded = dumps(document)
        return Built(exposure, document, encoded, _etag(encoded), parts.owners)

    @staticmethod
    def _finish_generic(
        document: Json, exposure: Exposure, errors: tuple[str, ...], keyed: bool
    ) -> None:
        """quart-schema's generic paths: problem responses, and names listed."""
        tables = exposure.schema.tables
        enums = {
            "table_name": [path_segment(t.name) for t in tables],
            "_table": [t.name for t in tables],
        }
        for path, operations in document["paths"].items():
            for operation in operations.values():
                responses = {str(k): v for k, v in operation["responses"].items()}
                if path.startswith("/api"):
                    responses |= problem_responses(errors)
                elif keyed:
                    operation["security"] = []  # probes and docs need no key
                operation["responses"] = responses
                for param in operation["parameters"]:
                    if param["name"] in enums:
                        param["schema"] = {"enum": enums[param["name"]]}
