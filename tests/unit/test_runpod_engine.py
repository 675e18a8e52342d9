"""The runpod proxy engine against a scripted RunPod HTTP API (tests/support/runpod_api.py): jobs, polling,
voices, options and configuration; failures, retries and timeouts are in test_runpod_failures.py.

The real worker behind runpod's local API is exercised in tests/api/test_runpod_e2e.py.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses
from pydantic import SecretStr

from core.config import Settings
from core.errors import EngineError, EngineUnavailable, NotFound, ValidationFailed
from core.tts import make_engine
from core.tts.base import SynthesisOptions, VoiceSpec
from core.tts.runpod import RunPodEngine, job_texts
from tests.support.runpod_api import (
    BUILTIN,
    audio_output,
    engine,
    scripted_api,
    sent_input,
    states,
    submit,
    tone,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with scripted_api() as mock:
        yield mock


def test_capabilities_match_chatterbox_voices() -> None:
    caps = engine().capabilities
    assert (caps.name, caps.can_clone, caps.sample_rate, caps.voice_format) == (
        "runpod",
        True,
        24000,
        "chatterbox-conds-v1",
    )
    assert set(caps.options) == {"exaggeration", "cfg_weight", "temperature", "seed"}
    assert [v.id for v in engine().voices()] == ["default", "female_default", "male_default", "chatterbox-default"]


@pytest.mark.parametrize("voice_id", ["default", "female_default", "male_default", "chatterbox-default"])
def test_builtin_voices_are_sent_to_the_worker_by_id(api: responses.RequestsMock, voice_id: str) -> None:
    """The worker's chatterbox engine resolves the id (tests/unit/test_chatterbox_engine.py)."""
    submit(api)
    states(api, {"status": "COMPLETED", "output": audio_output(tone())})
    engine().synthesize("Hi.", VoiceSpec(builtin_id=voice_id), SynthesisOptions())
    assert sent_input(api)["voice"] == {"builtin": voice_id}


def test_builtin_voices_describe_what_they_are() -> None:
    described = {v.id: v.description for v in engine().voices()}
    assert "conds.pt" in described["default"]
    assert "female_default.flac" in described["female_default"]
    assert "Change gender" in described["female_default"]
    assert "male_default.flac" in described["male_default"]
    assert all("RunPod" in text for text in described.values())


def test_synthesize_submits_polls_and_decodes(api: responses.RequestsMock) -> None:
    submit(api)
    states(
        api, {"status": "IN_QUEUE"}, {"status": "IN_PROGRESS"}, {"status": "COMPLETED", "output": audio_output(tone())}
    )
    audio = engine().synthesize("Hello there.", BUILTIN, SynthesisOptions(speed=1.25, seed=9))
    assert audio.sample_rate == 24000
    assert audio.duration == pytest.approx(0.5, abs=0.01)
    job = sent_input(api)
    assert job == {
        "text": "Hello there.",
        "voice": {"builtin": "chatterbox-default"},
        "options": {"speed": 1.25, "pitch": 1.0, "exaggeration": 0.5, "cfg_weight": 0.5, "temperature": 0.8, "seed": 9},
        "format": "flac",
    }
    assert api.calls[0].request.headers["Authorization"] == "Bearer rp-key"


def test_custom_voices_travel_as_conditionals_or_flac_reference(api: responses.RequestsMock) -> None:
    submit(api)
    states(api, {"status": "COMPLETED", "output": audio_output(tone())})
    engine().synthesize("Hi.", VoiceSpec(conditionals=b"\x00conds"), SynthesisOptions())
    assert sent_input(api)["voice"] == {"conditionals_base64": base64.b64encode(b"\x00conds").decode()}

    api.calls.reset()
    engine().synthesize("Hi.", VoiceSpec(reference=tone(3.0)), SynthesisOptions())
    reference = base64.b64decode(sent_input(api)["voice"]["reference_base64"])
    assert reference[:4] == b"fLaC"


def test_long_text_is_sent_as_a_short_first_job_then_long_ones(api: responses.RequestsMock) -> None:
    submit(api)
    states(api, *[{"status": "COMPLETED", "output": audio_output(tone(0.25))}] * 3)
    sentence = "This sentence is here to make the text long enough for three jobs."
    text = " ".join([sentence] * 40)
    audio = engine().synthesize(text, BUILTIN, SynthesisOptions())
    texts = [
        json.loads(c.request.body or b"{}")["input"]["text"] for c in api.calls if str(c.request.url).endswith("/run")
    ]
    assert " ".join(texts) == text
    assert len(texts[0]) <= 300
    assert all(len(t) <= 1500 for t in texts)
    assert len(texts) == 3
    assert audio.duration == pytest.approx(0.75 + 2 * 0.05, abs=0.01)  # 50 ms pause between jobs


@pytest.mark.parametrize("size", [1, 5, 20, 60])
def test_job_texts_keep_every_word_in_order(size: int) -> None:
    text = " ".join(f"Sentence number {i} is short." for i in range(size))
    texts = job_texts(text)
    assert " ".join(texts) == text
    assert len(texts[0]) <= 300


def test_prepare_voice_runs_the_prepare_action(api: responses.RequestsMock) -> None:
    submit(api)
    output = {"conditionals_base64": base64.b64encode(b"prepared").decode(), "voice_format": "chatterbox-conds-v1"}
    states(api, {"status": "COMPLETED", "output": output})
    assert engine().prepare_voice(tone(3.0)) == b"prepared"
    job = sent_input(api)
    assert job["action"] == "prepare_voice"
    assert set(job["voice"]) == {"reference_base64"}


def test_prepare_voice_refuses_another_voice_format(api: responses.RequestsMock) -> None:
    submit(api)
    output = {"conditionals_base64": base64.b64encode(b"x").decode(), "voice_format": "other-v9"}
    states(api, {"status": "COMPLETED", "output": output})
    with pytest.raises(EngineError, match="other-v9"):
        engine().prepare_voice(tone(3.0))


def test_bad_requests_are_refused_before_any_job(api: responses.RequestsMock) -> None:
    with pytest.raises(ValidationFailed, match="cfg_weight"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions(cfg_weight=1.5))
    with pytest.raises(NotFound):
        engine().synthesize("Hi.", VoiceSpec(builtin_id="en_US-joe-medium"), SynthesisOptions())
    assert len(api.calls) == 0


def test_missing_configuration_is_unavailable() -> None:
    with pytest.raises(EngineUnavailable, match="RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY"):
        RunPodEngine(endpoint_id=None, api_key=None).synthesize("Hi.", BUILTIN, SynthesisOptions())


def test_built_from_settings() -> None:
    settings = Settings(
        tts_engine="runpod",
        runpod_endpoint_id="ep9",
        runpod_api_key=SecretStr("secret-key"),
        runpod_base_url="http://127.0.0.1:1/v2/",
        runpod_timeout_s=12,
    )
    built = make_engine(settings)
    assert isinstance(built, RunPodEngine)
    assert (built._endpoint_id, built._api_key, built._base_url, built._timeout_s) == (
        "ep9",
        "secret-key",
        "http://127.0.0.1:1/v2",
        12,
    )


def test_import_is_light() -> None:
    code = "import json, sys, core.tts.runpod; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert not set(json.loads(out.stdout)) & {"runpod", "requests", "torch", "scipy", "soundfile"}
