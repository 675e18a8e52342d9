"""Slow clients against the real server (`python local_server.py`), on raw sockets.

Issue 10's reproduction: slow headers and slow bodies were held open without a timeout. The timeouts
are settings, made short here so the tests are quick; each test waits for the server to act, it
does not time it.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import servers

WAIT = 30.0  # far longer than any timeout set below: a server that never acts fails the test


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    data: Path = tmp_path_factory.mktemp("edge") / "data"
    env = {
        "DATA_DIR": str(data), "HEADER_TIMEOUT_S": "1", "BODY_TIMEOUT_S": "1", "BODY_MIN_RATE": "0",
        "KEEP_ALIVE_TIMEOUT_S": "1",
    }  # fmt: skip
    with servers.api_server(env) as url:
        host, port = url.removeprefix("http://").split(":")
        yield host, int(port)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if it never does)."""
    sock.settimeout(WAIT)
    reply = b""
    while chunk := sock.recv(65536):
        reply += chunk
    return reply


def read_response(sock: socket.socket) -> tuple[bytes, bytes]:
    """One response (head, body) by its Content-Length, leaving the connection open."""
    sock.settimeout(WAIT)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head, body


def test_slow_headers_get_408_and_the_connection_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # ... and nothing more
        reply = read_until_closed(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), reply
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_a_connection_that_sends_nothing_is_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        assert read_until_closed(sock) == b""


def test_a_slow_body_gets_408_and_the_connection_closed(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        sock.sendall(
            b"POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 200\r\n\r\n{"username": '
        )
        reply = read_until_closed(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), reply
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_an_idle_kept_alive_connection_is_closed_and_a_prompt_one_is_served(server: tuple[str, int]) -> None:
    with socket.create_connection(server) as sock:
        for _ in range(2):  # a second request on the same connection, headers sent at once, is served
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            head, _ = read_response(sock)
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert b"x-frame-options: DENY" in head
            assert b"server: uvicorn" not in head.lower()
        assert read_until_closed(sock) == b""  # then idle: closed after KEEP_ALIVE_TIMEOUT_S
