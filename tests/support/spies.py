"""Spies: wrap a real callable so a test can see that (and with what) it was called.

Contract: `spy(calls, real, mark=None)` returns a callable that appends `mark` (or, when `mark` is None,
the first positional argument) to `calls`, then calls `real` with the same arguments and returns its
result. The real function always runs: a spy observes, it never replaces behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

R = TypeVar("R")


def spy(calls: list[Any], real: Callable[..., R], mark: Any = None) -> Callable[..., R]:
    def wrapper(*args: Any, **kwargs: Any) -> R:
        calls.append(mark if mark is not None else (args[0] if args else None))
        return real(*args, **kwargs)

    return wrapper
