"""The quota's holds (core.services.quota) on every store backend: sqlite and DynamoDB (moto on loopback).

What is proven: a hold counts toward the day's usage until it is finished, and then usage is what was
delivered (characters and real seconds); an expired hold (its owner died) is settled to what it had
recorded as delivered; an owner whose hold was reclaimed while it was only slow still ends with usage =
what it delivered; refusals name the limit they hit; both limits are enforced.
"""

from __future__ import annotations

import pytest

from core.errors import RateLimited
from core.records import keys
from core.services import quota
from core.storage import KVStore

USER = "u1"
GRACE_S = 900


def used(store: KVStore, limits: quota.Limits) -> tuple[int, float]:
    shown = quota.usage(store, user_id=USER, limits=limits)
    return shown.used, shown.audio_seconds.used


def holds(store: KVStore) -> int:
    return len(store.query(keys.user_pk(USER), sk_prefix=keys.HOLD).items)


def test_a_hold_counts_until_finished_then_usage_is_what_was_delivered(store: KVStore) -> None:
    limits = quota.Limits(characters=1000, audio_seconds=100, hold_grace_s=GRACE_S)
    hold = quota.reserve(store, user_id=USER, characters=120, seconds=9.0, limits=limits)
    assert hold is not None
    assert used(store, limits) == (120, 9.0)
    hold.deliver(characters=50, seconds=3.25)
    assert used(store, limits) == (120, 9.0)  # still held: the job goes on
    hold.finish(characters=70, seconds=5.5)
    assert used(store, limits) == (70, 5.5)
    assert holds(store) == 0
    hold.finish(characters=120, seconds=9.0)  # idempotent
    assert used(store, limits) == (70, 5.5)


def test_an_expired_hold_counts_only_what_it_delivered(store: KVStore) -> None:
    dead = quota.Limits(characters=1000, audio_seconds=100, hold_grace_s=0)  # expires at once
    orphan = quota.reserve(store, user_id=USER, characters=200, seconds=15.0, limits=dead)
    assert orphan is not None
    orphan.deliver(characters=40, seconds=2.5)  # then the process "dies": nothing more happens to it
    assert quota.reclaim_expired(store, user_id=USER) == 1
    assert holds(store) == 0
    assert used(store, dead) == (40, 2.5)


def test_a_slow_owner_whose_hold_was_reclaimed_still_ends_at_what_it_delivered(store: KVStore) -> None:
    limits = quota.Limits(characters=1000, audio_seconds=100, hold_grace_s=0)
    hold = quota.reserve(store, user_id=USER, characters=300, seconds=20.0, limits=limits)
    assert hold is not None
    hold.deliver(characters=100, seconds=7.0)
    assert quota.reclaim_expired(store, user_id=USER) == 1  # taken for dead while it was only slow
    assert used(store, limits) == (100, 7.0)
    hold.deliver(characters=200, seconds=14.0)  # its put fails: charged directly
    assert used(store, limits) == (200, 14.0)
    hold.finish(characters=300, seconds=21.5)
    assert used(store, limits) == (300, 21.5)
    assert holds(store) == 0


def test_refusals_name_the_limit_and_charge_nothing(store: KVStore) -> None:
    limits = quota.Limits(characters=100, audio_seconds=10, hold_grace_s=GRACE_S)
    with pytest.raises(RateLimited) as refused:
        quota.reserve(store, user_id=USER, characters=50, seconds=12.5, limits=limits)
    assert refused.value.code == "quota_exceeded"
    assert refused.value.details == {"quota": "audio_seconds", "limit": 10, "used": 0, "requested": 12.5}
    assert "audio" in refused.value.message
    with pytest.raises(RateLimited) as refused:
        quota.reserve(store, user_id=USER, characters=101, seconds=1.0, limits=limits)
    assert refused.value.details == {"quota": "characters", "limit": 100, "used": 0, "requested": 101}
    assert used(store, limits) == (0, 0.0)
    assert holds(store) == 0


def test_unlimited_counts_nothing(store: KVStore) -> None:
    off = quota.Limits(characters=0, audio_seconds=0, hold_grace_s=GRACE_S)  # both limits set to 0
    assert quota.reserve(store, user_id=USER, characters=10**6, seconds=10**5, limits=off) is None
    shown = quota.usage(store, user_id=USER, limits=off)
    assert (shown.used, shown.remaining, shown.audio_seconds.remaining) == (0, None, None)
