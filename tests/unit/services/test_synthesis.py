"""The synthesis services apply the policy themselves, with no handler in between (real Piper, in-memory store).

What is proven: the per-user synthesis rate limit refuses with 429 and Retry-After before any other
check or work, for `synthesize` and `stream` alike (one budget); the daily quota refuses with 429
quota_exceeded and charges nothing; what is stored is charged to the day and to the caller's API key;
the text limit of the policy is the one applied.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from core.errors import RateLimited, ValidationFailed
from core.records import keys
from core.services import api_keys, quota, streams, synthesis
from core.services.limits import Rate
from core.services.policy import Caller, SynthesisPolicy
from core.storage import BlobStore, KVStore
from core.tts.piper import PiperEngine
from tests.support.clock import PinnedClock

POLICY = SynthesisPolicy(
    max_text_chars=200,
    max_audio_seconds=60.0,
    quota=quota.Limits(characters=0, audio_seconds=0, hold_grace_s=900),
    rate=Rate(bucket="synthesis", window_s=60, limit=0),
)
HELLO = synthesis.Request(text="Hello there.")


def audio_count(store: KVStore, user_id: str) -> int:
    return len(store.query(keys.user_pk(user_id), sk_prefix=keys.AUDIO).items)


def test_the_rate_limit_comes_first_and_is_shared_by_stream(
    store: KVStore, blobs: BlobStore, engine: PiperEngine, user_id: str, pinned_clock: PinnedClock
) -> None:
    policy = replace(POLICY, rate=Rate(bucket="synthesis", window_s=60, limit=2))
    me = Caller(user_id=user_id, api_key_id=None)
    synthesis.synthesize(store, blobs, engine, caller=me, request=HELLO, policy=policy)
    list(streams.stream(store, blobs, engine, caller=me, request=HELLO, policy=policy))
    pinned_clock.advance(15)
    too_long = synthesis.Request(text="x" * 500)  # would be a 422, but the rate limit answers first
    for call in (synthesis.synthesize, streams.stream):
        with pytest.raises(RateLimited) as refused:
            call(store, blobs, engine, caller=me, request=too_long, policy=policy)
        assert refused.value.code == "rate_limited"
        assert refused.value.headers["Retry-After"] == "44"  # 16 s into the minute
    assert audio_count(store, user_id) == 2
    other = Caller(user_id="someone-else", api_key_id=None)  # per user: refused for its own reason only
    with pytest.raises(ValidationFailed):
        synthesis.synthesize(store, blobs, engine, caller=other, request=too_long, policy=policy)
    pinned_clock.advance(44)  # the next minute
    synthesis.synthesize(store, blobs, engine, caller=me, request=HELLO, policy=policy)
    assert audio_count(store, user_id) == 3


def test_the_quota_refuses_before_any_work_and_charges_nothing(
    store: KVStore, blobs: BlobStore, engine: PiperEngine, user_id: str, pinned_clock: PinnedClock
) -> None:
    limits = quota.Limits(characters=20, audio_seconds=0, hold_grace_s=900)
    policy = replace(POLICY, quota=limits)
    me = Caller(user_id=user_id, api_key_id=None)
    synthesis.synthesize(store, blobs, engine, caller=me, request=HELLO, policy=policy)  # 12 characters
    for call in (synthesis.synthesize, streams.stream):
        with pytest.raises(RateLimited) as refused:
            call(store, blobs, engine, caller=me, request=HELLO, policy=policy)
        assert refused.value.code == "quota_exceeded"
        assert refused.value.details == {"quota": "characters", "limit": 20, "used": 12, "requested": 12}
        assert int(refused.value.headers["Retry-After"]) >= 1
    assert quota.usage(store, user_id=user_id, limits=limits).used == 12
    assert audio_count(store, user_id) == 1
    assert store.query(keys.user_pk(user_id), sk_prefix=keys.HOLD).items == []


def test_characters_are_counted_per_api_key(
    store: KVStore, blobs: BlobStore, engine: PiperEngine, user_id: str, pinned_clock: PinnedClock
) -> None:
    api_keys.create(store, user_id=user_id, name="ci")
    listing = store.query(keys.user_pk(user_id), sk_prefix=keys.APIKEY).items[0]
    key_id = str(listing["id"])
    through_key = Caller(user_id=user_id, api_key_id=key_id)
    item = synthesis.synthesize(store, blobs, engine, caller=through_key, request=HELLO, policy=POLICY)
    assert item.api_key_id == key_id
    list(streams.stream(store, blobs, engine, caller=through_key, request=HELLO, policy=POLICY))
    synthesis.synthesize(  # a login session's request is not the key's
        store, blobs, engine, caller=Caller(user_id=user_id, api_key_id=None), request=HELLO, policy=POLICY
    )
    counted = store.get(*keys.api_key_listing(user_id, key_id))
    assert counted is not None
    assert counted["characters"] == 2 * len("Hello there.")


def test_the_policys_text_limit_is_applied(store: KVStore, blobs: BlobStore, engine: PiperEngine, user_id: str) -> None:
    me = Caller(user_id=user_id, api_key_id=None)
    with pytest.raises(ValidationFailed) as refused:
        synthesis.synthesize(store, blobs, engine, caller=me, request=HELLO, policy=POLICY.capped(max_text_chars=5))
    assert refused.value.code == "text_too_long"
    short_audio = replace(POLICY, max_audio_seconds=0.1)
    with pytest.raises(ValidationFailed) as too_long:
        synthesis.synthesize(store, blobs, engine, caller=me, request=HELLO, policy=short_audio)
    assert too_long.value.code == "audio_too_long"
    assert audio_count(store, user_id) == 0
