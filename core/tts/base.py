"""The speech engine protocol shared by piper, chatterbox and the runpod proxy.

Contract:
- `Audio` is mono float32 samples in [-1, 1] plus a sample rate.
- `Engine.synthesize(text, voice, options)` returns the whole utterance; `stream(...)` yields it
  chunk by chunk, as each model call (or worker job) ends (same samples once concatenated, up to the
  join). Any text may be passed: the engine cuts it into model calls itself. `capabilities.max_chars`
  is the size of piece a caller that works piece by piece (`core.services.streams`) cuts a text into:
  one model call on chatterbox, one worker job on runpod; piper cuts its calls by seconds of phonemes.
- `options` is a `SynthesisOptions` (`core.tts.options`, the one table of option bounds, defaults and
  the engines that honour each); an engine refuses an out-of-range value before any model work
  (`options.check`: `ValidationFailed` "invalid_option"). `capabilities.options` lists the engine
  options (beyond speed and pitch, which every engine honours) the engine uses; the others are ignored.
- `voice` is a `VoiceSpec`: a built-in voice id, or a custom voice given by its prepared
  conditionals (bytes from `prepare_voice`) and/or its normalized reference clip.
- `prepare_voice(reference)` computes what a cloning engine needs from a reference clip once, when
  the voice is created (bytes, stored as a blob). Engines that cannot clone raise `CloningUnsupported`.
- Engines raise `core.errors.EngineError` (the job failed) or `EngineUnavailable` (cannot run now);
  never anything else for an engine-side failure.
- Engines are thread-safe: an engine whose model cannot serve two jobs at once serialises them.
- `estimate_seconds(text, options)` is the engine's cheap estimate, made before any model work, of
  how many seconds of audio `text` gives at `options` (speed included): what a request costs, checked
  against MAX_AUDIO_SECONDS_PER_REQUEST before any engine work. Each engine bounds the audio of one model
  call and stops a job whose audio passes its own estimate by more than `core.tts.budget.allowed`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from core.errors import BadRequest
from core.tts.options import SynthesisOptions as SynthesisOptions  # the options table; re-exported here

if TYPE_CHECKING:  # numpy is imported where samples are made, not by the light handlers at import
    import numpy as np
    import numpy.typing as npt

    FloatArray = npt.NDArray[np.float32]


def __getattr__(name: str) -> object:
    """`FloatArray` at run time, for modules that use it outside annotations (imports numpy then)."""
    if name == "FloatArray":
        import numpy as np
        import numpy.typing as npt

        return npt.NDArray[np.float32]
    raise AttributeError(name)


@dataclass(frozen=True)
class Audio:
    samples: FloatArray
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / float(self.sample_rate)


@dataclass(frozen=True)
class BuiltinVoice:
    id: str
    name: str
    language: str = "en-US"
    description: str = ""


@dataclass(frozen=True)
class VoiceSpec:
    """What to speak with: a built-in voice id, or a custom voice's prepared data."""

    builtin_id: str | None = None
    conditionals: bytes | None = None
    reference: Audio | None = None

    @property
    def is_custom(self) -> bool:
        return self.builtin_id is None


@dataclass(frozen=True)
class Capabilities:
    name: str
    can_clone: bool
    sample_rate: int
    max_chars: int  # the piece size for callers that cut texts (see the module contract)
    options: tuple[str, ...] = ()  # the engine options it honours: `core.tts.options.honoured_by(name)`
    # Format of prepare_voice() output; engines sharing it reuse each other's prepared voices
    # (the chatterbox engine and the runpod proxy to a chatterbox worker). None: cannot clone.
    voice_format: str | None = None


PROSE_CHARS_PER_SECOND = 14.0  # ordinary English prose read aloud at speed 1.0


def prose_seconds(text: str, options: SynthesisOptions) -> float:
    """Seconds of audio `text` takes when read like ordinary prose at `options.speed`."""
    return len(text) / PROSE_CHARS_PER_SECOND / options.speed


def concat(chunks: Iterable[Audio], sample_rate: int) -> Audio:
    """One Audio from a stream of chunks at `sample_rate` (empty when there are none)."""
    import numpy as np

    parts = [np.asarray(chunk.samples, dtype=np.float32).reshape(-1) for chunk in chunks]
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return Audio(samples, sample_rate)


class CloningUnsupported(BadRequest):
    code = "cloning_unsupported"


@runtime_checkable
class Engine(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...

    def voices(self) -> list[BuiltinVoice]: ...

    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio: ...

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]: ...

    def prepare_voice(self, reference: Audio) -> bytes: ...

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float: ...
