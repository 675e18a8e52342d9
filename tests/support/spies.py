"""Spies: wrap a real callable so a test can see that (and with what) it was called.

Contract: `spy(calls, real, mark=None)` returns a callable that appends `mark` (or, when `mark` is None,
the first positional argument) to `calls`, then calls `real` with the same arguments and returns its
result. The real function always runs: a spy observes, it never replaces behaviour.
`piper_call_seconds(monkeypatch)` returns a list that grows by the seconds of audio each real Piper
(onnxruntime) model call makes, for as long as the test runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

R = TypeVar("R")


def spy(calls: list[Any], real: Callable[..., R], mark: Any = None) -> Callable[..., R]:
    def wrapper(*args: Any, **kwargs: Any) -> R:
        calls.append(mark if mark is not None else (args[0] if args else None))
        return real(*args, **kwargs)

    return wrapper


def piper_call_seconds(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    from piper import PiperVoice

    made: list[float] = []
    original = PiperVoice.phoneme_ids_to_audio

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        audio = original(self, *args, **kwargs)
        made.append(len(audio) / 22050)
        return audio

    monkeypatch.setattr(PiperVoice, "phoneme_ids_to_audio", counted)
    return made
