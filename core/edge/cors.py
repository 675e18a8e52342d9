"""CORS: which browser pages on other origins may call the API (CORS_ORIGINS), answered for every route.

Contract (`CORSMiddleware`, for every HTTP request; CORS_ORIGINS read per request, parsed by `parse_origins`):
- CORS_ORIGINS empty (the default): nothing here happens; no response carries a CORS header, and a
  browser on another origin cannot read any answer.
- CORS_ORIGINS is `*` alone, or a comma-separated list of origins `scheme://host[:port]` (http or https, no
  path; compared case-insensitively, a trailing "/" ignored). Anything else is refused when Settings load.
- A request whose Origin is allowed gets `Access-Control-Allow-Origin` (`*` under `*`, else the origin
  itself) and `Access-Control-Expose-Headers` (`EXPOSED`: the audio headers, Retry-After,
  Content-Disposition), on every answer, errors included. An Origin not allowed (or none) gets no CORS
  header at all; the request itself is served as without CORS (the browser withholds the answer).
- A preflight (OPTIONS with Origin and Access-Control-Request-Method) from an allowed origin is answered
  here, 204, with `Access-Control-Allow-Methods` (`METHODS`), `Access-Control-Allow-Headers` (`HEADERS`:
  Authorization, Content-Type) and `Access-Control-Max-Age` (`MAX_AGE_S`); the route is not run. A
  preflight from another origin reaches the app like any OPTIONS request (405, no CORS header).
- Credentials: never with `*` (no `Access-Control-Allow-Credentials`, so a credentialed request from any
  origin fails in the browser). With listed origins `Access-Control-Allow-Credentials: true` is sent: the
  API authenticates with the Authorization header (no cookies), which needs no credentials mode, but a
  listed (trusted) page whose client sends credentials anyway (fetch `credentials: "include"`, axios
  `withCredentials`) keeps working.
- With listed origins every response (CORS or not) carries `Vary: Origin`, so a cache never hands one
  origin's answer to another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from core.config import get_settings
from core.edge.asgi import ASGIApp, Message, Receive, Send

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
HEADERS = ("Authorization", "Content-Type")
EXPOSED = (
    "X-Audio-Id",
    "X-Audio-Url",
    "X-Sample-Rate",
    "X-Options-Ignored",
    "Retry-After",
    "Content-Disposition",
)
MAX_AGE_S = 600
_ORIGIN = re.compile(r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(:[0-9]{1,5})?$")


@dataclass(frozen=True)
class Origins:
    any: bool  # `*`: every origin, never with credentials
    listed: frozenset[str]  # normalised origins

    def __bool__(self) -> bool:
        return self.any or bool(self.listed)

    def allows(self, origin: str) -> bool:
        return self.any or normalise(origin) in self.listed


def normalise(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


@lru_cache(maxsize=8)
def parse_origins(spec: str) -> Origins:
    entries = [normalise(part) for part in spec.split(",") if part.strip()]
    if "*" in entries:
        if len(entries) > 1:
            raise ValueError("CORS_ORIGINS: '*' allows every origin and stands alone; or list the origins")
        return Origins(any=True, listed=frozenset())
    for entry in entries:
        if not _ORIGIN.match(entry):
            raise ValueError(f"CORS_ORIGINS: {entry!r} is not an origin (scheme://host[:port], http or https, no path)")
    return Origins(any=False, listed=frozenset(entries))


def _header(scope: Message, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _with_vary(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    out: list[tuple[bytes, bytes]] = []
    varied = False
    for key, value in headers:
        if key.lower() == b"vary" and not varied:
            parts = [p.strip().lower() for p in value.split(b",")]
            value = value if b"origin" in parts or b"*" in parts else value + b", Origin"
            varied = True
        out.append((key, value))
    return out if varied else [*out, (b"vary", b"Origin")]


class CORSMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        origins = parse_origins(get_settings().cors_origins) if scope["type"] == "http" else None
        if not origins:
            await self.app(scope, receive, send)
            return
        origin = _header(scope, b"origin")
        allowed = origin is not None and origins.allows(origin)
        cors: list[tuple[bytes, bytes]] = []
        if allowed and origin is not None:
            cors.append((b"access-control-allow-origin", b"*" if origins.any else origin.encode("latin-1")))
            if not origins.any:
                cors.append((b"access-control-allow-credentials", b"true"))
        preflight = scope["method"] == "OPTIONS" and _header(scope, b"access-control-request-method") is not None
        if allowed and preflight:
            headers = [
                *cors,
                (b"access-control-allow-methods", ", ".join(METHODS).encode()),
                (b"access-control-allow-headers", ", ".join(HEADERS).encode()),
                (b"access-control-max-age", str(MAX_AGE_S).encode()),
                (b"content-length", b"0"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": self._vary(origins, headers)})
            await send({"type": "http.response.body", "body": b""})
            return
        if cors:
            cors.append((b"access-control-expose-headers", ", ".join(EXPOSED).encode()))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {key.lower() for key, _ in message.get("headers", ())}
                headers = [*message.get("headers", ()), *(h for h in cors if h[0] not in present)]
                message = {**message, "headers": self._vary(origins, headers)}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    @staticmethod
    def _vary(origins: Origins, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        return headers if origins.any else _with_vary(headers)
