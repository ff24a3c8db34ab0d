"""quart-schema's OpenAPI provider, taught that one generic route is one path per table
(and per named query); the document is built once per exposure and kept as JSON too."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from quart import Quart, Response, request
from quart_schema import QuartSchema, hide
from quart_schema.openapi import OpenAPIProvider
from werkzeug.routing import Rule

from sqlapi.encoding import dumps
from sqlapi.exposure import Exposure
from sqlapi.gateway import Gateway
from sqlapi.keys import path_segment
from sqlapi.openapi.tables import (
    API_ERRORS,
    BEARER,
    PUBLIC_ERRORS,
    TableDocument,
    _problems,
    query_paths,
)
from sqlapi.routes import DOCUMENTED_APART

# (the exposure it describes, the document, as JSON, its ETag)
Built = tuple[Exposure, dict[str, Any], bytes, str]


class SqlapiOpenAPIProvider(OpenAPIProvider):
    """Generic routes as quart-schema documents them (plus problem responses); the
    per-table routes expanded into one path per table; the result cached."""

    _built: Built | None = None
    _pending: tuple[Exposure, asyncio.Future[Built]] | None = None

    def __init__(self, app: Quart, extension: QuartSchema) -> None:
        super().__init__(app, extension)
        assert isinstance(extension, SqlapiSchema)
        self.gateway = extension.gateway

    def build_paths(self, rule: Rule) -> tuple[dict[str, Any], dict[str, Any]]:
        gateway = self.gateway
        view = self._app.view_functions[rule.endpoint]
        if getattr(view, DOCUMENTED_APART, False):
            return {}, {}  # one path per table / per query, added in schema()
        paths, components = super().build_paths(rule)
        for operations in paths.values():
            for operation in operations.values():
                responses = {str(k): v for k, v in operation["responses"].items()}
                if rule.rule.startswith("/api"):
                    responses |= _problems(
                        API_ERRORS if gateway.settings.api_keys else PUBLIC_ERRORS
                    )
                elif gateway.settings.api_keys:
                    operation["security"] = []  # probes and docs need no key
                operation["responses"] = responses
                self._enumerate_names(operation)
        return paths, components

    def _enumerate_names(self, operation: dict[str, Any]) -> None:
        """Path and query parameters that name a table or column list the exposed names."""
        tables = self.gateway.schema.tables
        enums = {
            "table_name": [path_segment(t.name) for t in tables],
            "_table": [t.name for t in tables],
            "column_name": sorted({path_segment(c.name) for t in tables for c in t.columns}),
        }
        for param in operation["parameters"]:
            if param["name"] in enums:
                param["schema"] = {"enum": enums[param["name"]]}

    def schema(self) -> dict[str, Any]:
        return self._current()[1]

    def _current(self) -> Built:
        """The document of what is exposed now, built once per exposure (the file's schema
        is read anew when it changes) and kept as JSON bytes too."""
        exposure = self.gateway.exposure
        if self._built is None or self._built[0] is not exposure:
            self._built = self._make(exposure)
        return self._built

    async def encoded(self) -> Built:
        """The document as JSON, built in a worker thread so that the event loop keeps
        answering meanwhile (a thousand tables take seconds); requests that arrive during
        a build wait for that build."""
        exposure = self.gateway.exposure
        if self._built is not None and self._built[0] is exposure:
            return self._built
        if self._pending is None or self._pending[0] is not exposure:
            self._pending = (
                exposure,
                asyncio.ensure_future(asyncio.to_thread(self._make, exposure)),
            )
        built = await asyncio.shield(self._pending[1])
        if built[0] is self.gateway.exposure:
            self._built = built
        return built

    def _make(self, exposure: Exposure) -> Built:
        document = super().schema()
        gateway = self.gateway
        keyed = bool(gateway.settings.api_keys)
        errors = API_ERRORS if keyed else PUBLIC_ERRORS
        paths, components = TableDocument(exposure.schema, gateway.limits, errors).build()
        columns = exposure.query_columns
        paths |= query_paths(gateway.settings.queries, columns, gateway.limits, errors)
        document["paths"] = {**dict(document["paths"]), **paths}
        document["components"]["schemas"].update(components)
        if keyed:
            document["components"]["securitySchemes"] = {"bearer": BEARER}
            document["security"] = [{"bearer": []}]
        encoded = dumps(document)
        return exposure, document, encoded, hashlib.blake2s(encoded, digest_size=12).hexdigest()


class SqlapiSchema(QuartSchema):
    """QuartSchema serving the cached document as bytes, for one gateway."""

    openapi_provider_class = SqlapiOpenAPIProvider
    openapi_provider: SqlapiOpenAPIProvider

    def __init__(self, gateway: Gateway, app: Quart, **options: Any) -> None:
        self.gateway = gateway
        super().__init__(app, **options)

    @hide
    async def openapi(self) -> Response:
        """The cached document, built off the event loop; its ETag is its content's hash."""
        _, _, body, etag = await self.openapi_provider.encoded()
        if request.if_none_match.contains_weak(etag):
            response = Response("", 304)
        else:
            response = Response(body, content_type="application/json")
        response.set_etag(etag)
        response.headers["Cache-Control"] = "no-cache"
        return response

    @hide
    async def swagger_ui(self) -> Response:  # type: ignore[override]  # any Quart answer
        return _docs_page(await super().swagger_ui())

    @hide
    async def redoc_ui(self) -> Response:  # type: ignore[override]  # any Quart answer
        return _docs_page(await super().redoc_ui())


# The docs pages may load and fetch only from sqlapi itself (ReDoc would otherwise fetch
# its logo from a CDN); inline scripts and styles are the UI templates'.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def _docs_page(html: str) -> Response:
    """quart-schema's page as a standards-mode HTML document, under a strict CSP."""
    if not html.lstrip().lower().startswith("<!doctype"):
        html = "<!doctype html>\n" + html
    return Response(
        html,
        content_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": DOCS_CSP},
    )

    @hide
    async def openapi(self) -> Response:
        return Response(await self.openapi_provider.encoded(), content_type="application/json")
