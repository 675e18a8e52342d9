"""The original built-in voice ids (`default`, `female_default`, `male_default`) on the real Piper engine,
and the bundled reference clips the Chatterbox engine clones for them.

The female voice is derived from en_US-joe-medium by Praat's Change gender, piece by piece: its median F0
(Praat's pitch tracker, an independent measure) must be clearly female and far above the male voice's,
and Whisper tiny.en must still understand all three (WER < 10 %).
"""

from __future__ import annotations

import numpy as np
import parselmouth
import pytest

from core.errors import NotFound
from core.tts import builtin_voices, codecs, effects
from core.tts.base import Audio, SynthesisOptions, VoiceSpec
from core.tts.chatterbox_wire import REFERENCE_CLIPS
from core.tts.piper import DEFAULT_VOICE_ID, PiperEngine
from tests.support.asr import transcribe, word_error_rate

TEXT = "A journey of a thousand miles begins with a single step. Please call me back this afternoon."
FEMALE_MIN_HZ = 165.0  # the bottom of the usual adult female speaking range
FEMALE_OVER_MALE = 1.5


def median_f0(audio: Audio) -> float:
    sound = parselmouth.Sound(audio.samples.astype(np.float64), sampling_frequency=audio.sample_rate)
    track = sound.to_pitch(time_step=0.01, pitch_floor=40.0, pitch_ceiling=600.0).selected_array["frequency"]
    return float(np.median(track[track > 0]))


@pytest.fixture(scope="module")
def engine() -> PiperEngine:
    return PiperEngine()


@pytest.fixture(scope="module")
def spoken(engine: PiperEngine) -> dict[str, Audio]:
    return {
        voice_id: engine.synthesize(TEXT, VoiceSpec(builtin_id=voice_id), SynthesisOptions())
        for voice_id in builtin_voices.ORIGINAL_IDS
    }


def test_original_ids_come_first_and_say_what_they_are(engine: PiperEngine) -> None:
    voices = engine.voices()
    assert [v.id for v in voices[:4]] == [*builtin_voices.ORIGINAL_IDS, DEFAULT_VOICE_ID]
    described = {v.id: v.description for v in voices}
    assert "en_US-joe-medium as shipped" in described["default"]
    assert "en_US-joe-medium as shipped" in described["male_default"]
    female = described["female_default"]
    assert "derived from Piper en_US-joe-medium" in female
    assert "Change gender: formant shift 1.2, pitch median 210 Hz" in female


def test_female_voice_is_clearly_higher_than_the_male(spoken: dict[str, Audio]) -> None:
    f0 = {voice_id: median_f0(audio) for voice_id, audio in spoken.items()}
    assert f0["female_default"] > FEMALE_MIN_HZ, f0
    assert f0["female_default"] > FEMALE_OVER_MALE * f0["male_default"], f0
    assert f0["default"] == pytest.approx(f0["male_default"], rel=0.1), f0  # the shipped voice, both


@pytest.mark.parametrize("voice_id", builtin_voices.ORIGINAL_IDS)
def test_every_original_voice_is_intelligible(spoken: dict[str, Audio], voice_id: str) -> None:
    audio = spoken[voice_id]
    assert audio.sample_rate == 22050
    heard = transcribe(codecs.encode(audio, "wav"))
    assert word_error_rate(TEXT, heard) < 0.1, heard


def test_female_voice_streams_piece_by_piece(engine: PiperEngine) -> None:
    """The gender change is applied to each model call's audio, so the stream still yields sentence by
    sentence, each piece already female."""
    chunks = list(engine.stream(TEXT, VoiceSpec(builtin_id="female_default"), SynthesisOptions()))
    assert len(chunks) == 2
    for chunk in chunks:
        assert median_f0(chunk) > FEMALE_MIN_HZ
        assert 0.5 < float(np.max(np.abs(chunk.samples))) <= 1.0


def test_female_voice_takes_speed_and_pitch(engine: PiperEngine, spoken: dict[str, Audio]) -> None:
    text = "Please call me back this afternoon."
    plain = engine.synthesize(text, VoiceSpec(builtin_id="female_default"), SynthesisOptions())
    changed = engine.synthesize(text, VoiceSpec(builtin_id="female_default"), SynthesisOptions(speed=1.5, pitch=0.8))
    # Piper's durations vary by a few percent between runs (measured up to 8 % here): 10 %, as for its own
    # voices in test_piper_engine.py.
    assert changed.duration == pytest.approx(plain.duration / 1.5, rel=0.1)
    assert median_f0(changed) == pytest.approx(0.8 * median_f0(plain), rel=0.1)


def test_our_own_ids_keep_working_and_unknown_ids_are_refused(engine: PiperEngine) -> None:
    audio = engine.synthesize("Hello there.", VoiceSpec(builtin_id=DEFAULT_VOICE_ID), SynthesisOptions())
    assert audio.duration > 0.3
    with pytest.raises(NotFound):
        engine.synthesize("Hello there.", VoiceSpec(builtin_id="female"), SynthesisOptions())


def test_change_gender_keeps_rate_length_and_peak() -> None:
    rate = 22050
    t = np.arange(rate) / rate
    voiced = Audio((0.5 * np.sign(np.sin(2 * np.pi * 100 * t))).astype(np.float32), rate)  # a 100 Hz buzz
    out = effects.change_gender(voiced, formant_shift=1.2, pitch_median_hz=210.0)
    assert (out.sample_rate, out.samples.size, str(out.samples.dtype)) == (rate, voiced.samples.size, "float32")
    assert float(np.max(np.abs(out.samples))) == pytest.approx(0.5, rel=1e-3)
    assert median_f0(out) == pytest.approx(210.0, rel=0.05)
    empty = Audio(np.zeros(0, dtype=np.float32), rate)
    assert effects.change_gender(empty, formant_shift=1.2, pitch_median_hz=210.0) is empty


def test_bundled_reference_clips_are_male_and_female() -> None:
    """What the Chatterbox engine clones for female_default and male_default (core/tts/voices/README.md)."""
    clips = {
        voice_id: codecs.decode((REFERENCE_CLIPS / f"{voice_id}.flac").read_bytes(), max_duration_s=60.0)
        for voice_id in (builtin_voices.FEMALE, builtin_voices.MALE)
    }
    for clip in clips.values():
        assert 5.0 <= clip.duration <= 10.0
    female, male = median_f0(clips["female_default"]), median_f0(clips["male_default"])
    assert female > FEMALE_MIN_HZ
    assert female > FEMALE_OVER_MALE * male
