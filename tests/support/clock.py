"""A pinned clock for the limits and the quota (core.services.clock.now), in this process or a server's.

Contract:
- `PinnedClock(at)` is a callable clock that stays at `at` until `advance(seconds)` moves it.
- The `pinned_clock` fixture (re-exported by tests/conftest.py) installs one as `core.services.clock.now`
  for one test, at `fresh_window_start()`: 1 s into the next full hour, so every fixed window up to an
  hour (the login and synthesis minutes, the upload and conversion hours) is fresh and all the test's
  requests fall into the same one, with no sleeping. That instant is ahead of the real time, so the ttl of
  every counter (its window's end) stays in the future for the stores, which expire items by real time.
- A live server (`servers.api_server(env, pinned_at=...)`) gets the same clock through
  `python -m tests.support.clock <epoch>`, which pins it and then runs `local_server.main()`.
"""

from __future__ import annotations

import sys
import time

import pytest

from core.services import clock


def fresh_window_start() -> float:
    return float((int(time.time()) // 3600 + 1) * 3600 + 1)


class PinnedClock:
    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += seconds


@pytest.fixture
def pinned_clock(monkeypatch: pytest.MonkeyPatch) -> PinnedClock:
    pinned = PinnedClock(fresh_window_start())
    monkeypatch.setattr(clock, "now", pinned)
    return pinned


def main() -> None:
    import local_server

    clock.now = PinnedClock(float(sys.argv[1]))
    local_server.main()


if __name__ == "__main__":
    main()
