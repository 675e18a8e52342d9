"""The body limit is decided by the route, never by a header; duplicate framing headers are refused.

Issue 10's reproduction: a 10 MB JSON body to /auth/login sent with two Content-Type headers
(application/json, then multipart/form-data) got the upload limit and was parsed as JSON before
authentication. Now it is refused with 400 before the body is read, and a JSON route keeps the JSON
limit whatever Content-Type it is sent with.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from tests.support import servers

Message = MutableMapping[str, Any]
TEN_MB = 10 * 1024 * 1024
LOGIN = json.dumps({"username": "someone", "password": "x" * (TEN_MB - 40)}).encode()


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_two_content_types_are_refused_before_the_body_is_read(client: TestClient) -> None:
    headers = [("content-type", "application/json"), ("content-type", "multipart/form-data; boundary=x")]
    response = client.post("/auth/login", content=LOGIN, headers=headers)
    assert response.status_code == 400
    assert error_code(response) == "duplicate_header"
    assert response.headers["connection"] == "close"


def test_two_content_lengths_are_refused(client: TestClient) -> None:
    body = b'{"username": "a", "password": "b"}'
    headers = [("content-type", "application/json"), ("content-length", str(len(body))), ("content-length", "5")]
    response = client.post("/auth/login", content=body, headers=headers)
    assert response.status_code == 400
    assert error_code(response) == "duplicate_header"


def test_a_json_route_keeps_the_json_limit_whatever_the_content_type(client: TestClient) -> None:
    for content_type in ("multipart/form-data; boundary=x", "application/json", "text/plain"):
        response = client.post("/auth/login", content=LOGIN, headers={"content-type": content_type})
        assert response.status_code == 413, content_type
        assert error_code(response) == "payload_too_large"


def test_a_streamed_body_is_cut_at_the_json_limit_without_content_length(client: TestClient) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(160):  # 10 MB in 64 KiB chunks, if it were all read
            sent.append(1)
            yield b" " * 65536

    response = client.post("/auth/login", content=chunks(), headers={"content-type": "multipart/form-data; boundary=x"})
    assert response.status_code == 413
    assert error_code(response) == "payload_too_large"


def test_the_upload_route_alone_gets_the_upload_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    two_mb = {"file": ("clip.wav", b"RIFF" + b"\0" * (2 * 1024 * 1024), "audio/wav")}
    # Over the JSON limit, within the upload limit: the request reaches the route (401: no token).
    assert client.post("/voices", files=two_mb, data={"name": "v"}).status_code == 401
    # The same multipart body to a JSON route is refused by size.
    assert client.post("/auth/register", files=two_mb, data={"name": "v"}).status_code == 413
    monkeypatch.setenv("MAX_UPLOAD_BYTES", str(1024 * 1024))
    runtime.reset()
    assert client.post("/voices", files=two_mb, data={"name": "v"}).status_code == 413


def test_a_slow_body_is_answered_408(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app alone (no server): the body's first byte arrives, then nothing within BODY_TIMEOUT_S."""
    import local_server

    monkeypatch.setenv("BODY_TIMEOUT_S", "0.2")
    monkeypatch.setenv("BODY_MIN_RATE", "0")
    runtime.reset()
    sent: list[Message] = []
    calls = 0

    async def receive() -> Message:
        nonlocal calls
        calls += 1
        if calls == 1:
            return {"type": "http.request", "body": b"{", "more_body": True}
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/auth/login", "raw_path": b"/auth/login", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"x"), (b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("203.0.113.9", 5000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip
    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the main thread's loop, which Mangum uses
    try:
        loop.run_until_complete(asyncio.wait_for(local_server.app(scope, receive, send), 30))
    finally:
        loop.close()
    assert sent[0]["status"] == 408
    assert json.loads(sent[1]["body"])["error"]["code"] == "request_timeout"
    assert (b"connection", b"close") in sent[0]["headers"]


def raw_exchange(url: str, request: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(request)
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    return reply


def test_two_content_types_on_the_wire_are_refused(tmp_path: Any) -> None:
    """Raw bytes on a socket to a live server: an HTTP client library would merge the two headers."""
    body = b'{"username": "someone", "password": "secret"}'
    request = (
        b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Type: multipart/form-data; boundary=x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    with servers.api_server({"DATA_DIR": str(tmp_path / "data")}) as url:
        reply = raw_exchange(url, request)
    head, _, payload = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 "), head
    assert json.loads(payload)["error"]["code"] == "duplicate_header"
