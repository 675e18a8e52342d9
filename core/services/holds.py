"""A job's quota hold: what core.services.quota admitted, settled to what was delivered.

Contract (the quota's rules are in core.services.quota; this module is its hold mechanics):
- `Amounts(characters, audio_ms)`: an amount of work, audio in integer milliseconds so sums are exact;
  `Amounts.of(characters=, seconds=)` rounds seconds up to the millisecond.
- `HoldRecord`: the item `USER#<uid>` / `HOLD#<id>` (core.records.keys.hold) recording the reserved
  amounts, the delivered ones so far, a `seq`, `expires_at` and the usage item it charges
  (`USAGE#<yyyymmdd>`), with `to_item()` / `from_item()`.
- `Hold.deliver(characters=, seconds=)` records cumulative delivered totals (a put conditioned on `seq`,
  which also pushes `expires_at` out by the grace); `Hold.finish(...)` deletes the hold (same condition)
  and corrects usage from the reserved estimate to the delivered totals. `finish` is idempotent. A hold
  reclaimed meanwhile (core.services.quota.reclaim_expired) left usage at what it had recorded as
  delivered: from then on the owner charges usage directly, so the day's total is what was delivered.
- `add_usage(store, user_id, day, amounts)` adds to (or, negative, takes from) a day's usage atomically.
- Time is `core.services.clock.now()`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from core.errors import ConditionFailed
from core.records import keys
from core.services import clock
from core.storage import Cond, Item, KVStore


@dataclass(frozen=True)
class Amounts:
    characters: int = 0
    audio_ms: int = 0

    @classmethod
    def of(cls, *, characters: int, seconds: float) -> Amounts:
        return cls(characters=characters, audio_ms=max(0, math.ceil(round(seconds * 1000, 6))))

    def __sub__(self, other: Amounts) -> Amounts:
        return Amounts(self.characters - other.characters, self.audio_ms - other.audio_ms)

    def __neg__(self) -> Amounts:
        return Amounts(-self.characters, -self.audio_ms)


NOTHING = Amounts()


def add_usage(store: KVStore, *, user_id: str, day: str, amounts: Amounts, ttl: int | None = None) -> Amounts:
    """Add `amounts` to the day's usage; returns the new totals of what changed (0 where nothing was added)."""
    pk, sk = keys.usage(user_id, day)
    chars = store.increment(pk, sk, "characters", amounts.characters, ttl=ttl) if amounts.characters else 0
    audio = store.increment(pk, sk, "audio_ms", amounts.audio_ms, ttl=ttl) if amounts.audio_ms else 0
    return Amounts(chars, audio)


@dataclass(frozen=True)
class HoldRecord:
    user_id: str
    hold_id: str
    day: str  # the usage item (`USAGE#<day>`) it charges
    reserved: Amounts
    delivered: Amounts
    seq: int
    expires_at: int
    ttl: int

    @property
    def key(self) -> keys.Key:
        return keys.hold(self.user_id, self.hold_id)

    def to_item(self) -> Item:
        pk, sk = self.key
        return {
            "pk": pk,
            "sk": sk,
            "usage_sk": keys.usage(self.user_id, self.day)[1],
            "characters": self.reserved.characters,
            "audio_ms": self.reserved.audio_ms,
            "delivered_characters": self.delivered.characters,
            "delivered_ms": self.delivered.audio_ms,
            "seq": self.seq,
            "expires_at": self.expires_at,
            "ttl": self.ttl,
        }

    @classmethod
    def from_item(cls, item: Item) -> HoldRecord:
        return cls(
            user_id=keys.user_id_of(str(item["pk"])),
            hold_id=str(item["sk"]).removeprefix(keys.HOLD),
            day=str(item["usage_sk"]).removeprefix(keys.USAGE),
            reserved=Amounts(int(item["characters"]), int(item["audio_ms"])),
            delivered=Amounts(int(item.get("delivered_characters", 0)), int(item.get("delivered_ms", 0))),
            seq=int(item["seq"]),
            expires_at=int(item.get("expires_at", 0)),
            ttl=int(item["ttl"]),
        )


class Hold:
    """One admitted job's reservation; see the module contract."""

    def __init__(self, store: KVStore, record: HoldRecord, *, grace_s: int) -> None:
        self._store = store
        self._record = record
        self._grace_s = grace_s
        self._live = True  # our hold item still exists (not finished, not reclaimed)
        self._finished = False
        self.delivered = NOTHING

    @property
    def reserved(self) -> Amounts:
        return self._record.reserved

    def _charge(self, delta: Amounts) -> None:
        add_usage(self._store, user_id=self._record.user_id, day=self._record.day, amounts=delta)

    def deliver(self, *, characters: int, seconds: float) -> None:
        """Record cumulative delivered totals (what the client has been sent so far)."""
        if self._finished:
            return
        totals = Amounts.of(characters=characters, seconds=seconds)
        if self._live:
            seq = self._record.seq
            moved = replace(self._record, delivered=totals, seq=seq + 1, expires_at=int(clock.now()) + self._grace_s)
            try:
                self._store.put(moved.to_item(), cond=Cond(equals={"seq": seq}))
                self._record = moved
            except ConditionFailed:  # reclaimed as expired: usage holds what we had recorded
                self._live = False
                self._charge(totals - self.delivered)
        else:
            self._charge(totals - self.delivered)
        self.delivered = totals

    def finish(self, *, characters: int, seconds: float) -> None:
        """End the hold: usage becomes the delivered amounts (cumulative totals), the hold goes."""
        if self._finished:
            return
        totals = Amounts.of(characters=characters, seconds=seconds)
        if self._live:
            try:
                self._store.delete(*self._record.key, cond=Cond(equals={"seq": self._record.seq}))
                base = self.reserved
            except ConditionFailed:  # reclaimed meanwhile: usage holds the delivered totals we recorded
                base = self.delivered
            self._live = False
            self._charge(totals - base)
        else:
            self._charge(totals - self.delivered)
        self.delivered = totals
        self._finished = True
