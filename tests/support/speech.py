"""Speech material and requests shared by API tests: a real speech clip, a voice upload, an error's code.

Contract: `speech_clip()` is about five seconds of real speech made by Piper (the kind of clip a user
uploads to clone), made once per process; `upload(client, user, data, ...)` posts it to /voices as a
multipart form and returns the response, whatever its status; `error_code(response)` reads the code of
the one JSON error shape.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from fastapi.testclient import TestClient

from core.tts.base import Audio, SynthesisOptions, VoiceSpec

CLIP_TEXT = "Hello, this is my voice. I am recording a short sample so the service can learn how I sound."


@cache
def speech_clip() -> Audio:
    from core.tts.piper import PiperEngine

    engine = PiperEngine()
    return engine.synthesize(CLIP_TEXT, VoiceSpec(builtin_id=engine.voices()[0].id), SynthesisOptions())


def upload(client: TestClient, user: dict[str, Any], data: bytes, *, name: str = "Me", filename: str = "me.wav") -> Any:
    return client.post(
        "/voices", headers=user["headers"], data={"name": name}, files={"file": (filename, data, "audio/wav")}
    )


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])
