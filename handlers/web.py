"""The web page: GET /app (the single page) and GET /app/static/{name} (its script and style sheet).

Contract: serves only the files named in `ASSETS` from the repository's web/ directory (no directory
listing, no path from the request reaches the file system), with their content types, a strict
Content-Security-Policy (same-origin scripts, styles and API calls; audio from blob: URLs) and
`Cache-Control: no-cache` so a redeploy is picked up. The page talks to the JSON API with the Bearer
token it gets from /auth/login; nothing here reads or sets cookies. Imports nothing heavy.

Lambda entry: `handlers.web.handler` (the page can be served by any static host as well).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from mangum import Mangum

from core.api import create_app
from core.errors import NotFound

router = APIRouter(tags=["web"], include_in_schema=False)
WEB_DIR = Path(__file__).resolve().parent.parent / "web"
ASSETS = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "media-src 'self' blob:; img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@router.get("/app")
def page() -> FileResponse:
    return FileResponse(WEB_DIR / "index.html", media_type="text/html; charset=utf-8", headers=SECURITY_HEADERS)


@router.get("/app/")
def page_slash() -> RedirectResponse:
    return RedirectResponse("/app", status_code=308)


@router.get("/app/static/{name}")
def asset(name: Annotated[str, PathParam(max_length=64)]) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise NotFound(f"No such file: {name}", code="not_found")
    return FileResponse(WEB_DIR / name, media_type=media_type, headers=SECURITY_HEADERS)


app = create_app(router)
handler = Mangum(app, lifespan="off")
