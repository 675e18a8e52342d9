"""The RunPod worker's input parsing (pure) and its handler's error outputs (no model needed)."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from core.config import Settings
from core.errors import EngineUnavailable
from core.schemas import worker as schema
from core.schemas.worker import Job, VoiceInput, parse_input
from core.tts.base import SynthesisOptions
from handlers import runpod_worker

ROOT = Path(__file__).resolve().parents[2]
B64 = base64.b64encode(b"RIFF....WAVE").decode()


def test_defaults() -> None:
    job = parse_input({"text": "  Hello   world. "})
    assert job == Job(
        action="synthesize",
        voice=VoiceInput(kind="builtin", builtin_id="default"),
        text="Hello world.",
        options=SynthesisOptions(),
        format="wav",
    )


@pytest.mark.parametrize(
    ("voice", "expected"),
    [
        ({"builtin": "chatterbox-default"}, VoiceInput(kind="builtin", builtin_id="chatterbox-default")),
        (
            {"reference_url": "https://example.com/me.wav"},
            VoiceInput(kind="reference_url", url="https://example.com/me.wav"),
        ),
        ({"reference_base64": B64}, VoiceInput(kind="reference_base64", data=b"RIFF....WAVE")),
        ({"conditionals_base64": B64}, VoiceInput(kind="conditionals_base64", data=b"RIFF....WAVE")),
    ],
)
def test_every_voice_kind(voice: dict[str, str], expected: VoiceInput) -> None:
    assert parse_input({"text": "Hi.", "voice": voice}).voice == expected


def test_options_and_format() -> None:
    raw = {
        "text": "Hi.",
        "options": {"speed": 1.5, "pitch": 0.8, "exaggeration": 1, "cfg_weight": 0.3, "temperature": 0.7, "seed": 42},
        "format": "MP3",
    }
    job = parse_input(raw)
    assert job.options == SynthesisOptions(
        speed=1.5, pitch=0.8, exaggeration=1.0, cfg_weight=0.3, temperature=0.7, seed=42
    )
    assert job.format == "mp3"


def test_options_given_as_null_keep_defaults() -> None:
    assert parse_input({"text": "Hi.", "options": {"seed": None, "speed": None}}).options == SynthesisOptions()


@pytest.mark.parametrize("kind", ["reference_url", "reference_base64"])
def test_prepare_voice(kind: str) -> None:
    value = "http://example.com/a.flac" if kind == "reference_url" else B64
    job = parse_input({"action": "prepare_voice", "voice": {kind: value}})
    assert job.action == "prepare_voice"
    assert job.voice.kind == kind
    assert job.text == ""


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (None, "input: expected a JSON object"),
        ("say hi", "input: expected a JSON object"),
        ({"text": "Hi.", "speaker": "x"}, "unknown field(s) speaker"),
        ({}, "text: required"),
        ({"text": 5}, "text: required"),
        ({"text": "   "}, "text: must contain"),
        ({"text": "a" * (schema.MAX_TEXT_CHARS + 1)}, "at most 10000"),
        ({"text": "Hi.", "action": "train"}, "action: expected one of synthesize, prepare_voice"),
        ({"text": "Hi.", "format": "aiff"}, "format: expected one of wav, mp3, ogg, flac"),
        ({"text": "Hi.", "format": 3}, "format: expected one of"),
        ({"text": "Hi.", "voice": "chatterbox-default"}, "voice: expected an object with exactly one of"),
        ({"text": "Hi.", "voice": {}}, "voice: expected an object with exactly one of"),
        ({"text": "Hi.", "voice": {"builtin": "a", "reference_url": "http://x/y"}}, "exactly one of"),
        ({"text": "Hi.", "voice": {"name": "alice"}}, "exactly one of"),
        ({"text": "Hi.", "voice": {"builtin": ""}}, "voice.builtin: expected a non-empty string"),
        ({"text": "Hi.", "voice": {"builtin": 7}}, "voice.builtin: expected a non-empty string"),
        (
            {"text": "Hi.", "voice": {"reference_url": "file:///etc/passwd"}},
            "voice.reference_url: expected an http(s) URL",
        ),
        ({"text": "Hi.", "voice": {"reference_url": "https://"}}, "voice.reference_url: expected an http(s) URL"),
        ({"text": "Hi.", "voice": {"reference_base64": "not base64!"}}, "voice.reference_base64: not valid base64"),
        ({"text": "Hi.", "voice": {"conditionals_base64": "===="}}, "voice.conditionals_base64: not valid base64"),
        ({"text": "Hi.", "options": [1]}, "options: expected a JSON object"),
        ({"text": "Hi.", "options": {"volume": 2}}, "options: unknown option(s) volume"),
        ({"text": "Hi.", "options": {"speed": 3}}, "options.speed: expected a number between 0.5 and 2.0"),
        ({"text": "Hi.", "options": {"pitch": "high"}}, "options.pitch: expected a number"),
        ({"text": "Hi.", "options": {"cfg_weight": True}}, "options.cfg_weight: expected a number"),
        ({"text": "Hi.", "options": {"temperature": 0}}, "options.temperature: expected a number between 0.05"),
        ({"text": "Hi.", "options": {"exaggeration": float("nan")}}, "options.exaggeration"),
        ({"text": "Hi.", "options": {"seed": 1.5}}, "options.seed: expected an integer"),
        ({"text": "Hi.", "options": {"seed": -1}}, "options.seed: expected an integer"),
        ({"text": "Hi.", "options": {"seed": 2**63 - 1}}, "options.seed: expected an integer between 0 and 4294967295"),
        ({"action": "prepare_voice"}, "prepare_voice needs a reference clip"),
        ({"action": "prepare_voice", "voice": {"builtin": "chatterbox-default"}}, "prepare_voice needs a reference"),
        ({"action": "prepare_voice", "voice": {"reference_base64": B64}, "text": "Hi."}, "prepare_voice takes no text"),
    ],
)
def test_bad_inputs_raise_clear_errors(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_input(raw)


def test_oversized_base64_is_refused_before_decoding() -> None:
    huge = "A" * (schema.MAX_BLOB_BYTES * 2)
    with pytest.raises(ValueError, match="larger than 20 MiB"):
        parse_input({"text": "Hi.", "voice": {"reference_base64": huge}})


def test_handler_reports_bad_input_as_a_readable_error() -> None:
    out = runpod_worker.handler({"id": "job-1", "input": {"text": "Hi.", "format": "aiff"}})
    assert set(out) == {"error"}
    error = json.loads(out["error"])
    assert error == {"code": "invalid_input", "message": "format: expected one of wav, mp3, ogg, flac, got 'aiff'"}


def test_handler_reports_engine_failures(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise EngineUnavailable("Chatterbox checkpoint /nowhere does not exist")

    monkeypatch.setattr(runpod_worker, "engine", broken)
    out = runpod_worker.handler({"id": "job-2", "input": {"text": "Hi."}})
    assert json.loads(out["error"]) == {
        "code": "engine_unavailable",
        "message": "Chatterbox checkpoint /nowhere does not exist",
    }


def test_handler_reports_unexpected_exceptions(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise KeyError("boom")

    monkeypatch.setattr(runpod_worker, "engine", broken)
    out = runpod_worker.handler({"id": "job-3", "input": {"text": "Hi."}})
    assert json.loads(out["error"]) == {"code": "internal_error", "message": "KeyError: 'boom'"}


def test_test_input_json_parses() -> None:
    raw = json.loads((ROOT / "handlers" / "test_input.json").read_text())
    job = parse_input(raw["input"])
    assert job.action == "synthesize"
    assert job.voice.kind == "builtin"


def test_import_has_no_side_effects() -> None:
    code = (
        "import json, sys, handlers.runpod_worker as w; "
        "print(json.dumps([w._engine is None, sorted({m.split('.')[0] for m in sys.modules})]))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    unloaded, modules = json.loads(out.stdout.strip().splitlines()[-1])
    assert unloaded
    assert not set(modules) & {"torch", "chatterbox", "runpod", "perth"}


def test_engine_is_configured_from_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = Settings(chatterbox_checkpoint_dir=tmp_path / "nowhere", chatterbox_device="cpu")
    monkeypatch.setattr(runpod_worker, "get_settings", lambda: settings)
    out = runpod_worker.handler({"id": "job-4", "input": {"text": "Hi."}})
    assert json.loads(out["error"]) == {
        "code": "engine_unavailable",
        "message": f"Chatterbox checkpoint directory {tmp_path / 'nowhere'} does not exist",
    }
    assert runpod_worker._engine is None  # a failed load is retried by the next job


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"text": 5, "format": "aiff", "speaker": 1}, "input: unknown field(s) speaker; allowed: action, format,"),
        ({"text": 5, "format": "aiff"}, "format: expected one of"),
        ({"text": 5, "options": {"speed": 9}}, "options.speed: expected a number between 0.5 and 2.0, got 9"),
        ({"text": "Hi.", "options": {"volume": 2, "speed": 9, "bass": 1}}, "options: unknown option(s) bass, volume"),
    ],
)
def test_the_first_problem_is_reported_in_the_documented_order(raw: Any, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_input(raw)
