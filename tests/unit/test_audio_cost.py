"""Cost in audio seconds: Piper's phoneme cost model and call blocks, the real Piper engine's per-call
bound and estimate accuracy, the overrun guard, and the chunked estimate of Chatterbox and the RunPod proxy."""

from __future__ import annotations

import numpy as np
import pytest

from bench.texts import text_of_length
from core.config import Settings
from core.errors import EngineError
from core.tts import piper_phonemes
from core.tts.base import SynthesisOptions, VoiceSpec
from core.tts.budget import CHATTERBOX_CALL_SECONDS, AudioBudget, allowed
from core.tts.piper import DEFAULT_VOICE_ID, MAX_CALL_SECONDS, PiperEngine
from tests.support.spies import piper_call_seconds

JOE = VoiceSpec(builtin_id=DEFAULT_VOICE_ID)
EMOJI = " ".join(["\U0001f600"] * 40)  # the text, shortened: 40 of its 200 emoji
CJK = "".join(chr(0x4E00 + 37 * index) for index in range(20))
WORD = "abcdefghij" * 100  # one 1,000-letter word


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine()


def test_blocks_keep_every_phoneme_and_cut_at_clauses_then_spaces() -> None:
    sentence = list("ab cd ef, gh ij kl")
    cut = piper_phonemes.blocks([sentence], max_seconds=piper_phonemes.block_seconds("ab cd ef, gh"))
    assert "".join("".join(block) for block in cut) == "".join(sentence)
    assert ["".join(block) for block in cut] == ["ab cd ef, ", "gh ij kl"]
    plain = piper_phonemes.blocks([list("ab cd ef gh ij kl")], max_seconds=piper_phonemes.block_seconds("ab cd ef g"))
    assert ["".join(block) for block in plain] == ["ab cd ef ", "gh ij kl"]
    long_word = list("x" * 500)
    hard = piper_phonemes.blocks([long_word], max_seconds=2.0)
    assert len(hard) > 1
    assert sum(map(len, hard)) == 500
    assert all(piper_phonemes.block_seconds(block) <= 2.0 for block in hard)
    assert piper_phonemes.blocks([[" ", " "]], max_seconds=2.0) == []


@pytest.mark.parametrize("text", [EMOJI, CJK, WORD], ids=["emoji", "cjk", "long-word"])
def test_no_piper_call_makes_more_than_its_bound(
    engine: PiperEngine, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """Before: one call per sentence, so 40 emoji were one 22 s call (200: one 106 s call, 2.9 GB)."""
    made = piper_call_seconds(monkeypatch)
    audio = engine.synthesize(text, JOE, SynthesisOptions())
    estimate = engine.estimate_seconds(text, SynthesisOptions())
    print(
        f"{len(text)} chars: {len(made)} calls, longest {max(made):.2f} s, {audio.duration:.1f} s, est {estimate:.1f}"
    )
    assert len(made) > 1
    assert max(made) <= MAX_CALL_SECONDS * 1.15  # Piper's durations vary by a few percent
    assert audio.duration == pytest.approx(sum(made), rel=0.01)
    assert estimate == pytest.approx(audio.duration, rel=0.15)  # emoji/ideographs read as words: long


def test_estimate_of_ordinary_prose_is_within_ten_percent(engine: PiperEngine) -> None:
    text = text_of_length(700)
    real = engine.synthesize(text, JOE, SynthesisOptions()).duration
    estimate = engine.estimate_seconds(text, SynthesisOptions())
    print(f"700 chars of prose: {real:.1f} s real, {estimate:.1f} s estimated")
    assert estimate == pytest.approx(real, rel=0.10)
    assert engine.estimate_seconds(text, SynthesisOptions(speed=2.0)) == pytest.approx(estimate / 2)


def test_default_limit_fits_five_thousand_characters_of_prose(engine: PiperEngine) -> None:
    from core.tts.runpod import RunPodEngine

    limit = Settings().max_audio_seconds_per_request
    prose = text_of_length(5000)
    assert engine.estimate_seconds(prose, SynthesisOptions()) < limit
    assert RunPodEngine(endpoint_id=None, api_key=None).estimate_seconds(prose, SynthesisOptions()) < limit
    assert engine.estimate_seconds(prose, SynthesisOptions(speed=0.5)) > limit


def test_a_runaway_model_is_stopped(engine: PiperEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test double: no real Piper model can be made to run away, so the model returns 30 s per call."""
    from piper import PiperVoice

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", lambda *a, **k: np.full(30 * 22050, 0.1, np.float32))
    chunks = engine.stream("Hello there. How are you?", JOE, SynthesisOptions())
    with pytest.raises(EngineError) as info:
        next(chunks)
    assert info.value.code == "audio_overrun"
    assert info.value.details["produced_seconds"] == 30.0


def test_budget_allows_the_estimate_with_margin_then_stops() -> None:
    budget = AudioBudget(10.0)
    assert budget.allowed == allowed(10.0) > 10.0
    budget.spend(budget.allowed - 1.0)
    with pytest.raises(EngineError):
        budget.spend(1.5)
    assert budget.produced == pytest.approx(budget.allowed - 1.0)


def test_chatterbox_estimates_are_prose_capped_per_call() -> None:
    from core.tts.chatterbox import ChatterboxEngine
    from core.tts.runpod import RunPodEngine

    proxy = RunPodEngine(endpoint_id=None, api_key=None)
    local = ChatterboxEngine(checkpoint_dir="/nonexistent")  # estimates load no model
    sentence = "A short sentence of prose. " * 3
    for engine in (proxy, local):
        assert engine.estimate_seconds(sentence, SynthesisOptions()) == pytest.approx(len(sentence.strip()) / 14.0)
        assert engine.estimate_seconds(sentence, SynthesisOptions(speed=2.0)) == pytest.approx(
            len(sentence) / 28.0, rel=0.05
        )
        # 2,000 characters of one word: 7 calls of <= 300 characters, each at most 40 s
        assert engine.estimate_seconds("x" * 2000, SynthesisOptions()) <= 7 * CHATTERBOX_CALL_SECONDS
