"""Process-wide lazy singletons: the store, the blob store and the speech engine.

Contract: each is built from `get_settings()` on first use and then reused for the life of the
process (a Lambda container, the local server). Nothing expensive happens at import. `reset()`
drops them all (tests, or after changing settings). `use_engine(engine)` puts a given engine in place
for the length of a `with` block and then restores the one before it (tests, benchmarks); it is the
one public way to replace the engine, so nothing outside this module touches its private state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from core.config import get_settings, reset_settings
from core.storage import BlobStore, KVStore, make_blobs, make_store
from core.tts import make_engine

if TYPE_CHECKING:
    from core.tts.base import Engine

_lock = threading.Lock()
_store: KVStore | None = None
_blobs: BlobStore | None = None
_engine: Engine | None = None


def store() -> KVStore:
    global _store
    if _store is None:
        with _lock:
            if _store is None:
                _store = make_store(get_settings())
    return _store


def blobs() -> BlobStore:
    global _blobs
    if _blobs is None:
        with _lock:
            if _blobs is None:
                _blobs = make_blobs(get_settings())
    return _blobs


def engine() -> Engine:
    global _engine
    if _engine is None:
        with _lock:
            if _engine is None:
                _engine = make_engine(get_settings())
    return _engine


@contextmanager
def use_engine(replacement: Engine) -> Iterator[Engine]:
    """`engine()` is `replacement` inside the block; the previous engine (or none) is restored after."""
    global _engine
    with _lock:
        previous, _engine = _engine, replacement
    try:
        yield replacement
    finally:
        with _lock:
            _engine = previous


def reset() -> None:
    global _store, _blobs, _engine
    with _lock:
        _store, _blobs, _engine = None, None, None
    reset_settings()
