"""What a request costs in audio seconds, and the guard that holds an engine to its own estimate.

Contract:
- `chunked_seconds(text, options, max_chars=..., call_seconds=...)` is the estimate of engines that speak a
  text in chunks of at most `max_chars` (cut by `split_sentences`), one model call per chunk, a call giving
  at most `call_seconds`: each chunk counts as ordinary prose (`PROSE_CHARS_PER_SECOND`), capped at
  `call_seconds`; the sum is divided by `options.speed`. Chatterbox and the runpod proxy use it with
  `CHATTERBOX_CALL_CHARS` and `CHATTERBOX_CALL_SECONDS` (generate() stops at 1000 speech tokens = 40 s).
- `AudioBudget(estimate)` counts the audio one job has produced; `spend(seconds)` raises `EngineError`
  (502, code "audio_overrun", details {produced_seconds, estimated_seconds, allowed_seconds}) as soon as the
  total passes `allowed(estimate)` = estimate x OVERRUN_FACTOR + OVERRUN_SLACK_S, so the chunk that passes
  it is never handed out. An overrun is the engine breaking its own estimate (a model that does not stop,
  an estimate that is wrong), not a request the caller could have known to be bad: hence a 5xx.
- `check_audio_length(estimated, limit=..., speed=...)` refuses a request estimated above `limit` seconds
  (MAX_AUDIO_SECONDS_PER_REQUEST): `ValidationFailed` (422, code "audio_too_long", details
  {estimated_seconds, limit_seconds}).
- Importing this module imports neither numpy nor any model library.
"""

from __future__ import annotations

from core.errors import EngineError, ValidationFailed
from core.tts.base import PROSE_CHARS_PER_SECOND, SynthesisOptions
from core.tts.text import split_sentences

CHATTERBOX_CALL_CHARS = 300  # Chatterbox's quality drops past ~300 characters per generate() call
CHATTERBOX_TOKENS_PER_SECOND = 25
CHATTERBOX_MAX_TOKENS = 1000  # hard-coded in ChatterboxTTS.generate() (chatterbox-tts 0.1.7)
CHATTERBOX_CALL_SECONDS = CHATTERBOX_MAX_TOKENS / CHATTERBOX_TOKENS_PER_SECOND
OVERRUN_FACTOR = 1.5
OVERRUN_SLACK_S = 5.0


def chunked_seconds(text: str, options: SynthesisOptions, *, max_chars: int, call_seconds: float) -> float:
    """Seconds of audio `text` is expected to give, chunk by chunk (see the module contract)."""
    pieces = split_sentences(text, max_chars)
    return sum(min(call_seconds, len(piece) / PROSE_CHARS_PER_SECOND) for piece in pieces) / options.speed


def check_audio_length(estimated: float, *, limit: float, speed: float) -> None:
    """Refuse a request whose estimated audio passes `limit` seconds (see the module contract)."""
    if estimated > limit:
        raise ValidationFailed(
            f"text: about {estimated:.0f} s of audio at speed {speed:g}; the limit is {limit:g} s per request",
            code="audio_too_long",
            details={"estimated_seconds": round(estimated, 1), "limit_seconds": limit},
        )


def allowed(estimate: float) -> float:
    """The most audio a job estimated at `estimate` seconds may produce before it is stopped."""
    return estimate * OVERRUN_FACTOR + OVERRUN_SLACK_S


class AudioBudget:
    """The running total of one job's audio against its estimate (see the module contract)."""

    def __init__(self, estimate: float) -> None:
        self.estimate = estimate
        self.allowed = allowed(estimate)
        self.produced = 0.0

    def spend(self, seconds: float) -> None:
        total = self.produced + seconds
        if total > self.allowed:
            details = {
                "produced_seconds": round(total, 2),
                "estimated_seconds": round(self.estimate, 2),
                "allowed_seconds": round(self.allowed, 2),
            }
            message = (
                f"the engine produced {total:.1f} s of audio for a text estimated at {self.estimate:.1f} s "
                f"(at most {self.allowed:.1f} s allowed); synthesis stopped"
            )
            raise EngineError(message, code="audio_overrun", details=details)
        self.produced = total
