"""Request bodies: one size limit decided by the route, framing headers checked, slow bodies cut off.

Contract (`BodyGuardMiddleware`, for every HTTP request, before anything reads the body):
- More than one Content-Type or Content-Length header: 400 `duplicate_header`; a Content-Length that is
  not a number: 400 `invalid_content_length`. The body is never read.
- The limit is MAX_REQUEST_BYTES, whatever the Content-Type says; only a route whose endpoint is marked
  with `@upload_route` gets MAX_UPLOAD_BYTES + `MULTIPART_OVERHEAD`. The route is found by matching the
  scope against the app's routes, the way the router will, and only for bodies over the JSON limit.
  Over the limit: 413 `payload_too_large`, from Content-Length before the body is read, else as soon
  as the streamed bytes pass it; so no JSON is parsed and no oversized body is held before the check.
- Slow bodies: the body must arrive within BODY_TIMEOUT_S, extended by one second for every
  BODY_MIN_RATE bytes received (Apache mod_reqtimeout's rule); otherwise 408 `request_timeout`. Once the
  body is complete, `receive` is passed through untouched (waiting for a disconnect is not timed).
- GET, HEAD and OPTIONS requests without Content-Length or Transfer-Encoding have no body by HTTP framing
  (and no such route reads one): they pass straight through, unwrapped.
- Every answer given here closes the connection (`Connection: close`): the unread body is not parsed as
  the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from starlette.routing import BaseRoute, Match

from core.config import get_settings
from core.edge.asgi import ASGIApp, Message, Receive, Send, send_error
from core.errors import AppError, BadRequest, PayloadTooLarge, RequestTimeout

MULTIPART_OVERHEAD = 64 * 1024  # multipart framing and the small form fields around an uploaded file
UPLOAD_MARK = "__upload_route__"
BODYLESS = frozenset({"GET", "HEAD", "OPTIONS"})
F = TypeVar("F", bound=Callable[..., Any])


def upload_route(endpoint: F) -> F:
    """Mark an endpoint (under its route decorator) as taking an upload: MAX_UPLOAD_BYTES instead of
    MAX_REQUEST_BYTES."""
    setattr(endpoint, UPLOAD_MARK, True)
    return endpoint


def _flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Routes in the router's order, looking through FastAPI's included-router wrappers (>= 0.16x)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _flat(inner.routes)
        else:
            yield route


def is_upload_route(routes: list[BaseRoute], scope: Message) -> bool:
    """Whether the route the router would pick for this scope is marked with `@upload_route`."""
    for route in _flat(routes):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return bool(getattr(getattr(route, "endpoint", None), UPLOAD_MARK, False))
    return False


class _Stop(Exception):
    """Raised from `receive` once this middleware has decided to answer the request itself."""


class BodyGuardMiddleware:
    def __init__(self, app: ASGIApp, *, routes: Callable[[], list[BaseRoute]]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lengths: list[bytes] = []
        types = 0
        chunked = False
        for key, value in scope["headers"]:
            if key == b"content-length":
                lengths.append(value)
            elif key == b"content-type":
                types += 1
            elif key == b"transfer-encoding":
                chunked = True
        if len(lengths) > 1 or types > 1:
            message = "Send at most one Content-Type and one Content-Length header"
            await send_error(send, BadRequest(message, code="duplicate_header"), close=True)
            return
        if not lengths and not chunked and scope["method"] in BODYLESS:
            await self.app(scope, receive, send)  # no body by HTTP framing, and no such route reads one
            return
        if lengths and not lengths[0].strip().isdigit():
            invalid = BadRequest("Content-Length is not a number", code="invalid_content_length")
            await send_error(send, invalid, close=True)
            return
        settings = get_settings()
        json_limit = settings.max_request_bytes
        upload: list[bool] = []  # decided once, and only for a body over the JSON limit

        def limit_for(size: int) -> int:
            if size <= json_limit:
                return json_limit
            if not upload:
                upload.append(is_upload_route(self.routes(), scope))
            return settings.max_upload_bytes + MULTIPART_OVERHEAD if upload[0] else json_limit

        if lengths and int(lengths[0]) > limit_for(int(lengths[0])):
            limit = limit_for(int(lengths[0]))
            await send_error(send, PayloadTooLarge(f"Request body exceeds {limit} bytes"), close=True)
            return

        loop = asyncio.get_running_loop()
        timeout, min_rate = settings.body_timeout_s, settings.body_min_rate
        started: float | None = None
        received = 0
        body_done = False
        refusal: AppError | None = None
        response_started = False

        async def guarded_receive() -> Message:
            nonlocal started, received, body_done, refusal
            if refusal is not None:
                raise _Stop
            if body_done:
                return await receive()
            started = loop.time() if started is None else started
            budget = started + timeout + (received / min_rate if min_rate else 0.0) - loop.time()
            try:
                async with asyncio.timeout(max(budget, 0.0)):  # a timer on this task, no extra task
                    message = await receive()
            except TimeoutError:
                refusal = RequestTimeout(f"The request body did not arrive within {timeout:g} s")
                raise _Stop from None
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit_for(received):
                    refusal = PayloadTooLarge(f"Request body exceeds {limit_for(received)} bytes")
                    raise _Stop
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refusal is None:
                response_started = response_started or message["type"] == "http.response.start"
                await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if refusal is None:
                raise  # not ours: the app's own error handling answers it
        if refusal is not None and not response_started:
            await send_error(send, refusal, close=True)
