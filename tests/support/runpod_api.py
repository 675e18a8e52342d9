"""A scripted RunPod serverless HTTP API (`responses`) and the RunPod proxy engine pointed at it, for tests.

`scripted_api()` is a `responses.RequestsMock` (a test fixture wraps it as `api`); `submit` / `states`
script a job's /run and /status answers; `urls` and `sent_input` read what the engine sent; `engine(...)`
is a RunPodEngine on that API with a fast backoff; `tone` / `audio_output` make a worker's audio output.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import responses

from core.tts import codecs
from core.tts.base import Audio, VoiceSpec
from core.tts.chatterbox_wire import DEFAULT_VOICE_ID
from core.tts.runpod import RunPodEngine

BASE = "https://rp.test/v2"
EP = "ep123"
BUILTIN = VoiceSpec(builtin_id=DEFAULT_VOICE_ID)


def tone(seconds: float = 0.5, rate: int = 24000) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), rate)


def audio_output(audio: Audio) -> dict[str, Any]:
    data = codecs.encode(audio, "flac")
    return {"audio_base64": base64.b64encode(data).decode(), "format": "flac", "sample_rate": audio.sample_rate}


def engine(**kwargs: Any) -> RunPodEngine:
    options: dict[str, Any] = {"endpoint_id": EP, "api_key": "rp-key", "base_url": BASE, "backoff_s": 0.001}
    return RunPodEngine(**(options | kwargs))


def submit(api: responses.RequestsMock, job_id: str = "job-1", status: int = 200) -> None:
    api.add(responses.POST, f"{BASE}/{EP}/run", json={"id": job_id, "status": "IN_QUEUE"}, status=status)


def states(api: responses.RequestsMock, *bodies: dict[str, Any], job_id: str = "job-1") -> None:
    for body in bodies:
        api.add(responses.GET, f"{BASE}/{EP}/status/{job_id}", json={"id": job_id, **body})


def urls(api: responses.RequestsMock) -> list[str]:
    return [str(call.request.url) for call in api.calls]


def sent_input(api: responses.RequestsMock) -> dict[str, Any]:
    body = next(c.request.body for c in api.calls if str(c.request.url).endswith("/run"))
    job: dict[str, Any] = json.loads(body or b"{}")["input"]
    return job


def scripted_api() -> responses.RequestsMock:
    return responses.RequestsMock(assert_all_requests_are_fired=False)
