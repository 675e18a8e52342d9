"""POST /v1/audio/speech through the official `openai` package, unchanged, against a real server.

What is proven: `client.audio.speech.create(...)` returns mp3 by default that Whisper transcribes;
every response_format has its container's magic bytes (pcm: 24 kHz samples, no header) and decodes
to intelligible speech; `with_streaming_response` streams (several chunks, the first well before the
end); SSE events parse to OpenAI's `speech.audio.delta` / `speech.audio.done` shape; errors come back
as the package's exceptions carrying our code and message; voice, model, speed and instructions follow
the documented mapping; every call lands in the caller's library, attributed to an API key if used.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import openai
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from core import runtime
from core.services import library
from tests.conftest import Users
from tests.support import users
from tests.support.asr import transcribe, word_error_rate
from tests.support.servers import api_server

TEXT = "The quick brown fox jumps over the lazy dog near the river bank."
LONG = (
    "Streaming starts with the first sentence. The second sentence is still being made. "
    "A third sentence follows the second. The fourth one is a little longer than the rest of them. "
    "And the fifth sentence closes the text."
)
MAGIC = {
    "mp3": (b"\xff\xf3", b"\xff\xfb", b"\xff\xf2", b"ID3"),
    "opus": (b"OggS",),
    "flac": (b"fLaC",),
    "wav": (b"RIFF",),
}


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with api_server({"DATA_DIR": str(tmp_path_factory.mktemp("openai") / "data")}) as url:
        yield url


class Account:
    def __init__(self, url: str, name: str) -> None:
        self.http = httpx.Client(base_url=url, timeout=120)
        self.token = users.create(self.http, name)["tokens"]["access_token"]
        self.http.headers["Authorization"] = f"Bearer {self.token}"
        self.openai = openai.OpenAI(base_url=f"{url}/v1", api_key=self.token, max_retries=0)

    def history(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.http.get("/audio", params={"limit": 100}).json()["items"]
        return items


_count = iter(range(1000))


@pytest.fixture
def account(live: str) -> Account:
    return Account(live, f"oa{next(_count)}")


def pcm_to_wav(data: bytes, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, np.frombuffer(data, dtype="<i2"), rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.mark.slow
def test_create_returns_intelligible_mp3_by_default_and_stores_it(account: Account) -> None:
    speech = account.openai.audio.speech.create(model="tts-1", voice="alloy", input=TEXT)
    assert speech.response.headers["content-type"] == "audio/mpeg"
    assert speech.content.startswith(MAGIC["mp3"])
    assert word_error_rate(TEXT, transcribe(speech.content)) < 0.10
    [item] = account.history()
    assert item["audio_id"] == speech.response.headers["x-audio-id"]
    assert item["text"] == TEXT
    assert item["format"] == "mp3"
    assert item["voice_id"] == "default"  # alloy: the built-in voice "default"


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["mp3", "opus", "flac", "wav", "pcm"])
def test_every_response_format(account: Account, fmt: Any) -> None:
    raw = account.openai.audio.speech.with_raw_response.create(
        model="gpt-4o-mini-tts", voice="nova", input=TEXT, response_format=fmt
    )
    data = raw.content
    if fmt == "pcm":
        assert raw.headers["content-type"] == "audio/pcm"
        assert raw.headers["x-sample-rate"] == "24000"  # as OpenAI's pcm
        assert len(data) % 2 == 0
        assert not data.startswith((b"RIFF", b"ID3", b"OggS", b"fLaC"))
        playable = pcm_to_wav(data, 24000)
    else:
        assert data.startswith(MAGIC[fmt]), data[:8]
        playable = data
    if fmt == "opus":
        assert b"OpusHead" in data[:64]
    if fmt == "wav":
        assert data[8:12] == b"WAVE"
    assert word_error_rate(TEXT, transcribe(playable)) < 0.10, fmt
    [item] = account.history()
    assert item["format"] == {"opus": "ogg", "pcm": "wav"}.get(fmt, fmt)
    if fmt == "pcm":
        assert len(data) / 2 / 24000 == pytest.approx(item["duration"], abs=0.05)


@pytest.mark.slow
def test_with_streaming_response_streams(account: Account) -> None:
    account.openai.audio.speech.create(model="tts-1", voice="alloy", input="Warm up.")
    started = time.perf_counter()
    arrivals: list[float] = []
    data = bytearray()
    with account.openai.audio.speech.with_streaming_response.create(
        model="tts-1", voice="echo", input=LONG, response_format="pcm"
    ) as response:
        assert response.http_request.headers["authorization"] == f"Bearer {account.token}"
        for chunk in response.iter_bytes():
            arrivals.append(time.perf_counter() - started)
            data.extend(chunk)
    total = time.perf_counter() - started
    print(f"\nopenai with_streaming_response: first audio {arrivals[0] * 1000:.0f} ms, all {total * 1000:.0f} ms")
    assert len(arrivals) >= 3
    assert arrivals[0] < 0.5 * total
    assert word_error_rate(LONG, transcribe(pcm_to_wav(bytes(data), 24000))) < 0.10


@pytest.mark.slow
def test_sse_events(account: Account) -> None:
    events: list[dict[str, Any]] = []
    with account.openai.audio.speech.with_streaming_response.create(
        model="gpt-4o-mini-tts", voice="shimmer", input=LONG, stream_format="sse"
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line:
                assert line.startswith("data: ")
                events.append(json.loads(line.removeprefix("data: ")))
    types = [e["type"] for e in events]
    assert types[-1] == "speech.audio.done"
    assert set(types[:-1]) == {"speech.audio.delta"}
    assert len(types) >= 3
    audio = b"".join(base64.b64decode(e["audio"]) for e in events[:-1])
    assert audio.startswith(MAGIC["mp3"])
    assert word_error_rate(LONG, transcribe(audio)) < 0.10
    usage = events[-1]["usage"]
    assert usage["input_tokens"] == len(LONG)
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert len(account.history()) == 1


def expect_error(call: Any, kind: type[openai.APIStatusError], status: int, code: str, words: str) -> None:
    with pytest.raises(kind) as caught:
        call()
    assert caught.value.status_code == status
    assert caught.value.code == code
    assert words in caught.value.message
    assert isinstance(caught.value.body, dict)
    assert words in caught.value.body["message"]


def test_errors_are_openai_exceptions_with_our_message(account: Account, live: str) -> None:
    speech = account.openai.audio.speech
    cases: list[tuple[dict[str, Any], type[openai.APIStatusError], int, str, str]] = [
        ({"response_format": "aac"}, openai.UnprocessableEntityError, 422, "validation_error", "aac is not available"),
        ({"response_format": "ogg"}, openai.UnprocessableEntityError, 422, "validation_error", "supported: mp3, opus"),
        ({"speed": 4.0}, openai.UnprocessableEntityError, 422, "validation_error", "0.5..2.0"),
        ({"speed": 0.25}, openai.UnprocessableEntityError, 422, "validation_error", "we refuse rather than clamp"),
        ({"model": "tts-2"}, openai.UnprocessableEntityError, 422, "validation_error", "unknown model 'tts-2'"),
        ({"model": "chatterbox"}, openai.UnprocessableEntityError, 422, "model_unavailable", "runs the 'piper'"),
        ({"voice": "nobody"}, openai.NotFoundError, 404, "voice_not_found", "Voice 'nobody' not found"),
        ({"input": "x" * 4097}, openai.UnprocessableEntityError, 422, "validation_error", "4096"),
        ({"input": "   "}, openai.UnprocessableEntityError, 422, "text_empty", "non-space"),
    ]
    for change, kind, status, code, words in cases:
        args = {"model": "tts-1", "voice": "alloy", "input": "Hello.", **change}
        expect_error(lambda args=args: speech.create(**args), kind, status, code, words)
    stranger = openai.OpenAI(base_url=f"{live}/v1", api_key="not-a-token", max_retries=0)
    expect_error(
        lambda: stranger.audio.speech.create(model="tts-1", voice="alloy", input="Hi."),
        openai.AuthenticationError,
        401,
        "invalid_token",
        "Invalid token",
    )
    assert account.history() == []


def test_voice_mapping_and_ignored_instructions(account: Account, live: str) -> None:
    speech = account.openai.audio.speech
    voices: list[Any] = ["alloy", "onyx", "en_US-joe-medium", {"id": "en_US-joe-medium"}]
    for voice in voices:
        raw = speech.with_raw_response.create(
            model="piper",
            voice=voice,
            input="Hi there.",
            response_format="wav",
            speed=1.5,
        )
        assert raw.headers["x-options-ignored"] == ""
    with_instructions = speech.with_raw_response.create(
        model="tts-1-hd", voice="fable", input="Hi there.", instructions="Speak like a pirate."
    )
    assert with_instructions.headers["x-options-ignored"] == "instructions"
    items = account.history()
    # OpenAI's names (alloy, onyx, fable) mean our "default"; our own ids are kept as they are.
    assert [i["voice_id"] for i in items][::-1] == ["default", "default", *["en_US-joe-medium"] * 2, "default"]
    assert [i["speed"] for i in items[1:]] == [1.5] * 4
    assert items[0]["options_ignored"] == ["instructions"]
    # A cloned voice id is ours too; this engine cannot speak with it and says so (never a silent swap).
    clip = speech.create(
        model="tts-1",
        voice="alloy",
        input="This is my voice. I am recording a short sample so the service can learn how I sound.",
    )
    made = account.http.post("/voices", data={"name": "Me"}, files={"file": ("me.mp3", clip.content, "audio/mpeg")})
    assert made.status_code == 200, made.text
    expect_error(
        lambda: speech.create(model="tts-1", voice={"id": made.json()["id"]}, input="Hi."),
        openai.BadRequestError,
        400,
        "cloning_unsupported",
        "cannot speak with cloned voices",
    )


@pytest.mark.slow
def test_async_client(account: Account, live: str) -> None:
    import asyncio

    async def go() -> bytes:
        client = openai.AsyncOpenAI(base_url=f"{live}/v1", api_key=account.token, max_retries=0)
        speech = await client.audio.speech.create(model="tts-1", voice="alloy", input=TEXT, response_format="flac")
        await client.close()
        return speech.content

    loop = asyncio.new_event_loop()  # not asyncio.run: it would unset the main thread's loop, which Mangum uses
    try:
        data = loop.run_until_complete(go())
    finally:
        loop.close()
    assert data.startswith(b"fLaC")
    assert word_error_rate(TEXT, transcribe(data)) < 0.10


def test_api_key_calls_are_attributed(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    key = client.post("/api-keys", headers=alice["headers"], json={"name": "openai-sdk"}).json()
    sdk = openai.OpenAI(base_url=f"{client.base_url}/v1", api_key=key["key"], http_client=client, max_retries=0)
    raw = sdk.audio.speech.with_raw_response.create(model="tts-1", voice="alloy", input="Made with a key.")
    assert raw.content.startswith(MAGIC["mp3"])
    made = library.get(runtime.store(), user_id=alice["id"], audio_id=raw.headers["x-audio-id"])
    assert made.api_key_id == key["id"]
    usage = client.get("/api-keys", headers=alice["headers"]).json()[0]
    assert usage["requests"] >= 1


def test_through_lambda_events() -> None:
    """On Lambda, Mangum buffers the stream: the function still answers the whole audio, base64-encoded."""
    from handlers import auth, openai_speech
    from tests.support.events import http_event, invoke

    headers = users.create_via_lambda(auth.handler, "lambda")["headers"]
    request = {"model": "tts-1", "voice": "alloy", "input": TEXT, "response_format": "wav"}
    status, answer_headers, audio = invoke(
        openai_speech.handler, http_event("POST", "/v1/audio/speech", headers=headers, json_body=request)
    )
    assert status == 200
    assert audio.startswith(b"RIFF")
    assert answer_headers["x-audio-id"]
    status, _, error = invoke(
        openai_speech.handler,
        http_event("POST", "/v1/audio/speech", headers=headers, json_body={**request, "response_format": "aac"}),
    )
    assert status == 422
    assert "aac is not available" in json.loads(error)["error"]["message"]
