"""ChatterboxEngine against the real chatterbox code, loading a fast random-weight checkpoint.

The checkpoint (tests/support/chatterbox_ckpt.py) is built once per machine (~30 s) and cached; its
T3 is 2 layers deep and stops after 50 speech tokens, so one generate() call gives 2.0 s of audio in
~7 s on two idle CPU cores. The model is loaded once for the unit layer (~3.2 GB RSS,
tests/unit/conftest.py); four tests pay for real generation, the others replace generate() by a
stand-in returning a real output. The audio is noise-like (random weights): these tests check the
wiring (shapes, rates, conditionals, seeds, chunking, watermark), not speech quality; refusals and
failures are in test_chatterbox_errors.py.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("chatterbox.tts")

from core.errors import EngineError
from core.tts.base import Audio, Engine, SynthesisOptions, VoiceSpec
from core.tts.builtin_voices import ORIGINAL_IDS
from core.tts.chatterbox import ChatterboxEngine
from core.tts.chatterbox_checkpoint import dump_conditionals, load_conditionals
from core.tts.chatterbox_wire import DEFAULT_VOICE_ID
from tests.support.chatterbox_ckpt import DEFAULT_STOP_AFTER, synthetic_voice

pytestmark = pytest.mark.slow

BUILTIN = VoiceSpec(builtin_id=DEFAULT_VOICE_ID)
TEXT = "Hello world, this is a test."
CHUNK_SECONDS = DEFAULT_STOP_AFTER / 25.0  # S3 speech tokens run at 25 per second


@pytest.fixture(scope="module")
def checkpoint(chatterbox_checkpoint: Path) -> Path:
    return chatterbox_checkpoint


@pytest.fixture(scope="module")
def engine(chatterbox_engine: ChatterboxEngine) -> ChatterboxEngine:
    return chatterbox_engine  # one model for the unit layer (tests/unit/conftest.py)


@pytest.fixture(scope="module")
def detector() -> Any:
    import perth

    return perth.PerthImplicitWatermarker()


@pytest.fixture(scope="module")
def default_audio(engine: ChatterboxEngine) -> Audio:
    return engine.synthesize(TEXT, BUILTIN, SynthesisOptions(seed=1))


@pytest.fixture(scope="module")
def reference() -> Audio:
    return Audio(synthetic_voice(2.0, sr=16000, seed=3), 16000)


def watermark_score(detector: Any, audio: Audio) -> float:
    return float(detector.get_watermark(audio.samples, sample_rate=audio.sample_rate, round=False))


def count_calls(monkeypatch: pytest.MonkeyPatch, target: Any, name: str) -> list[dict[str, Any]]:
    """Record the keyword arguments of every call to target.name (which still runs)."""
    calls: list[dict[str, Any]] = []
    original: Callable[..., Any] = getattr(target, name)

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(target, name, spy)
    return calls


def test_engine_protocol_capabilities_and_voices(engine: ChatterboxEngine) -> None:
    assert isinstance(engine, Engine)
    caps = engine.capabilities
    assert (caps.name, caps.can_clone, caps.sample_rate, caps.voice_format) == (
        "chatterbox",
        True,
        24000,
        "chatterbox-conds-v1",
    )
    assert caps.max_chars == 300
    assert set(caps.options) == {"exaggeration", "cfg_weight", "temperature", "seed"}
    assert [voice.id for voice in engine.voices()] == [*ORIGINAL_IDS, DEFAULT_VOICE_ID]


def test_builtin_voice_gives_24k_float32_mono(default_audio: Audio) -> None:
    samples = default_audio.samples
    assert default_audio.sample_rate == 24000
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert default_audio.duration == pytest.approx(CHUNK_SECONDS, abs=0.2)
    assert np.isfinite(samples).all()
    assert np.abs(samples).max() <= 1.0
    assert float(np.sqrt(np.mean(samples**2))) > 1e-4  # not silence


def test_output_carries_perth_watermark(
    engine: ChatterboxEngine, default_audio: Audio, detector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert watermark_score(detector, default_audio) > 0.9
    # The same call with chatterbox's watermarking step bypassed: same audio, no watermark.
    model = engine.load()

    class NoWatermark:
        def apply_watermark(self, wav: Any, sample_rate: int) -> Any:
            return wav

    monkeypatch.setattr(model, "watermarker", NoWatermark())
    plain = engine.synthesize(TEXT, BUILTIN, SynthesisOptions(seed=1))
    assert watermark_score(detector, plain) < 0.5
    noise = np.random.default_rng(0).normal(0.0, 0.1, 48000).astype(np.float32)
    assert watermark_score(detector, Audio(noise, 24000)) < 0.1
    # Beware: Perth's detector also reads ~0.97 on a pure sine tone, so a tone is no negative control.


def test_prepare_voice_matches_chatterbox_prepare_conditionals(
    engine: ChatterboxEngine, reference: Audio, tmp_path: Path
) -> None:
    import soundfile as sf
    import torch

    ours = load_conditionals(engine.prepare_voice(reference))
    model = engine.load()
    clip = tmp_path / "ref.wav"
    sf.write(clip, reference.samples, reference.sample_rate, subtype="FLOAT")
    previous = model.conds
    try:
        model.prepare_conditionals(str(clip), exaggeration=0.5)  # chatterbox's own, from a file
        theirs = model.conds
    finally:
        model.conds = previous
    torch.testing.assert_close(ours.t3.speaker_emb, theirs.t3.speaker_emb, rtol=1e-4, atol=1e-5)
    assert torch.equal(ours.t3.cond_prompt_speech_tokens, theirs.t3.cond_prompt_speech_tokens)
    assert set(ours.gen) == set(theirs.gen)
    for key in ("prompt_token", "prompt_feat", "embedding"):
        torch.testing.assert_close(ours.gen[key], theirs.gen[key], rtol=1e-4, atol=1e-5)


def test_conditionals_bytes_use_the_conds_pt_layout(
    engine: ChatterboxEngine, checkpoint: Path, reference: Audio, tmp_path: Path
) -> None:
    from chatterbox.tts import Conditionals

    builtin = load_conditionals((checkpoint / "conds.pt").read_bytes())
    assert builtin.t3.speaker_emb.shape == (1, 256)
    path = tmp_path / "voice.pt"
    path.write_bytes(engine.prepare_voice(reference))
    loaded = Conditionals.load(path)  # chatterbox's own reader
    assert loaded.t3.cond_prompt_speech_emb is None
    assert dump_conditionals(loaded)  # and back
    with pytest.raises(EngineError):
        load_conditionals(b"not a torch file")


def test_custom_voice_from_conditionals_never_reads_reference(
    engine: ChatterboxEngine, reference: Audio, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    stored = engine.prepare_voice(reference)

    def forbidden(*_: Any) -> Any:
        raise AssertionError("the reference clip was analysed again")

    monkeypatch.setattr(engine, "_conditionals_from_reference", forbidden)
    conds_seen = count_calls(monkeypatch, engine.load().t3, "inference")
    voice = VoiceSpec(conditionals=stored, reference=reference)
    audio = engine.synthesize(TEXT, voice, SynthesisOptions(seed=3, exaggeration=0.7))
    assert audio.duration == pytest.approx(CHUNK_SECONDS, abs=0.2)
    t3_cond = conds_seen[0]["t3_cond"]
    assert float(t3_cond.emotion_adv.flatten()[0]) == pytest.approx(0.7)  # exaggeration honoured
    torch.testing.assert_close(t3_cond.speaker_emb, load_conditionals(stored).t3.speaker_emb)


def test_same_seed_same_audio_also_after_custom_voice_jobs(engine: ChatterboxEngine, default_audio: Audio) -> None:
    # Runs after a custom-voice job: the built-in voice must not have picked up its conditionals.
    again = engine.synthesize(TEXT, BUILTIN, SynthesisOptions(seed=1))
    np.testing.assert_array_equal(again.samples, default_audio.samples)


# The tests below replace model.generate() by a stand-in that returns a real (watermarked) output of
# this model, to check the engine's own work around it without paying for more generation.


@pytest.fixture
def generate_calls(
    engine: ChatterboxEngine, default_audio: Audio, monkeypatch: pytest.MonkeyPatch
) -> list[dict[str, Any]]:
    import torch

    model = engine.load()
    calls: list[dict[str, Any]] = []

    def generate(text: str, **kwargs: Any) -> Any:
        calls.append({"text": text, "conds": model.conds, **kwargs})
        return torch.from_numpy(default_audio.samples.copy()).unsqueeze(0)

    monkeypatch.setattr(model, "generate", generate)
    return calls


def test_reference_only_voice_is_prepared_on_the_fly(
    engine: ChatterboxEngine, reference: Audio, generate_calls: list[dict[str, Any]]
) -> None:
    import torch

    engine.synthesize(TEXT, VoiceSpec(reference=reference), SynthesisOptions())
    expected = load_conditionals(engine.prepare_voice(reference))
    used = generate_calls[0]["conds"]
    torch.testing.assert_close(used.t3.speaker_emb, expected.t3.speaker_emb)
    assert torch.equal(used.gen["prompt_token"], expected.gen["prompt_token"])


def test_long_text_is_streamed_chunk_by_chunk_and_joined(
    engine: ChatterboxEngine, detector: Any, default_audio: Audio, generate_calls: list[dict[str, Any]]
) -> None:
    sentence = "This sentence is long enough that two of them do not fit into a single model call " * 2
    text = f"{sentence.strip()}. {sentence.strip()}!"
    assert len(text) > engine.capabilities.max_chars
    stream = engine.stream(text, BUILTIN, SynthesisOptions(seed=5))
    first = next(stream)
    assert len(generate_calls) == 1  # yielded as soon as the first chunk was generated
    chunks = [first, *stream]
    assert len(chunks) == len(generate_calls) == 2
    assert " ".join(call["text"] for call in generate_calls) == " ".join(text.split())
    assert all(chunk.sample_rate == 24000 and chunk.samples.dtype == np.float32 for chunk in chunks)
    assert chunks[0].duration == pytest.approx(CHUNK_SECONDS + 0.05, abs=0.2)  # with the pause
    assert np.abs(chunks[0].samples[-1200:]).max() == 0.0  # the 50 ms pause after a chunk
    raw_tail, tail = default_audio.samples[-120:], chunks[1].samples[-120:]  # the 5 ms fade-out
    assert tail[-1] == 0.0
    assert np.all(np.abs(tail) <= np.abs(raw_tail))
    joined = engine.synthesize(text, BUILTIN, SynthesisOptions(seed=5))
    np.testing.assert_array_equal(joined.samples, np.concatenate([chunk.samples for chunk in chunks]))
    assert watermark_score(detector, joined) > 0.9


def test_pitch_and_speed_keep_watermark(
    engine: ChatterboxEngine, detector: Any, generate_calls: list[dict[str, Any]]
) -> None:
    pytest.importorskip("parselmouth")
    audio = engine.synthesize(TEXT, BUILTIN, SynthesisOptions(speed=1.25, pitch=0.8))
    assert audio.duration == pytest.approx(CHUNK_SECONDS / 1.25, abs=0.2)
    assert watermark_score(detector, audio) > 0.9  # a pitch shift erases it: the engine re-marks


def test_concurrent_jobs_take_turns_on_the_model(
    engine: ChatterboxEngine, default_audio: Audio, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    from concurrent.futures import ThreadPoolExecutor

    import torch

    model = engine.load()
    running: list[int] = []
    seen: list[tuple[float, float]] = []  # (exaggeration asked, emotion_adv in model.conds)

    def generate(text: str, **kwargs: Any) -> Any:
        running.append(1)
        assert len(running) == 1, "two jobs inside the model at once"
        seen.append((kwargs["exaggeration"], float(model.conds.t3.emotion_adv.flatten()[0])))
        time.sleep(0.02)
        running.pop()
        return torch.from_numpy(default_audio.samples.copy()).unsqueeze(0)

    monkeypatch.setattr(model, "generate", generate)
    text = "First sentence here. " * 10 + "Second part now! " * 10
    with ThreadPoolExecutor(max_workers=3) as pool:
        jobs = [
            pool.submit(engine.synthesize, text, BUILTIN, SynthesisOptions(exaggeration=level))
            for level in (0.3, 0.6, 0.9)
        ]
        for job in jobs:
            job.result()
    assert len(seen) == 6
    assert all(asked == pytest.approx(used) for asked, used in seen)


# -- the original built-in ids (more in test_chatterbox_builtins.py) ----------------------------------------
def test_female_voice_synthesizes_with_its_own_conditionals(engine: ChatterboxEngine, default_audio: Audio) -> None:
    """Real generation: the same seed with another built-in voice gives other audio (random weights: no ASR)."""
    female = engine.synthesize(TEXT, VoiceSpec(builtin_id="female_default"), SynthesisOptions(seed=1))
    assert female.sample_rate == 24000
    assert female.duration == pytest.approx(CHUNK_SECONDS, abs=0.2)
    assert float(np.sqrt(np.mean(female.samples**2))) > 1e-4
    assert not np.array_equal(female.samples, default_audio.samples[: female.samples.size])
