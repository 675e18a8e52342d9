"""ChatterboxEngine's refusals and failures, against the real chatterbox code on the random-weight checkpoint
(tests/unit/conftest.py): empty text, unknown or empty voices, broken stored conditionals, options out of
range, an empty reference clip, and checkpoints that cannot load (EngineUnavailable).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("chatterbox.tts")

from core.errors import BadRequest, EngineError, EngineUnavailable, NotFound, ValidationFailed
from core.tts.base import Audio, SynthesisOptions, VoiceSpec
from core.tts.chatterbox import ChatterboxEngine
from core.tts.chatterbox_wire import DEFAULT_VOICE_ID

pytestmark = pytest.mark.slow

BUILTIN = VoiceSpec(builtin_id=DEFAULT_VOICE_ID)
TEXT = "Hello world, this is a test."


@pytest.fixture(scope="module")
def engine(chatterbox_engine: ChatterboxEngine) -> ChatterboxEngine:
    return chatterbox_engine  # one model for the unit layer (tests/unit/conftest.py)


def test_empty_text_gives_no_audio(engine: ChatterboxEngine) -> None:
    assert list(engine.stream("  \n ", BUILTIN, SynthesisOptions())) == []
    assert engine.synthesize("", BUILTIN, SynthesisOptions()).samples.size == 0


@pytest.mark.parametrize(
    ("voice", "error"),
    [(VoiceSpec(), BadRequest), (VoiceSpec(builtin_id="nobody"), NotFound)],
)
def test_bad_voices_are_rejected(engine: ChatterboxEngine, voice: VoiceSpec, error: type[Exception]) -> None:
    with pytest.raises(error):
        engine.synthesize(TEXT, voice, SynthesisOptions())


def test_broken_stored_conditionals_fail_the_job(engine: ChatterboxEngine) -> None:
    with pytest.raises(EngineError):
        engine.synthesize(TEXT, VoiceSpec(conditionals=b"garbage"), SynthesisOptions())


@pytest.mark.parametrize(
    "options", [SynthesisOptions(speed=3.0), SynthesisOptions(temperature=0.0), SynthesisOptions(seed=2**32)]
)
def test_out_of_range_options_are_rejected(engine: ChatterboxEngine, options: SynthesisOptions) -> None:
    with pytest.raises(ValidationFailed):
        engine.synthesize(TEXT, BUILTIN, options)


def test_empty_reference_is_rejected(engine: ChatterboxEngine) -> None:
    with pytest.raises(BadRequest):
        engine.prepare_voice(Audio(np.zeros(0, dtype=np.float32), 24000))


@pytest.fixture
def broken_checkpoints(tmp_path: Path) -> dict[str, Path]:
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    (incomplete / "tokenizer.json").write_text("{}")
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    for name in ("ve.safetensors", "t3_cfg.safetensors", "s3gen.safetensors", "tokenizer.json"):
        (garbage / name).write_bytes(b"\x00not a real file")
    return {"missing": tmp_path / "does-not-exist", "incomplete": incomplete, "garbage": garbage}


@pytest.mark.parametrize("kind", ["missing", "incomplete", "garbage"])
def test_unloadable_checkpoint_is_engine_unavailable(broken_checkpoints: dict[str, Path], kind: str) -> None:
    engine = ChatterboxEngine(broken_checkpoints[kind], device="cpu")
    with pytest.raises(EngineUnavailable, match="Chatterbox"):
        engine.synthesize(TEXT, BUILTIN, SynthesisOptions())
