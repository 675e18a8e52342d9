"""Interactive API docs: /docs (Swagger UI) and /redoc, self-hosted, unframable, off in production.

Contract:
- `docs_router()` serves /docs and /redoc pages and their assets under /docs/assets/ when DOCS_ENABLED
  (default: on in development, off in production); `create_app` includes it and turns FastAPI's own
  CDN-loading pages off. /openapi.json stays available either way (clients generate code from it).
- No asset comes from a CDN: Swagger UI and ReDoc are the builds shipped in the `fastapi-offline` package
  (PyPI), served from this process; the Swagger UI initialiser is a file here too, so the pages carry no
  inline script and a strict Content-Security-Policy (same-origin scripts, `frame-ancestors 'none'`).
  Only the files named in `ASSETS` are served; nothing from the request reaches the file system.
- Imports nothing heavy; the asset package is located when an asset is asked for (Lambda functions,
  which never route /docs, do not ship it).
"""

from __future__ import annotations

import html
import importlib.util
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, HTMLResponse, Response

from core.errors import NotFound, ServiceUnavailable

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-cache"}
ASSET_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "public, max-age=3600"}
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
SWAGGER_INIT = """\
"use strict";
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""


def _asset_dir() -> Path:
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        message = "The docs assets are not installed (pip install fastapi-offline)"
        raise ServiceUnavailable(message, code="docs_unavailable")
    return Path(spec.origin).parent / "static"


def _page(title: str, body: str, head: str = "") -> HTMLResponse:
    text = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n"
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{head}</head>\n<body>\n{body}</body>\n</html>\n"
    )
    return HTMLResponse(text, headers=PAGE_HEADERS)


def docs_router(*, openapi_url: str) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        head = (
            f'<link rel="stylesheet" href="{root}/docs/assets/swagger-ui.css">\n'
            f'<link rel="icon" href="{root}/docs/assets/favicon.png">\n'
        )
        body = (
            f'<div id="swagger-ui" data-openapi-url="{root}{openapi_url}"></div>\n'
            f'<script src="{root}/docs/assets/swagger-ui-bundle.js"></script>\n'
            f'<script src="{root}/docs/assets/swagger-init.js"></script>\n'
        )
        return _page(f"{request.app.title} - API docs", body, head)

    @router.get("/redoc")
    async def redoc(request: Request) -> HTMLResponse:
        root = html.escape(request.scope.get("root_path", ""))
        head = f'<link rel="icon" href="{root}/docs/assets/favicon.png">\n'
        body = (
            f'<redoc spec-url="{root}{openapi_url}"></redoc>\n'
            f'<script src="{root}/docs/assets/redoc.standalone.js"></script>\n'
        )
        return _page(f"{request.app.title} - ReDoc", body, head)

    @router.get("/docs/assets/{name}")
    async def asset(name: Annotated[str, PathParam(max_length=64)]) -> Response:
        if name == "swagger-init.js":
            return Response(SWAGGER_INIT, media_type="text/javascript; charset=utf-8", headers=ASSET_HEADERS)
        media_type = ASSETS.get(name)
        if media_type is None:
            raise NotFound(f"No such file: {name}", code="not_found")
        return FileResponse(_asset_dir() / name, media_type=media_type, headers=ASSET_HEADERS)

    return router
