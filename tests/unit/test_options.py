"""The one table of synthesis options (core.tts.options) and the surfaces built from it: the worker's
input, the RunPod proxy (against a scripted RunPod HTTP API, `responses`, since no RunPod is reachable
here), the engines' checks and capabilities, and the Chatterbox wire constants written once.
The API's request schema is checked end to end in tests/api/test_option_ranges.py."""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import re
from pathlib import Path
from typing import Any, get_type_hints

import numpy as np
import pytest
import responses
from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import ValidationFailed
from core.schemas import options as schema_options
from core.schemas.worker import OptionsInput, parse_input
from core.services import synthesis
from core.tts import chatterbox_wire, codecs, options
from core.tts.base import Audio, VoiceSpec
from core.tts.chatterbox import ChatterboxEngine
from core.tts.options import ENGINE_OPTIONS, OPTIONS, Option, SynthesisOptions, honoured_by
from core.tts.piper import PiperEngine
from core.tts.runpod import RunPodEngine

ROOT = Path(__file__).resolve().parents[2]
BASE, EP = "https://rp.test/v2", "ep1"
BUILTIN = VoiceSpec(builtin_id=chatterbox_wire.DEFAULT_VOICE_ID)


def outside(option: Option) -> tuple[float, float]:
    if option.kind == "int":
        return option.low - 1, option.high + 1
    return math.nextafter(option.low, -math.inf), math.nextafter(option.high, math.inf)


def bounds(name: str) -> list[tuple[str, float]]:
    return [(name, OPTIONS[name].low), (name, OPTIONS[name].high)]


def given(name: str, value: Any) -> SynthesisOptions:
    """The default options with `name` set to `value`."""
    return dataclasses.replace(SynthesisOptions(), **{name: value})


EVERY_BOUND = [pair for name in OPTIONS for pair in bounds(name)]
EVERY_OUTSIDE = [(name, value) for name in OPTIONS for value in outside(OPTIONS[name])]


# -- the table ---------------------------------------------------------------------------------
def test_the_table_is_synthesis_options_fields() -> None:
    hints = get_type_hints(SynthesisOptions)
    assert list(OPTIONS) == [f.name for f in dataclasses.fields(SynthesisOptions)]
    for name, option in OPTIONS.items():
        assert getattr(SynthesisOptions(), name) == option.default
        assert (int if option.kind == "int" else float) in getattr(hints[name], "__args__", (hints[name],))
        assert option.low < option.high
        assert option.default is None or option.low <= option.default <= option.high
        assert option.description


def test_documented_choices() -> None:
    assert (OPTIONS["seed"].low, OPTIONS["seed"].high) == (0, 2**32 - 1)
    assert OPTIONS["seed"].high < 2**53  # exact as a JSON number in every client
    assert (OPTIONS["temperature"].low, OPTIONS["temperature"].high) == (0.05, 5.0)  # chatterbox's demo
    assert ENGINE_OPTIONS == ("exaggeration", "cfg_weight", "temperature", "seed")
    assert synthesis.ENGINE_OPTIONS == ENGINE_OPTIONS


def test_engine_capabilities_come_from_the_table() -> None:
    runpod = RunPodEngine(endpoint_id=EP, api_key="k")
    for engine in (PiperEngine(), ChatterboxEngine("/nowhere"), runpod):
        assert engine.capabilities.options == honoured_by(engine.capabilities.name)
    assert honoured_by("piper") == ()
    assert honoured_by("chatterbox") == honoured_by("runpod") == ENGINE_OPTIONS


@pytest.mark.parametrize(("name", "value"), [*EVERY_OUTSIDE, ("temperature", math.nan), ("seed", True)])
def test_check_refuses_naming_the_bound(name: str, value: Any) -> None:
    option = OPTIONS[name]
    with pytest.raises(ValidationFailed) as caught:
        options.check(given(name, value))
    assert caught.value.code == "invalid_option"
    assert caught.value.message == f"{name} must be between {option.low} and {option.high}"
    assert caught.value.details == {"option": name, "value": value, "low": option.low, "high": option.high}


def test_engines_check_only_what_they_use() -> None:
    ignored_by_piper = SynthesisOptions(temperature=0.0)
    options.check(ignored_by_piper, engine="piper")  # piper never reads temperature
    with pytest.raises(ValidationFailed, match="temperature"):
        options.check(ignored_by_piper, engine="chatterbox")
    with pytest.raises(ValidationFailed, match="speed"):
        options.check(SynthesisOptions(speed=3.0), engine="piper")


def test_a_new_row_reaches_every_schema_built_from_the_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """Adding an option is one row: a model decorated with `with_options` gets its field and bounds."""
    top_p = Option("top_p", "float", 0.0, 1.0, 1.0, ("chatterbox-turbo",), "nucleus sampling")
    monkeypatch.setattr(schema_options, "OPTIONS", {**OPTIONS, "top_p": top_p})

    @schema_options.with_options()
    class Request(BaseModel):
        model_config = ConfigDict(extra="forbid")

    assert Request.model_validate({"top_p": 1.0}).model_dump()["top_p"] == 1.0
    assert Request.model_validate({}).model_dump()["top_p"] is None  # an engine option: None = not sent
    with pytest.raises(ValidationError, match="less than or equal to 1"):
        Request.model_validate({"top_p": 1.5})


# -- the worker's input ------------------------------------------------------------------------
def test_worker_schema_bounds_are_the_tables() -> None:
    properties = OptionsInput.model_json_schema()["properties"]
    assert list(properties) == list(OPTIONS)
    for name, option in OPTIONS.items():
        typed = next(s for s in properties[name]["anyOf"] if s["type"] != "null")
        assert (typed["minimum"], typed["maximum"]) == (option.low, option.high)


@pytest.mark.parametrize(("name", "value"), EVERY_BOUND)
def test_worker_accepts_each_bound(name: str, value: float) -> None:
    assert parse_input({"text": "Hi.", "options": {name: value}}).options == given(name, value)


@pytest.mark.parametrize(("name", "value"), EVERY_OUTSIDE)
def test_worker_refuses_just_outside_naming_the_bounds(name: str, value: float) -> None:
    option = OPTIONS[name]
    kind = "an integer" if option.kind == "int" else "a number"
    expected = f"options.{name}: expected {kind} between {option.low} and {option.high}, got {value!r}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        parse_input({"text": "Hi.", "options": {name: value}})


# -- the RunPod proxy --------------------------------------------------------------------------
@pytest.fixture
def api() -> Any:
    tone = Audio((0.1 * np.sin(np.arange(2400) / 5.0)).astype(np.float32), chatterbox_wire.SAMPLE_RATE)
    output = {"audio_base64": base64.b64encode(codecs.encode(tone, "flac")).decode(), "format": "flac"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{BASE}/{EP}/run", json={"id": "job-1", "status": "IN_QUEUE"})
        mock.add(responses.GET, f"{BASE}/{EP}/status/job-1", json={"status": "COMPLETED", "output": output})
        yield mock


def proxy() -> RunPodEngine:
    return RunPodEngine(endpoint_id=EP, api_key="k", base_url=BASE, backoff_s=0.001)


@pytest.mark.parametrize(("name", "value"), EVERY_BOUND)
def test_proxy_sends_what_the_worker_accepts(api: responses.RequestsMock, name: str, value: float) -> None:
    asked = given(name, value)
    proxy().synthesize("Hi.", BUILTIN, asked)
    body = next(c.request.body for c in api.calls if str(c.request.url).endswith("/run"))
    sent = json.loads(body or b"{}")["input"]
    assert sent["options"] == options.wire(asked)
    assert parse_input(sent).options == asked  # the worker reads back exactly what was asked


@pytest.mark.parametrize(("name", "value"), EVERY_OUTSIDE)
def test_proxy_refuses_just_outside_before_any_job(api: responses.RequestsMock, name: str, value: float) -> None:
    with pytest.raises(ValidationFailed, match=re.escape(f"between {OPTIONS[name].low} and {OPTIONS[name].high}")):
        proxy().synthesize("Hi.", BUILTIN, given(name, value))
    assert len(api.calls) == 0


# -- Chatterbox wire constants, written once ----------------------------------------------------
@pytest.mark.parametrize("value", [chatterbox_wire.VOICE_FORMAT, chatterbox_wire.DEFAULT_VOICE_ID])
def test_wire_constants_are_written_once(value: str) -> None:
    sources = [*ROOT.glob("core/**/*.py"), *ROOT.glob("handlers/**/*.py"), *ROOT.glob("tests/support/*.py")]
    holders = sorted(str(p.relative_to(ROOT)) for p in sources if f'"{value}"' in p.read_text(encoding="utf-8"))
    assert holders == ["core/tts/chatterbox_wire.py"]


def test_both_chatterbox_engines_speak_the_wire() -> None:
    for engine in (ChatterboxEngine("/nowhere"), proxy()):
        caps = engine.capabilities
        assert (caps.sample_rate, caps.voice_format) == (chatterbox_wire.SAMPLE_RATE, chatterbox_wire.VOICE_FORMAT)
    assert [v.id for v in proxy().voices()] == [v.id for v in chatterbox_wire.builtin_voices()]
