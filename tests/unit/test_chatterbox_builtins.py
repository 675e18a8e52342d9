"""The original built-in voice ids on ChatterboxEngine: `default` (the checkpoint's conds.pt),
`female_default` / `male_default` (conditionals prepared once from the bundled reference clips), on the
random-weight checkpoint (tests/unit/conftest.py). generate() is replaced by a stand-in that records the
conditionals it was given and returns real-shaped audio (2 s of quiet noise): these tests check which
conditionals each id reaches, not speech (real generation with `female_default` is in
test_chatterbox_engine.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.tts.base import SynthesisOptions, VoiceSpec
from core.tts.builtin_voices import ORIGINAL_IDS
from core.tts.chatterbox import ChatterboxEngine
from core.tts.chatterbox_checkpoint import load_conditionals
from core.tts.chatterbox_wire import DEFAULT_VOICE_ID
from tests.support.spies import spy

TEXT = "Hello world, this is a test."


@pytest.fixture
def engine(chatterbox_engine: ChatterboxEngine) -> ChatterboxEngine:
    return chatterbox_engine


@pytest.fixture
def checkpoint(chatterbox_checkpoint: Path) -> Path:
    return chatterbox_checkpoint


@pytest.fixture
def generate_calls(engine: ChatterboxEngine, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import torch

    model = engine.load()
    calls: list[dict[str, Any]] = []
    noise = np.random.default_rng(0).normal(0.0, 0.01, 48000).astype(np.float32)

    def generate(text: str, **kwargs: Any) -> Any:
        calls.append({"text": text, "conds": model.conds, **kwargs})
        return torch.from_numpy(noise.copy()).unsqueeze(0)

    monkeypatch.setattr(model, "generate", generate)
    return calls


def speaker_of(conds: Any) -> Any:
    return conds.t3.speaker_emb.detach().cpu().numpy().reshape(-1)


def test_original_ids_resolve_to_distinct_conditionals_prepared_once(
    engine: ChatterboxEngine, checkpoint: Path, generate_calls: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "_clip_conds", {})  # as a fresh engine: no clip prepared yet
    prepared: list[Any] = []
    monkeypatch.setattr(
        engine, "_conditionals_from_reference", spy(prepared, engine._conditionals_from_reference, mark=True)
    )
    for voice_id in [*ORIGINAL_IDS, DEFAULT_VOICE_ID, *ORIGINAL_IDS]:
        engine.synthesize(TEXT, VoiceSpec(builtin_id=voice_id), SynthesisOptions())
    speakers = [speaker_of(call["conds"]) for call in generate_calls]
    default, female, male, old_id = speakers[:4]
    conds_pt = load_conditionals((checkpoint / "conds.pt").read_bytes(), "cpu")
    np.testing.assert_allclose(default, speaker_of(conds_pt))
    np.testing.assert_array_equal(old_id, default)  # chatterbox-default: the same conds.pt
    for a, b in [(default, female), (default, male), (female, male)]:
        assert not np.allclose(a, b)
    tokens = [call["conds"].t3.cond_prompt_speech_tokens.cpu().numpy() for call in generate_calls[:3]]
    assert not np.array_equal(tokens[1], tokens[2])  # the clips' speech tokens, not conds.pt's
    for first, again in zip(speakers[:3], speakers[4:], strict=True):
        np.testing.assert_array_equal(first, again)
    assert len(prepared) == 2  # each clip's conditionals once per engine


def test_the_worker_resolves_the_original_ids(engine: ChatterboxEngine, generate_calls: list[dict[str, Any]]) -> None:
    """The RunPod worker's side: {"builtin": "male_default"} reaches this engine's clip conditionals."""
    from core.tts import worker

    output = worker.handle({"text": TEXT, "voice": {"builtin": "male_default"}}, load=lambda: engine, max_samples=10**7)
    assert "audio_base64" in output, output
    direct = engine.synthesize(TEXT, VoiceSpec(builtin_id="male_default"), SynthesisOptions())
    assert direct.duration > 0
    np.testing.assert_array_equal(speaker_of(generate_calls[0]["conds"]), speaker_of(generate_calls[1]["conds"]))
    missing = worker.handle({"text": TEXT, "voice": {"builtin": "female"}}, load=lambda: engine, max_samples=10**7)
    assert "voice_not_found" in missing["error"]
