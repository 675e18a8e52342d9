"""The HTTP edge: what every request passes through before a route sees it.

Contract: `install(app)` wraps the app, outermost first, in
1. `proxies.ProxyHeadersMiddleware`: the real client address from trusted proxies (FORWARDED_ALLOW_IPS);
2. `headers.SecurityHeadersMiddleware`: nosniff, no referrer, unframable, HSTS over HTTPS;
3. `cors.CORSMiddleware`: CORS for the origins in CORS_ORIGINS (none by default), preflights answered,
   its headers on every answer below it (the body guard's refusals included);
4. `body.BodyGuardMiddleware`: duplicate framing headers refused, one body limit decided by the route
   (`body.upload_route` marks uploads), slow bodies cut off with 408.
Slow headers are the server's job: `server.serve()` runs uvicorn with a header timeout (`server.py`).
Every middleware reads its settings per request, so a changed Settings applies without rebuilding the app.
"""

from __future__ import annotations

from fastapi import FastAPI

from core.edge.body import BodyGuardMiddleware, upload_route
from core.edge.cors import CORSMiddleware
from core.edge.headers import SecurityHeadersMiddleware
from core.edge.proxies import ProxyHeadersMiddleware

__all__ = ["install", "upload_route"]


def install(app: FastAPI) -> None:
    app.add_middleware(BodyGuardMiddleware, routes=lambda: app.router.routes)
    app.add_middleware(CORSMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ProxyHeadersMiddleware)  # added last: outermost
