"""The sweep on a schedule inside a long-running server (the local server, Render).

Contract: `Sweeper(run, interval_s=...)` calls `run` on a daemon thread at start and then every
`interval_s` seconds until `stop()`; a failing run is logged and the schedule goes on. `with_sweeper`
wraps an ASGI lifespan so the app runs a sweep every SWEEP_INTERVAL_MINUTES (0 = off, the tests'
setting) with SWEEP_GRACE_MINUTES of grace, stopping it on shutdown. Serverless deployments have no
long-lived process: they run `python -m core.maintenance sweep` from a scheduler instead.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from core import runtime
from core.config import get_settings
from core.maintenance import sweep

log = logging.getLogger("core.maintenance")


class Sweeper:
    def __init__(self, run: Callable[[], object], *, interval_s: float) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self._run = run
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sweeper", daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._run()
            except Exception:
                log.exception("scheduled sweep failed; trying again in %.0f s", self._interval_s)
            self._stop.wait(self._interval_s)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)


def run_configured() -> object:
    """One sweep with the process's store, blobs and Settings."""
    return sweep(runtime.store(), runtime.blobs(), grace_s=get_settings().sweep_grace_minutes * 60)


def with_sweeper(inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """An ASGI lifespan that runs `inner` and, when SWEEP_INTERVAL_MINUTES > 0, the scheduled sweep."""

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[Any]:
        minutes = get_settings().sweep_interval_minutes
        sweeper = Sweeper(run_configured, interval_s=minutes * 60) if minutes > 0 else None
        if sweeper is not None:
            sweeper.start()
        try:
            async with inner(app) as state:
                yield state
        finally:
            if sweeper is not None:
                sweeper.stop()

    return lifespan
