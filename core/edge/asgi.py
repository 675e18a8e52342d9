"""ASGI plumbing shared by the edge middlewares: the callable types and one way to answer an error.

Contract: `send_error(send, exc)` answers an `AppError` with its status, its headers, `Connection: close`
when asked, and the one error shape (`core.errors.error_body`), for middlewares that answer before the
app's exception handlers can run.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from core.errors import AppError, error_body

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


async def send_error(send: Send, exc: AppError, *, close: bool = False) -> None:
    body = json.dumps(error_body(exc.code, exc.message, exc.details)).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in exc.headers.items()]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
