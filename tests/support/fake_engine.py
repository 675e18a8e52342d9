"""A test double for the speech engine (the `core.tts.base.Engine` protocol), with seams for tests.

Why a double: no real engine fails, pauses or counts its calls on demand, and tests of what the service
does around the engine (refunds, charging what a dropped stream delivered, orphans after an account is
deleted mid-job) need exactly that. Where the engine's own behaviour matters (voices, cloning, audio
quality, memory), tests use the real Piper and Chatterbox engines instead.

Contract:
- It is a whole engine: `capabilities`, `voices`, `estimate_seconds`, `synthesize`, `stream` and
  `prepare_voice`, thread-safe. The audio is real: a 220 Hz tone at `sample_rate`, as long as the
  engine's own estimate of the text (`prose_seconds`: characters / 14 per second, divided by speed), so
  every downstream step (codecs, metering, the audio budget) works on it as on a real engine's output.
- `stream` yields one chunk per sentence of the text it is given; `synthesize` is the same chunks
  joined. `max_chars` is advertised in `capabilities` (the service cuts texts into pieces of it).
- Seams (all optional; counts are 1-based and over the engine's lifetime):
  `fail_from_call=n`: every synthesize/stream call from the n-th on raises `EngineError` before any
  audio (n=1: a broken engine); `fail_after_chunks=n`: after n chunks in all, the next chunk raises;
  `fail_on_text=s`: a sentence containing `s` raises, after the sentences before it were yielded;
  `gate` (an Event): each call waits until it is set; `permits` (a Semaphore): each call takes one.
  A call that waits more than `wait_s` for either raises `EngineError` (a test that forgot to open).
  `entered` is released once per call as it enters (before any wait), so a test can wait until n jobs
  are inside the engine; `calls`, `chunks` and `prepared` count what happened.
- `EngineSeam` (the `install_engine` fixture of tests/conftest.py) puts any engine in place through the
  public `runtime.use_engine` until the test ends: no test writes the runtime's private state.
- `can_clone=True` makes `prepare_voice` return bytes derived from the reference clip (format "fake");
  otherwise it raises `CloningUnsupported`, as Piper does.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from typing import TypeVar

import numpy as np

from core import runtime
from core.errors import EngineError
from core.tts import builtin_voices
from core.tts.base import (
    Audio,
    BuiltinVoice,
    Capabilities,
    CloningUnsupported,
    Engine,
    SynthesisOptions,
    VoiceSpec,
    concat,
    prose_seconds,
)

# Named like every engine's default voice (core.tts.builtin_voices), which requests get when they name none.
VOICE = BuiltinVoice(id=builtin_voices.DEFAULT, name="Tone", description="A 220 Hz tone (test double)")
VOICE_FORMAT = "fake"
TONE_HZ = 220.0
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
AnyEngine = TypeVar("AnyEngine", bound=Engine)


class EngineSeam:
    """Calling it with an engine puts that engine in place (`runtime.use_engine`) until its stack closes."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def __call__(self, engine: AnyEngine) -> AnyEngine:
        self._stack.enter_context(runtime.use_engine(engine))
        return engine


class FakeEngine:
    """A typed, configurable engine for tests (see the module docstring for the seams)."""

    def __init__(
        self,
        *,
        name: str = "fake",
        sample_rate: int = 22050,
        max_chars: int = 400,
        can_clone: bool = False,
        fail_from_call: int | None = None,
        fail_after_chunks: int | None = None,
        fail_on_text: str | None = None,
        error: str = "Speech engine failed: out of memory",
        gate: threading.Event | None = None,
        permits: threading.Semaphore | None = None,
        wait_s: float = 60.0,
    ) -> None:
        self._capabilities = Capabilities(
            name=name,
            can_clone=can_clone,
            sample_rate=sample_rate,
            max_chars=max_chars,
            voice_format=VOICE_FORMAT if can_clone else None,
        )
        self.fail_from_call, self.fail_after_chunks, self.fail_on_text = fail_from_call, fail_after_chunks, fail_on_text
        self.error, self.gate, self.permits, self.wait_s = error, gate, permits, wait_s
        self.entered = threading.Semaphore(0)
        self.calls = self.chunks = self.prepared = 0
        self._lock = threading.Lock()

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def voices(self) -> list[BuiltinVoice]:
        return [VOICE]

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        return prose_seconds(text, options)

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        return concat(self._job(text, options), self._capabilities.sample_rate)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        return self._job(text, options)

    def prepare_voice(self, reference: Audio) -> bytes:
        if not self._capabilities.can_clone:
            raise CloningUnsupported(f"engine '{self._capabilities.name}' cannot clone voices")
        with self._lock:
            self.prepared += 1
        samples = np.asarray(reference.samples, dtype=np.float32).tobytes()
        return VOICE_FORMAT.encode() + hashlib.sha256(samples).digest()

    def tone(self, text: str, options: SynthesisOptions) -> Audio:
        """The audio this engine makes for one sentence (tests compare against it)."""
        rate = self._capabilities.sample_rate
        t = np.arange(max(1, round(prose_seconds(text, options) * rate))) / rate
        return Audio((0.3 * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32), rate)

    def _job(self, text: str, options: SynthesisOptions) -> Iterator[Audio]:
        """Counts and holds the call at once (not at the first `next`), then yields its chunks."""
        with self._lock:
            self.calls += 1
            call = self.calls
        self.entered.release()
        if self.gate is not None and not self.gate.wait(self.wait_s):
            raise EngineError("the test never opened the engine's gate")
        if self.permits is not None and not self.permits.acquire(timeout=self.wait_s):
            raise EngineError("the test never gave the engine a permit")
        if self.fail_from_call is not None and call >= self.fail_from_call:
            raise EngineError(self.error)
        return self._chunks(text, options)

    def _chunks(self, text: str, options: SynthesisOptions) -> Iterator[Audio]:
        for sentence in (s for s in _SENTENCE.split(text.strip()) if s):
            with self._lock:
                failing = self.fail_after_chunks is not None and self.chunks >= self.fail_after_chunks
                if not failing:
                    self.chunks += 1
            if failing or (self.fail_on_text is not None and self.fail_on_text in sentence):
                raise EngineError(self.error)
            yield self.tone(sentence, options)
