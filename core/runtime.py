"""Process-wide lazy singletons: the store, the blob store and the speech engine.

Contract: each is built from `get_settings()` on first use and then reused for the life of the
process (a Lambda container, the local server). Nothing expensive happens at import. `reset()`
drops them all (tests, or after changing settings).
"""

from __future__ import annotations

import threading
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


def engine_if_loaded() -> Engine | None:
    return _engine


def reset() -> None:
    global _store, _blobs, _engine
    with _lock:
        _store, _blobs, _engine = None, None, None
    reset_settings()
