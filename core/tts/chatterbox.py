"""Resemble AI Chatterbox engine (chatterbox-tts): zero-shot voice cloning, 24 kHz, Perth-watermarked.

Contract:
- The model is `core.tts.chatterbox_checkpoint.load_model(checkpoint_dir, device=...)`: the checkpoint
  directory (None: the Hugging Face cache), T3's depth read from the checkpoint itself, `device="auto"`
  picking cuda, then mps, then cpu. It is loaded once, lazily, on first use (or by `load()`),
  thread-safe. Importing this module imports neither torch nor chatterbox. A missing or unreadable
  checkpoint raises `EngineUnavailable`; a failure during a job raises `EngineError`.
- Built-in voices: `chatterbox_wire.builtin_voices()`, shared with the RunPod proxy (as are the voice
  format and sample rate): `default` and `chatterbox-default` are the checkpoint's conds.pt (listed only
  when the checkpoint directory has one); `female_default` and `male_default` are conditionals prepared
  from the bundled reference clips (`chatterbox_wire.REFERENCE_CLIPS`), decoded and normalised as an
  uploaded voice is, once per engine, lazily, on first use (under the model lock).
- `prepare_voice(reference)` computes the speaker conditionals (what `prepare_conditionals` computes,
  from arrays) once and returns them as bytes in the same `torch.save` layout as chatterbox's
  `Conditionals.save` (a conds.pt file). A custom `VoiceSpec` with `conditionals` uses them and never
  reads its reference; with only a `reference`, the conditionals are prepared on the fly.
- Per request, exaggeration is written into a fresh copy of the T3 conditionals (`emotion_adv`), so the
  stored conditionals are never mutated. `seed` makes a call deterministic: the global torch RNG is
  seeded with `seed + chunk index` right before each chunk, under the model lock.
- Text is cut by `split_sentences(text, max_chars)`; one `generate()` per chunk; `stream()` yields
  each chunk as soon as it is generated; `synthesize()` is the concatenation of `stream()`.
- `estimate_seconds` is `core.tts.budget.chunked_seconds` over those chunks (prose rate, at most 40 s per
  call: generate() hard-codes 1000 speech tokens, the only per-call bound its API gives). A stream whose
  audio passes its estimate by more than `budget.allowed` stops with `EngineError` "audio_overrun" before
  the chunk that passes it is yielded.
- Options are checked against `core.tts.options` (bounds, defaults) before any model work
  (`ValidationFailed` "invalid_option"); exaggeration, cfg_weight and temperature go to `generate()`.
- speed and pitch are applied per chunk by `core.tts.effects.apply`; a pitch shift erases
  Perth's mark, so a changed chunk is watermarked again (until Perth reads it back, at most 3 passes).
- One job at a time per model: `generate()` mutates `model.conds`, so a lock is held per chunk
  (and while preparing a voice); concurrent streams interleave chunk by chunk.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import AppError, BadRequest, EngineError, EngineUnavailable, NotFound
from core.tts import codecs, effects
from core.tts import options as option_table
from core.tts.base import (
    Audio,
    BuiltinVoice,
    Capabilities,
    FloatArray,
    SynthesisOptions,
    VoiceSpec,
    concat,
)
from core.tts.budget import CHATTERBOX_CALL_CHARS, CHATTERBOX_CALL_SECONDS, AudioBudget, chunked_seconds
from core.tts.chatterbox_checkpoint import dump_conditionals, load_conditionals, load_model
from core.tts.chatterbox_wire import (
    CLIP_VOICES,
    REFERENCE_CLIPS,
    SAMPLE_RATE,
    VOICE_FORMAT,
    builtin_voices,
)
from core.tts.text import split_sentences

log = logging.getLogger(__name__)

MAX_CHARS = CHATTERBOX_CALL_CHARS
BUILTIN_CONDS = "conds.pt"
# Joining chunks: every chunk already starts from silence (S3Gen zeroes its first 20 ms and fades in
# over the next 20 ms), and chunk boundaries are sentence ends, where a short pause is natural. So a
# chunk's tail gets a 5 ms cosine fade-out and a 50 ms pause follows it. A crossfade would instead
# overlap the end of one sentence with the start of the next.
_FADE_S = 0.005
_PAUSE_S = 0.05
_REMARK_PASSES = 3
_DETECTED = 0.9  # Perth's detector reads ~1.0 on marked speech, ~0 on unmarked


class ChatterboxEngine:
    def __init__(
        self, checkpoint_dir: str | Path | None = None, *, device: str = "auto", max_chars: int = MAX_CHARS
    ) -> None:
        self._checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir is not None else None
        self._device_preference = device
        self._model: Any = None
        self._builtin: Any = None  # conds.pt; model.conds itself is overwritten by every job
        self._clip_conds: dict[str, Any] = {}  # CLIP_VOICES' conditionals, prepared on first use
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._capabilities = Capabilities(
            name="chatterbox",
            can_clone=True,
            sample_rate=SAMPLE_RATE,
            max_chars=max_chars,
            options=option_table.honoured_by("chatterbox"),
            voice_format=VOICE_FORMAT,
        )

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def voices(self) -> list[BuiltinVoice]:
        if self._checkpoint_dir is not None and not (self._checkpoint_dir / BUILTIN_CONDS).is_file():
            return [voice for voice in builtin_voices() if voice.id in CLIP_VOICES]
        return builtin_voices()

    def load(self) -> Any:
        """Load the model now if it is not loaded yet (warm-up); returns the `ChatterboxTTS`."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    model = load_model(self._checkpoint_dir, device=self._device_preference)
                    self._builtin = model.conds
                    self._model = model
        return self._model

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        max_chars = self._capabilities.max_chars
        return chunked_seconds(text, options, max_chars=max_chars, call_seconds=CHATTERBOX_CALL_SECONDS)

    def prepare_voice(self, reference: Audio) -> bytes:
        samples = np.asarray(reference.samples, dtype=np.float32).reshape(-1)
        if samples.size == 0 or not np.isfinite(samples).all() or reference.sample_rate <= 0:
            raise BadRequest("the reference clip is empty or not a valid signal", code="invalid_reference")
        model = self.load()
        with self._run_lock, _job_errors():
            conds = self._conditionals_from_reference(model, samples, reference.sample_rate)
        return dump_conditionals(conds)

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        return concat(self.stream(text, voice, options), SAMPLE_RATE)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        option_table.check(options, engine="chatterbox")
        available = [v.id for v in self.voices()]
        if voice.builtin_id is not None and voice.builtin_id not in available:
            self.load()  # an unloadable checkpoint answers first (503), before an unknown voice (404)
        _check_voice(voice, available)
        pieces = split_sentences(text, self._capabilities.max_chars)
        if not pieces:
            return iter(())
        model = self.load()
        budget = AudioBudget(self.estimate_seconds(text, options))
        return self._chunks(model, pieces, self._base_conditionals(model, voice), options, budget)

    def _base_conditionals(self, model: Any, voice: VoiceSpec) -> Any:
        if voice.conditionals is not None:
            return load_conditionals(voice.conditionals, model.device)
        if voice.reference is not None:
            samples = np.asarray(voice.reference.samples, dtype=np.float32).reshape(-1)
            rate = voice.reference.sample_rate
            with self._run_lock, _job_errors():
                return self._conditionals_from_reference(model, samples, rate)
        if voice.builtin_id in CLIP_VOICES:
            return self._clip_conditionals(model, voice.builtin_id)
        if self._builtin is None:
            raise EngineUnavailable("this Chatterbox checkpoint has no built-in voice (conds.pt)")
        return self._builtin

    def _clip_conditionals(self, model: Any, voice_id: str) -> Any:
        """The conditionals of a built-in voice made from a bundled clip, prepared once."""
        with self._run_lock:
            if voice_id not in self._clip_conds:
                path = REFERENCE_CLIPS / f"{voice_id}.flac"
                try:
                    clip = codecs.decode(path.read_bytes(), max_duration_s=60.0, rate=codecs.REFERENCE_RATE)
                except (OSError, AppError) as exc:
                    raise EngineUnavailable(f"the reference clip of built-in voice {voice_id!r} is unreadable") from exc
                reference = codecs.normalize_reference(clip)
                with _job_errors():
                    self._clip_conds[voice_id] = self._conditionals_from_reference(
                        model, reference.samples, reference.sample_rate
                    )
            return self._clip_conds[voice_id]

    def _chunks(
        self, model: Any, pieces: list[str], base: Any, options: SynthesisOptions, budget: AudioBudget
    ) -> Iterator[Audio]:
        conds = _with_exaggeration(base, options.exaggeration, model.device)
        for index, piece in enumerate(pieces):
            with self._run_lock, _job_errors():
                audio = Audio(self._generate(model, conds, piece, options, index), SAMPLE_RATE)
            if options.speed != 1.0 or options.pitch != 1.0:
                with _job_errors():
                    audio = effects.apply(audio, speed=options.speed, pitch=options.pitch)
                    audio = _rewatermark(model.watermarker, audio)
            budget.spend(audio.duration)
            yield _joinable(audio, pause=index < len(pieces) - 1, speed=options.speed)

    @staticmethod
    def _generate(model: Any, conds: Any, text: str, options: SynthesisOptions, index: int) -> FloatArray:
        import torch

        if options.seed is None:
            torch.seed()  # never continue a previous caller's seeded sequence
        else:
            torch.manual_seed((options.seed + index) % 2**63)
        model.conds = conds  # generate() reads (and may replace) model.conds: hence the lock
        wav = model.generate(
            text, exaggeration=options.exaggeration, cfg_weight=options.cfg_weight, temperature=options.temperature
        )
        return _as_samples(wav)

    @staticmethod
    def _conditionals_from_reference(model: Any, samples: FloatArray, rate: int) -> Any:
        """What `ChatterboxTTS.prepare_conditionals` computes, from an array instead of a file."""
        import librosa
        import torch
        from chatterbox.models.s3gen import S3GEN_SR
        from chatterbox.models.s3tokenizer import S3_SR
        from chatterbox.models.t3.modules.cond_enc import T3Cond
        from chatterbox.tts import Conditionals

        wav24 = samples if rate == S3GEN_SR else librosa.resample(samples, orig_sr=rate, target_sr=S3GEN_SR)
        wav16 = librosa.resample(wav24, orig_sr=S3GEN_SR, target_sr=S3_SR)
        with torch.inference_mode():
            gen = model.s3gen.embed_ref(wav24[: model.DEC_COND_LEN], S3GEN_SR, device=model.device)
            prompt_len = model.t3.hp.speech_cond_prompt_len
            tokens, _ = model.s3gen.tokenizer.forward([wav16[: model.ENC_COND_LEN]], max_len=prompt_len)
            speaker = torch.from_numpy(model.ve.embeds_from_wavs([wav16], sample_rate=S3_SR))
            t3 = T3Cond(
                speaker_emb=speaker.mean(dim=0, keepdim=True),
                cond_prompt_speech_tokens=tokens.reshape(1, -1),
                emotion_adv=0.5 * torch.ones(1, 1, 1),
            ).to(device=model.device)
        return Conditionals(t3, gen)


@contextlib.contextmanager
def _job_errors() -> Iterator[None]:
    """Let `AppError`s through; turn any other failure inside the model into `EngineError`."""
    try:
        yield
    except AppError:
        raise
    except Exception as exc:
        raise EngineError(f"chatterbox synthesis failed: {exc}") from exc


def _with_exaggeration(base: Any, exaggeration: float, device: str) -> Any:
    """A per-request copy of `base` with `emotion_adv` set; `base` itself is never mutated."""
    import torch
    from chatterbox.models.t3.modules.cond_enc import T3Cond
    from chatterbox.tts import Conditionals

    t3 = T3Cond(
        speaker_emb=base.t3.speaker_emb,
        cond_prompt_speech_tokens=base.t3.cond_prompt_speech_tokens,
        emotion_adv=float(exaggeration) * torch.ones(1, 1, 1),
    ).to(device=device)
    return Conditionals(t3, dict(base.gen))  # S3Gen re-casts ref_dict entries in place: copy the dict


def _rewatermark(watermarker: Any, audio: Audio) -> Audio:
    """Mark audio whose mark post-processing erased; repeat until Perth reads it (one pass may not do)."""
    samples = audio.samples
    for _ in range(_REMARK_PASSES):
        samples = _as_samples(watermarker.apply_watermark(samples, sample_rate=SAMPLE_RATE))
        if float(watermarker.get_watermark(samples, sample_rate=SAMPLE_RATE, round=False)) >= _DETECTED:
            break
    else:
        log.warning("Perth watermark not detected after %d passes", _REMARK_PASSES)
    return Audio(samples, SAMPLE_RATE)


def _as_samples(wav: Any) -> FloatArray:
    array = wav.detach().cpu().numpy() if hasattr(wav, "detach") else np.asarray(wav)
    return np.clip(np.asarray(array, dtype=np.float32).reshape(-1), -1.0, 1.0)


def _joinable(audio: Audio, *, pause: bool, speed: float) -> Audio:
    samples = audio.samples.copy()
    fade = min(len(samples), int(_FADE_S * SAMPLE_RATE))
    if fade:
        samples[-fade:] *= (0.5 + 0.5 * np.cos(np.linspace(0.0, np.pi, fade))).astype(np.float32)
    if pause:
        samples = np.concatenate([samples, np.zeros(int(_PAUSE_S * SAMPLE_RATE / speed), dtype=np.float32)])
    return Audio(samples, SAMPLE_RATE)


def _check_voice(voice: VoiceSpec, available: list[str]) -> None:
    if voice.is_custom:
        if voice.conditionals is None and voice.reference is None:
            message = "a custom voice needs its prepared conditionals or its reference clip"
            raise BadRequest(message, code="invalid_voice")
    elif voice.builtin_id not in available:
        raise NotFound(
            f"unknown chatterbox voice {voice.builtin_id!r}; available: {', '.join(available)}",
            code="voice_not_found",
            details={"voice": voice.builtin_id, "available": available},
        )
