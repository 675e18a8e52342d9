"""The uvicorn server of `python local_server.py` (local, Render, the API image): slow clients cut off.

Contract:
- `serve(app)` runs uvicorn on HOST:PORT with its own proxy-header handling off (the app decides from
  FORWARDED_ALLOW_IPS, `core.edge.proxies`), no `Server` header, idle keep-alive connections closed after
  KEEP_ALIVE_TIMEOUT_S, and the protocol below.
- `HeaderTimeoutProtocol` (httptools, uvicorn's default; `HeaderTimeoutH11Protocol` where httptools is
  missing): a request's line and headers must arrive within HEADER_TIMEOUT_S of the connection opening
  or of the first byte of the next request on a kept-alive connection. Past that the connection is
  closed, after a 408 in the one error shape when part of a request had arrived (a connection that sent
  nothing is just closed, as browsers expect of idle pre-opened sockets). uvicorn has no such timeout.
  Slow bodies are cut off in the app (`core.edge.body`), so the rule also holds behind other servers.
- `RedactSecretsFilter` on uvicorn's access log: a credential sent in the query string (the original
  contract's `POST /auth/refresh?refresh_token=...`) is logged as `[redacted]`, never in clear.
Imported only by the server entry point, never by Lambda handlers.
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import re
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from core.config import get_settings
from core.errors import RequestTimeout, error_body

SECRET_QUERY = re.compile(r"([?&]refresh_token=)[^&\s]*")


class RedactSecretsFilter(logging.Filter):
    """Redacts query-string credentials in uvicorn access records (args: client, method, path, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], SECRET_QUERY.sub(r"\1[redacted]", args[2]), *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with `RedactSecretsFilter` on the access log's handler."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_secrets"] = {"()": RedactSecretsFilter}
    config["handlers"]["access"].setdefault("filters", []).append("redact_secrets")
    return config


def _timeout_response(timeout: float) -> bytes:
    exc = RequestTimeout(f"The request headers did not arrive within {timeout:g} s")
    body = json.dumps(error_body(exc.code, exc.message)).encode()
    head = (
        f"HTTP/1.1 {exc.status} Request Timeout\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class _HeaderClock:
    """The header deadline of one connection: armed while a request's headers are awaited."""

    def __init__(self, loop: asyncio.AbstractEventLoop, transport: asyncio.Transport) -> None:
        self.loop = loop
        self.transport = transport
        self.timeout = get_settings().header_timeout_s
        self.handle: asyncio.TimerHandle | None = None
        self.partial = False

    def arm(self) -> None:
        if self.handle is None:
            self.handle = self.loop.call_later(self.timeout, self.expire)

    def disarm(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.partial = False

    def expire(self) -> None:
        self.handle = None
        if not self.transport.is_closing():
            if self.partial:
                self.transport.write(_timeout_response(self.timeout))
            self.transport.close()


def _waiting_for_headers(cycle: Any) -> bool:
    return cycle is None or bool(cycle.response_complete)


def _with_header_timeout(base: type[Any]) -> type[Any]:
    class Protocol(base):  # type: ignore[misc]
        _clock: _HeaderClock

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._clock = _HeaderClock(self.loop, transport)
            self._clock.arm()

        def data_received(self, data: bytes) -> None:
            before = self.cycle
            if _waiting_for_headers(before):
                self._clock.arm()
                self._clock.partial = True
            super().data_received(data)
            if self.cycle is not before:  # a request's headers are complete
                self._clock.disarm()

        def connection_lost(self, exc: Exception | None) -> None:
            if hasattr(self, "_clock"):
                self._clock.disarm()
            super().connection_lost(exc)

    Protocol.__name__ = Protocol.__qualname__ = f"HeaderTimeout{base.__name__}"
    return Protocol


HeaderTimeoutH11Protocol = _with_header_timeout(H11Protocol)
try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
    HeaderTimeoutProtocol = HeaderTimeoutH11Protocol
else:
    HeaderTimeoutProtocol = _with_header_timeout(HttpToolsProtocol)


def serve(app: str = "local_server:app") -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        proxy_headers=False,
        server_header=False,
        timeout_keep_alive=settings.keep_alive_timeout_s,
        http=HeaderTimeoutProtocol,
        log_level="info",
        log_config=log_config(),
    )
