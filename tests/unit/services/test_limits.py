"""core.services.limits and the quota's day under a pinned clock (tests.support.clock): no sleeping."""

from __future__ import annotations

import pytest

from core.errors import RateLimited
from core.records import keys
from core.services import clock, limits, quota
from core.storage import KVStore
from tests.support.clock import PinnedClock

RATE = limits.Rate(bucket="test", window_s=60, limit=2)


def test_a_fixed_window_refuses_past_its_limit_with_the_seconds_left(store: KVStore, pinned_clock: PinnedClock) -> None:
    assert [limits.hit(store, rate=RATE, key="k") for _ in range(2)] == [1, 2]
    pinned_clock.advance(20)  # 21 s into the window
    with pytest.raises(RateLimited) as refused:
        limits.hit(store, rate=RATE, key="k")
    assert refused.value.code == "rate_limited"
    assert refused.value.headers["Retry-After"] == "39"
    assert refused.value.details == {"limit": 2, "window_s": 60}
    assert limits.hit(store, rate=RATE, key="other") == 1  # per key
    window = int(clock.now()) // 60
    counter = store.get(*keys.rate_window("test", "k", window))
    assert counter is not None
    assert counter["count"] == 3


def test_the_next_window_is_fresh(store: KVStore, pinned_clock: PinnedClock) -> None:
    for _ in range(2):
        limits.hit(store, rate=RATE, key="k")
    pinned_clock.advance(58)  # the window's last second (the clock starts 1 s into it)
    with pytest.raises(RateLimited) as refused:
        limits.hit(store, rate=RATE, key="k")
    assert refused.value.retry_after == 1
    pinned_clock.advance(1)
    assert limits.hit(store, rate=RATE, key="k") == 1


def test_limit_zero_is_unlimited(store: KVStore, pinned_clock: PinnedClock) -> None:
    off = limits.Rate(bucket="test", window_s=60, limit=0)
    assert {limits.hit(store, rate=off, key="k") for _ in range(50)} == {0}


def test_login_lockout_counts_down_on_the_clock(store: KVStore, pinned_clock: PinnedClock) -> None:
    for _ in range(3):
        assert limits.login_attempt(store, subject="s", max_attempts=3, window_s=900) is None
    assert limits.login_attempt(store, subject="s", max_attempts=3, window_s=900) == 900
    pinned_clock.advance(600)
    assert limits.login_attempt(store, subject="s", max_attempts=3, window_s=900) == 300
    limits.login_succeeded(store, subject="s")
    assert store.get(*keys.login_failures("s")) is None


def test_the_quota_day_turns_at_midnight_utc(store: KVStore, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    last_second = float((int(time.time()) // 86400 + 1) * 86400 - 1)  # 23:59:59 today (UTC)
    pinned = PinnedClock(last_second)
    monkeypatch.setattr(clock, "now", pinned)
    day = quota.Limits(characters=100, audio_seconds=0, hold_grace_s=900)
    hold = quota.reserve(store, user_id="u", characters=60, seconds=1.0, limits=day)
    assert hold is not None
    hold.finish(characters=60, seconds=1.0)
    with pytest.raises(RateLimited) as refused:
        quota.reserve(store, user_id="u", characters=60, seconds=1.0, limits=day)
    assert refused.value.retry_after == 1  # the day ends in one second
    today = quota.usage(store, user_id="u", limits=day)
    assert (today.used, today.remaining) == (60, 40)
    pinned.advance(1)  # midnight: a new day
    tomorrow = quota.usage(store, user_id="u", limits=day)
    assert (tomorrow.used, tomorrow.remaining) == (0, 100)
    assert tomorrow.resets_at > today.resets_at
    assert quota.reserve(store, user_id="u", characters=60, seconds=1.0, limits=day) is not None


def test_a_hold_expires_after_its_grace_on_the_clock(store: KVStore, pinned_clock: PinnedClock) -> None:
    limits_ = quota.Limits(characters=1000, audio_seconds=0, hold_grace_s=30)
    hold = quota.reserve(store, user_id="u", characters=200, seconds=5.0, limits=limits_)
    assert hold is not None
    hold.deliver(characters=50, seconds=1.0)  # pushes the expiry to now + 30
    pinned_clock.advance(29)
    assert quota.reclaim_expired(store, user_id="u") == 0  # still within its grace
    pinned_clock.advance(1)
    assert quota.reclaim_expired(store, user_id="u") == 1  # its owner is gone: only what it delivered counts
    assert quota.usage(store, user_id="u", limits=limits_).used == 50
