"""Streams are charged what they delivered, over real HTTP (uvicorn on loopback, raw sockets).

What is proven, on POST /synthesize (stream), POST /v1/audio/speech (audio) and its SSE form:
- a client that drops before the first byte, after the first chunk, mid-way or just before the end is
  charged exactly the pieces of text whose audio was sent (GET /profile: characters and audio seconds;
  the API key's character count alike), the server stops synthesising at once (no garbage collector
  involved) and stores no record; a complete stream is charged the whole text and stored;
- an engine failure after some audio was sent (the issue's quota dodge: a NUL in the last sentence) is
  charged the pieces sent before it, not refunded in full.

The engine is the test double of tests/support/fake_engine.py (no real engine pauses or fails on
demand): each piece waits for a permit from the test, so the test knows how far the server has got when
the client drops, and one piece can be made to fail. Pieces are single short sentences (max_chars 30),
one HTTP chunk each. (NUL itself is refused by text validation elsewhere; the failure here is the
engine's.)
"""

from __future__ import annotations

import base64
import gc
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from core import runtime
from core.records import keys
from core.services.streams import piece_ends
from core.tts.text import split_sentences
from tests.support.fake_engine import EngineSeam, FakeEngine
from tests.support.servers import free_port, wait_http
from tests.support.users import create

SENTENCES = [
    "The first sentence is short.",
    "A second one follows it.",
    "Here is the third sentence.",
    "And this fourth one ends it.",
]
TEXT = " ".join(SENTENCES)
PIECE_CHARS = 30


@contextmanager
def serve() -> Iterator[tuple[str, Any]]:
    """The combined app under uvicorn on loopback, in this process (so the double is the engine it uses)."""
    import uvicorn

    import local_server

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(local_server.app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=30)
        yield f"http://127.0.0.1:{port}", server
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class RawStream:
    """An HTTP/1.1 POST on a raw socket whose chunked body is read one HTTP chunk at a time."""

    def __init__(self, url: str, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        parts = urlsplit(url)
        payload = json.dumps(body).encode()
        lines = [f"POST {path} HTTP/1.1", f"Host: {parts.netloc}", "Content-Type: application/json"]
        lines += [f"Content-Length: {len(payload)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock = socket.create_connection((parts.hostname or "", parts.port or 80), timeout=60)
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + payload)
        self.file = self.sock.makefile("rb")

    def head(self) -> int:
        status = int(self.file.readline().split()[1])
        while self.file.readline() not in (b"\r\n", b""):
            pass
        return status

    def chunk(self) -> bytes | None:
        """The next HTTP chunk; None at the terminating chunk; ConnectionError when the body is cut."""
        line = self.file.readline()
        if not line:
            raise ConnectionError("body cut short")
        size = int(line.strip(), 16)
        data = self.file.read(size + 2)[:size]
        return data if size else None

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def wait_until(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


ENDPOINTS: dict[str, tuple[str, dict[str, Any]]] = {
    "synthesize": ("/synthesize", {"text": TEXT, "stream": True, "format": "pcm"}),
    "speech": ("/v1/audio/speech", {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "pcm"}),
    "sse": (
        "/v1/audio/speech",
        {"model": "tts-1", "voice": "alloy", "input": TEXT, "stream_format": "sse", "response_format": "pcm"},
    ),
}


def audio_seconds(kind: str, chunks: list[bytes], rate: int) -> float:
    """Seconds of PCM the received chunks carry (each SSE event: one base64 delta)."""
    pcm = 0
    for chunk in chunks:
        if kind == "sse":
            event = json.loads(chunk.decode().removeprefix("data: "))
            pcm += len(base64.b64decode(event["audio"])) if event["type"] == "speech.audio.delta" else 0
        else:
            pcm += len(chunk)
    return pcm / 2 / rate


@pytest.fixture
def setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    monkeypatch.setenv("QUOTA_CHARS_PER_DAY", "5000")
    monkeypatch.setenv("QUOTA_AUDIO_SECONDS_PER_DAY", "600")
    runtime.reset()
    gc.disable()  # the cycle collector must not be what closes an abandoned stream
    try:
        with serve() as (url, server):
            with httpx.Client(base_url=url) as web:
                session = create(web, "payer")["headers"]
                key = web.post("/api-keys", headers=session, json={"name": "meter"}).json()
            yield {"url": url, "server": server, "key": {"Authorization": f"Bearer {key['key']}"}, "session": session}
    finally:
        gc.enable()


def charged(env: dict[str, Any]) -> tuple[int, float, int, int]:
    """(characters used, audio seconds used, the API key's characters, records stored), once settled."""
    store = runtime.store()
    user_id = httpx.get(f"{env['url']}/profile", headers=env["session"]).json()["id"]
    wait_until(lambda: not store.query(keys.user_pk(user_id), sk_prefix=keys.HOLD).items, "the job to settle")
    quota = httpx.get(f"{env['url']}/profile", headers=env["session"]).json()["quota"]
    listed = httpx.get(f"{env['url']}/api-keys", headers=env["session"]).json()
    key_chars = (listed["items"] if isinstance(listed, dict) else listed)[0]["characters"]
    records = httpx.get(f"{env['url']}/audio", headers=env["session"]).json()["items"]
    return quota["used"], quota["audio_seconds"]["used"], key_chars, len(records)


PIECES = split_sentences(TEXT, PIECE_CHARS)
ENDS = piece_ends(TEXT, PIECES)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(ENDPOINTS))
@pytest.mark.parametrize("sent", [0, 1, 2, len(SENTENCES) - 1, len(SENTENCES)])
def test_a_dropped_stream_is_charged_exactly_what_was_sent(
    setup: dict[str, Any], install_engine: EngineSeam, kind: str, sent: int
) -> None:
    assert len(PIECES) == len(SENTENCES)
    engine = install_engine(FakeEngine(max_chars=PIECE_CHARS, permits=threading.Semaphore(0)))
    assert engine.permits is not None
    path, body = ENDPOINTS[kind]
    for _ in range(sent):
        engine.permits.release()  # the server may make exactly `sent` pieces before the client leaves
    raw = RawStream(setup["url"], path, setup["key"], body)
    chunks: list[bytes] = []
    complete = sent == len(SENTENCES)
    if sent:
        assert raw.head() == 200
        while len(chunks) < sent:
            chunk = raw.chunk()
            assert chunk is not None
            chunks.append(chunk)
        if complete:
            while (chunk := raw.chunk()) is not None:  # the end: SSE's done event, the terminating chunk
                chunks.append(chunk)
    raw.close()  # the client goes away
    if not complete:
        wait_until(lambda: not setup["server"].server_state.connections, "the server to see the client leave")
        engine.permits.release(len(SENTENCES))  # a server that went on would now make (and charge) the rest
    chars, seconds, key_chars, records = charged(setup)
    rate = 22050 if kind == "synthesize" else 24000
    expected = ENDS[sent - 1] if sent else 0
    assert (chars, key_chars, records) == (expected, expected, 1 if complete else 0)
    assert seconds == pytest.approx(audio_seconds(kind, chunks, rate), abs=0.01)
    assert engine.calls == min(sent + 1, len(SENTENCES))  # it stopped at the piece in progress


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(ENDPOINTS))
def test_a_failure_after_audio_was_sent_is_charged_what_was_sent(
    setup: dict[str, Any], install_engine: EngineSeam, kind: str
) -> None:
    last = len(SENTENCES) - 1
    install_engine(FakeEngine(max_chars=PIECE_CHARS, fail_on_text="fourth"))
    path, body = ENDPOINTS[kind]
    raw = RawStream(setup["url"], path, setup["key"], body)
    assert raw.head() == 200
    chunks: list[bytes] = []
    with pytest.raises(ConnectionError) if kind != "sse" else nullcontext():
        while (chunk := raw.chunk()) is not None:
            chunks.append(chunk)
    raw.close()
    if kind == "sse":
        assert json.loads(chunks.pop().decode().removeprefix("data: "))["type"] == "error"
    assert len(chunks) == last
    chars, seconds, key_chars, records = charged(setup)
    assert (chars, key_chars, records) == (ENDS[last - 1], ENDS[last - 1], 0)
    assert seconds == pytest.approx(audio_seconds(kind, chunks, 22050 if kind == "synthesize" else 24000), abs=0.01)
