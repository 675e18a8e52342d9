"""Streaming synthesis (POST /synthesize with "stream": true) over real HTTP and through the app.

What is proven: the first audio bytes reach a client on loopback well before the whole synthesis is
done; the streamed bytes, in every streamable format, decode (with PyAV, not our codecs) to speech
that Whisper transcribes; the library record exists, complete, once the body has ended; a failure or a
client that goes away mid-stream leaves nothing stored, and errors before the first byte are ordinary
JSON errors.
"""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from core.services import library
from tests.conftest import Users
from tests.support.asr import transcribe, word_error_rate
from tests.support.fake_engine import EngineSeam, FakeEngine
from tests.support.servers import api_server, free_port, wait_http
from tests.support.users import create_at

SENTENCES = [
    "The first sentence is ready almost at once.",
    "A second sentence follows it without a pause.",
    "Then a third one arrives, a little longer than the others were.",
    "The fourth sentence keeps the engine busy.",
    "A fifth sentence makes the whole text long enough to measure.",
    "And the sixth sentence ends the stream.",
]
LONG_TEXT = " ".join(SENTENCES)
SHORT_TEXT = "Streaming sends audio early. Every sentence is encoded as soon as it is ready."
MAGIC = {
    "wav": (b"RIFF",),
    "mp3": (b"\xff\xf3", b"\xff\xfb", b"\xff\xf2", b"ID3"),
    "ogg": (b"OggS",),
    "flac": (b"fLaC",),
}


def timed_stream(url: str, headers: dict[str, str], body: dict[str, Any]) -> tuple[bytes, list[float], float, Any]:
    """(all bytes, arrival time of each chunk, total time, response headers), times from the request."""
    started = time.perf_counter()
    arrivals: list[float] = []
    data = bytearray()
    with httpx.stream("POST", f"{url}/synthesize", headers=headers, json=body, timeout=120) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_raw():
            arrivals.append(time.perf_counter() - started)
            data.extend(chunk)
        meta = response.headers
    return bytes(data), arrivals, time.perf_counter() - started, meta


def duration_of(data: bytes) -> float:
    import av

    with av.open(io.BytesIO(data), mode="r") as container:
        stream = container.streams.audio[0]
        return sum(int(frame.samples) for frame in container.decode(stream)) / float(stream.rate)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with api_server({"DATA_DIR": str(tmp_path_factory.mktemp("stream") / "data")}) as url:
        yield url


@pytest.mark.slow
def test_first_audio_arrives_long_before_the_whole_synthesis(live: str) -> None:
    headers = create_at(live, "timer")["headers"]
    timed_stream(live, headers, {"text": "Warm up.", "stream": True})  # the model loads on first use
    started = time.perf_counter()
    whole = httpx.post(f"{live}/synthesize", headers=headers, json={"text": LONG_TEXT}, timeout=120)
    unstreamed = time.perf_counter() - started
    assert whole.status_code == 200
    data, arrivals, total, meta = timed_stream(live, headers, {"text": LONG_TEXT, "stream": True, "format": "wav"})
    first = arrivals[0]
    print(
        f"\ntime to first audio {first * 1000:.0f} ms; streamed in full {total * 1000:.0f} ms; "
        f"unstreamed request {unstreamed * 1000:.0f} ms; {len(arrivals)} chunks, {len(data)} bytes"
    )
    assert len(arrivals) >= 3, "the audio came in one piece"
    assert first < 0.5 * total
    assert first < 0.5 * unstreamed
    info = httpx.get(f"{live}/audio/{meta['x-audio-id']}/info", headers=headers).json()
    assert info["text"] == LONG_TEXT
    assert info["duration"] == pytest.approx(duration_of(data), abs=0.05)
    assert word_error_rate(LONG_TEXT, transcribe(data)) < 0.10


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["wav", "mp3", "ogg", "flac", "pcm"])
def test_streamed_audio_is_intelligible_and_stored(client: TestClient, users: Users, fmt: str) -> None:
    alice = users.create("alice")
    response = client.post(
        "/synthesize", headers=alice["headers"], json={"text": SHORT_TEXT, "stream": True, "format": fmt}
    )
    assert response.status_code == 200, response.text
    data = response.content
    rate = int(response.headers["x-sample-rate"])
    if fmt == "pcm":
        assert response.headers["content-type"] == "audio/pcm"
        buffer = io.BytesIO()
        sf.write(buffer, np.frombuffer(data, dtype="<i2"), rate, format="WAV", subtype="PCM_16")
        playable = buffer.getvalue()
    else:
        assert data.startswith(MAGIC[fmt]), data[:8]
        playable = data
    assert word_error_rate(SHORT_TEXT, transcribe(playable)) < 0.10, fmt
    audio_id = response.headers["x-audio-id"]
    assert response.headers["x-audio-url"] == f"/audio/{audio_id}"
    info = client.get(f"/audio/{audio_id}/info", headers=alice["headers"]).json()
    assert info["format"] == ("wav" if fmt == "pcm" else fmt)
    if fmt == "mp3":
        # A stream has no LAME tag (its header rewrite is dropped), so a decoder keeps MP3's encoder delay
        # and the last frame's padding: 1.5 to 2.5 frames of 1152 samples more than the stored audio.
        assert 0 <= duration_of(playable) - info["duration"] <= 3 * 1152 / rate
    else:
        assert info["duration"] == pytest.approx(duration_of(playable), abs=0.1)
    stored = client.get(f"/audio/{audio_id}", headers=alice["headers"])
    assert len(stored.content) == info["size_bytes"]


def test_errors_before_the_first_byte_are_json(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    cases = [
        ({"text": "x", "format": "pcm"}, 422, "format_needs_stream"),
        ({"text": "x", "stream": True, "voice_id": "nobody"}, 404, "voice_not_found"),
        ({"text": "   ", "stream": True}, 422, "text_empty"),
        ({"text": "x", "stream": True, "format": "aiff"}, 422, "validation_error"),
        ({"text": "x", "stream": "yes please"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        response = client.post("/synthesize", headers=alice["headers"], json=body)
        assert response.status_code == status, body
        assert response.json()["error"]["code"] == code, body
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []


def test_engine_failure_on_the_first_sentence_is_a_json_error(
    client: TestClient, users: Users, install_engine: EngineSeam, tmp_path: Path
) -> None:
    alice = users.create("alice")
    install_engine(FakeEngine(fail_after_chunks=0))  # a test double: no real engine fails on demand
    response = client.post("/synthesize", headers=alice["headers"], json={"text": SHORT_TEXT, "stream": True})
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "engine_error"
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []
    assert not list((tmp_path / "data" / "blobs").rglob("*.*"))


@contextmanager
def serve_here() -> Iterator[str]:
    """The combined app on loopback in this process (so a test double engine can be swapped in)."""
    import uvicorn

    import local_server

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(local_server.app, host="127.0.0.1", port=port, log_level="critical"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def read_into(buffer: bytearray, url: str, headers: dict[str, str], body: dict[str, Any]) -> None:
    with httpx.stream("POST", url, headers=headers, json=body, timeout=120) as response:
        assert response.status_code == 200
        for chunk in response.iter_raw():
            buffer.extend(chunk)


@pytest.mark.slow
def test_failure_mid_stream_cuts_the_body_and_stores_nothing(install_engine: EngineSeam, tmp_path: Path) -> None:
    install_engine(FakeEngine(fail_after_chunks=1))  # a test double: the first sentence, then a failure
    with serve_here() as url:
        headers = create_at(url, "cut")["headers"]
        received = bytearray()
        with pytest.raises(httpx.RemoteProtocolError):  # no terminating chunk: the client knows it is cut
            read_into(received, f"{url}/synthesize", headers, {"text": LONG_TEXT, "stream": True})
        assert received.startswith(b"RIFF")  # the first sentence had been sent
        assert httpx.get(f"{url}/audio", headers=headers).json()["items"] == []
    assert not list((tmp_path / "data" / "blobs").rglob("*.*"))


@pytest.mark.slow
def test_a_client_that_leaves_mid_stream_leaves_nothing_stored(live: str) -> None:
    headers = create_at(live, "leaver")["headers"]
    body = {"text": " ".join(SENTENCES * 3), "stream": True}
    _, _, full_time, _ = timed_stream(live, headers, body)  # how long the whole job takes here
    assert len(httpx.get(f"{live}/audio", headers=headers).json()["items"]) == 1
    with httpx.stream("POST", f"{live}/synthesize", headers=headers, json=body) as response:
        assert response.status_code == 200
        next(response.iter_raw())
    # Had the server gone on after the client left, the job would be stored by now.
    time.sleep(1.5 * full_time + 1.0)
    assert len(httpx.get(f"{live}/audio", headers=headers).json()["items"]) == 1


def test_streams_through_an_api_key_are_attributed_to_it(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = client.post("/api-keys", headers=alice["headers"], json={"name": "streamer"}).json()
    response = client.post(
        "/synthesize", headers={"Authorization": f"Bearer {key['key']}"}, json={"text": "By key.", "stream": True}
    )
    assert response.status_code == 200
    made = library.get(runtime.store(), user_id=alice["id"], audio_id=response.headers["x-audio-id"])
    assert made.api_key_id == key["id"]
    session_made = client.post("/synthesize", headers=alice["headers"], json={"text": "By session."}).json()
    by_session = runtime.store().get(*keys.audio(alice["id"], session_made["audio_id"]))
    assert by_session is not None
    assert "api_key_id" not in by_session  # absent, not null, on audio made with a session
    assert library.get(runtime.store(), user_id=alice["id"], audio_id=session_made["audio_id"]).api_key_id is None
