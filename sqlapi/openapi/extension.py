"""QuartSchema for one services: the cached document (and one per table) with ETags, and
the offline documentation pages. Swagger UI offers one document per table through its
definition selector once the database has more tables than one page can show quickly."""

from __future__ import annotations

from typing import Any

from quart import Quart, Response, render_template, request
from quart_schema import QuartSchema, hide

from sqlapi.auth.caller import ANYONE
from sqlapi.model.names import path_segment
from sqlapi.openapi.provider import SqlapiOpenAPIProvider
from sqlapi.services import Services

SELECTOR_FROM = 50  # tables: beyond this, /docs shows one table's document at a time
# The docs pages may load and fetch only from sqlapi itself (ReDoc would otherwise fetch
# its logo from a CDN); inline scripts and styles are the UI templates'.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)


def json_answer(body: bytes, etag: str) -> Response:
    """A document, or a 304 when the client holds it (its ETag is its content's hash)."""
    response = Response("", 304) if request.if_none_match.contains_weak(etag) else Response(
        body, content_type="application/json"
    )  # fmt: skip
    response.set_etag(etag)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Vary"] = "Accept-Encoding"  # sent compressed to those who accept it
    return response


def docs_page(html: str) -> Response:
    return Response(
        html,
        content_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": DOCS_CSP, "Vary": "Accept-Encoding"},
    )


class SqlapiSchema(QuartSchema):
    """QuartSchema serving the cached documents of one database."""

    openapi_provider_class = SqlapiOpenAPIProvider
    openapi_provider: SqlapiOpenAPIProvider

    def __init__(self, services: Services, app: Quart, **options: Any) -> None:
        self.services = services
        super().__init__(app, **options)
        app.add_url_rule("/openapi/<table_name>.json", "openapi_table", self.openapi_table)

    @hide
    async def openapi(self) -> Response:
        built = await self.openapi_provider.built()
        return json_answer(built.encoded, built.etag)

    @hide
    async def openapi_table(self, table_name: str) -> Response:
        """The document of one table (`/openapi/books.json`)."""
        table = self.services.access(ANYONE).table(table_name)
        built = await self.openapi_provider.built()
        return json_answer(*built.table(table.name))

    @hide
    async def swagger_ui(self) -> Response:  # type: ignore[override]  # any Quart answer
        tables = self.services.schema.tables
        urls = []
        if len(tables) > SELECTOR_FROM:
            urls = [{"name": t.name, "url": f"/openapi/{path_segment(t.name)}.json"}
                    for t in tables]  # fmt: skip
            urls.append({"name": f"all {len(tables)} tables", "url": "/openapi.json"})
        html = await render_template(
            "swagger.html", title=self.info.title if self.info else "sqlapi", urls=urls
        )
        return docs_page(html)

    @hide
    async def redoc_ui(self) -> Response:  # type: ignore[override]  # any Quart answer
        html = await render_template("redoc.html", title=self.info.title if self.info else "sqlapi")
        return docs_page(html)
