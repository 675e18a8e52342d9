"""Piper neural TTS engine (onnxruntime on CPU) with built-in voices only.

Contract:
- Voices: `core.tts.piper_voices.discover(voices_dir)` (the original ids `default`, `female_default`,
  `male_default` first, all from the bundled en_US-joe-medium, then that voice under its own id, then
  the voices found in `voices_dir`), read when the engine is built. `female_default` is derived by
  Praat's Change gender (`core.tts.effects.change_gender`, `builtin_voices.GENDER_CHANGE`) applied to
  each model call's audio as Piper produces it, so streaming and the per-call memory bound are
  unchanged. Each model file is loaded on first use, once (shared by the ids made from it), thread-safe.
  Importing this module imports neither piper nor onnxruntime.
- `stream()` phonemizes the whole text with the voice's own phonemizer (espeak-ng through piper), cuts
  each sentence into model calls whose estimated audio is at most MAX_CALL_SECONDS
  (`core.tts.piper_phonemes.blocks`: at clause marks, then spaces, then hard) and yields one `Audio` per
  call as Piper produces it; `synthesize()` concatenates the same chunks. Text with nothing to speak
  gives no chunk / empty audio. Each call's audio peaks at about -1 dBFS (normalised per call, as Piper does).
- `estimate_seconds(text, options)` phonemizes the text (no model run, a few ms per 1,000 characters)
  with the first voice's phonemizer (the bundled one) and applies `piper_phonemes.seconds`, scaled by the
  voice's length_scale and divided by speed. A stream whose audio passes its own estimate (for the voice
  used) by more than `core.tts.budget.allowed` stops with `EngineError` "audio_overrun".
- Memory: each voice's onnxruntime session grows its CPU arena only as requested and shrinks it after
  every call (run option memory.enable_memory_arena_shrinkage), and the C heap is then trimmed (glibc
  `malloc_trim`), so a call's peak (~20 MB per second of audio it produces) is given back; with
  MAX_CALL_SECONDS that peak is bounded whatever the text. (Measured: the default arena keeps the peak of
  the largest call forever; arena off costs ~19 % more CPU and peaks higher than a shrinking arena.)
- speed and pitch (ranges in `core.tts.options`, `ValidationFailed` otherwise) are applied per chunk with
  `core.tts.effects.apply` (PSOLA), so speed is exact. Piper's own length_scale is not used: measured
  on en_US-joe-medium, length_scale 1/2 gives only 1.55x and length_scale 2 only 0.58x, and
  Whisper understood it no better than PSOLA output.
- Unknown voice ids raise `NotFound` (code "voice_not_found"); custom voices and `prepare_voice` raise
  `CloningUnsupported`; failures inside Piper raise `EngineError`.
- Model calls are serialised by one engine-wide lock, held per call, so one call's peak memory is the
  most the engine holds at once and concurrent streams interleave call by call.
"""

from __future__ import annotations

import ctypes
import functools
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import AppError, EngineError, NotFound
from core.tts import builtin_voices
from core.tts import options as option_table
from core.tts.base import (
    Audio,
    BuiltinVoice,
    Capabilities,
    CloningUnsupported,
    SynthesisOptions,
    VoiceSpec,
    concat,
)
from core.tts.budget import AudioBudget
from core.tts.piper_phonemes import blocks, seconds
from core.tts.piper_voices import DEFAULT_VOICE_ID as DEFAULT_VOICE_ID  # re-exported
from core.tts.piper_voices import VoiceFiles, discover
from core.tts.text import normalize

log = logging.getLogger(__name__)

MAX_CHARS = 400  # advertised in capabilities; calls are cut by MAX_CALL_SECONDS of phonemes instead
# Estimated audio per onnxruntime call: a call's peak memory grows ~20 MB per second of audio it makes,
# so 8 s keeps a call under ~+170 MB (ordinary sentences are shorter; longer ones are cut at clauses).
MAX_CALL_SECONDS = 8.0
_PEAK = 0.89  # -1 dBFS: room for lossy codecs' overshoot
_CLONING_MESSAGE = "engine 'piper' cannot clone voices; use TTS_ENGINE=chatterbox or runpod"


class PiperEngine:
    def __init__(self, voices_dir: Path | None = None) -> None:
        self._voices = discover(voices_dir)
        self._loaded: dict[str, Any] = {}
        self._phonemizers: dict[str, Any] = {}
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._capabilities = Capabilities(
            name="piper",
            can_clone=False,
            sample_rate=22050,
            max_chars=MAX_CHARS,
            options=option_table.honoured_by("piper"),
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def voices(self) -> list[BuiltinVoice]:
        return [files.info for files in self._voices.values()]

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        if not self._voices:
            return 0.0
        files = next(iter(self._voices.values()))
        return self._estimate(files, self._phonemize(files, text)) / options.speed

    @staticmethod
    def _estimate(files: VoiceFiles, sentences: list[list[str]]) -> float:
        return seconds(sentences) * files.length_scale

    def _phonemize(self, files: VoiceFiles, text: str) -> list[list[str]]:
        """The text's phonemes per sentence, with the voice's phonemizer; no model is loaded for it."""
        clean = normalize(text)
        if not clean:
            return []
        voice = self._loaded.get(files.key) or self._phonemizer(files)
        try:
            return [list(sentence) for sentence in voice.phonemize(clean)]
        except Exception as exc:
            raise EngineError(f"piper could not phonemize the text: {exc}") from exc

    def _phonemizer(self, files: VoiceFiles) -> Any:
        """A PiperVoice without an onnxruntime session: phonemize() reads only its config."""
        voice_id = files.info.id
        with self._load_lock:
            if files.key not in self._phonemizers:
                try:
                    from piper import PiperVoice
                    from piper.config import PiperConfig

                    config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
                    self._phonemizers[files.key] = PiperVoice(session=None, config=config)
                except Exception as exc:
                    raise EngineError(f"could not load piper voice {voice_id!r}: {exc}") from exc
            return self._phonemizers[files.key]

    def prepare_voice(self, reference: Audio) -> bytes:
        raise CloningUnsupported(_CLONING_MESSAGE)

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        files = self._files(voice)
        return concat(self.stream(text, voice, options), files.sample_rate)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        files = self._files(voice)
        option_table.check(options, engine="piper")
        return self._chunks(files, text, options)

    def _files(self, voice: VoiceSpec) -> VoiceFiles:
        if voice.is_custom:
            raise CloningUnsupported(_CLONING_MESSAGE)
        voice_id = voice.builtin_id or ""
        try:
            return self._voices[voice_id]
        except KeyError:
            raise NotFound(
                f"unknown piper voice {voice_id!r}; available: {', '.join(self._voices)}",
                code="voice_not_found",
                details={"voice": voice_id, "available": list(self._voices)},
            ) from None

    def _model(self, files: VoiceFiles) -> Any:
        voice_id = files.info.id
        with self._load_lock:
            if files.key not in self._loaded:
                try:
                    self._loaded[files.key] = _load_voice(files)
                except Exception as exc:
                    raise EngineError(f"could not load piper voice {voice_id!r}: {exc}") from exc
            return self._loaded[files.key]

    def _chunks(self, files: VoiceFiles, text: str, options: SynthesisOptions) -> Iterator[Audio]:
        import numpy as np

        from core.tts import effects

        sentences = self._phonemize(files, text)
        if not sentences:
            return
        model = self._model(files)
        budget = AudioBudget(self._estimate(files, sentences))
        neutral = options.speed == 1.0 and options.pitch == 1.0
        try:
            from piper import SynthesisConfig

            config = SynthesisConfig()
            for block in blocks(sentences, MAX_CALL_SECONDS * files.length_scale):
                ids = model.phonemes_to_ids(block)
                with self._run_lock:
                    try:  # a copy, so that onnxruntime's output buffer is freed before the heap is trimmed
                        samples = np.array(model.phoneme_ids_to_audio(ids, config), dtype=np.float32).reshape(-1)
                    finally:
                        _trim_heap()
                budget.spend(len(samples) / files.sample_rate)
                peak = float(np.max(np.abs(samples))) if samples.size else 0.0
                # Piper's own normalisation, with headroom for lossy codecs' overshoot
                samples = np.clip(samples * (_PEAK / peak), -1.0, 1.0) if peak > 1e-8 else np.zeros_like(samples)
                audio = Audio(samples.astype(np.float32, copy=False), files.sample_rate)
                if files.female and peak > 1e-8:
                    audio = effects.change_gender(
                        audio,
                        formant_shift=builtin_voices.FORMANT_SHIFT,
                        pitch_median_hz=builtin_voices.PITCH_MEDIAN_HZ,
                    )
                yield audio if neutral else effects.apply(audio, speed=options.speed, pitch=options.pitch)
        except AppError:
            raise
        except Exception as exc:
            raise EngineError(f"piper synthesis failed: {exc}") from exc


def _load_voice(files: VoiceFiles) -> Any:
    """PiperVoice.load, but with an onnxruntime arena that is given back after every call."""
    import onnxruntime
    from piper import PiperVoice
    from piper.config import PiperConfig

    cpu = ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})
    session = onnxruntime.InferenceSession(str(files.model), providers=[cpu])
    config = PiperConfig.from_dict(json.loads(files.config.read_text(encoding="utf-8")))
    return PiperVoice(session=_ShrinkingSession(session), config=config)


class _ShrinkingSession:
    """The InferenceSession as PiperVoice calls it (`run(outputs, feeds)`), shrinking the arena after each run."""

    def __init__(self, session: Any) -> None:
        import onnxruntime

        self.session = session
        self.options = onnxruntime.RunOptions()
        self.options.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")

    def run(self, output_names: Any, input_feed: Any) -> Any:
        return self.session.run(output_names, input_feed, self.options)


def _trim_heap() -> None:
    """Give freed C heap back to the system (glibc keeps it otherwise); a no-op elsewhere."""
    trim = _libc_trim()
    if trim is not None:
        trim(0)


@functools.cache
def _libc_trim() -> Any:
    try:
        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None
