"""The daily synthesis quota: characters AND audio seconds, charged by holds that settle to what was delivered.

Contract:
- `Limits(characters, audio_seconds, hold_grace_s)`: per user per UTC day; 0 = that limit is off. When both
  are off nothing is counted (`reserve` returns None).
- Usage lives in `USER#<uid>` / `USAGE#<yyyymmdd>` (`characters`, `audio_ms`: integer milliseconds, so sums
  are exact), with a ttl two days after the day ends. It always includes the live holds below.
- `reserve(...)` admits a job before any engine work: it adds the request's characters and its estimated
  seconds (the engine's `estimate_seconds`) to today's usage atomically, and refuses with 429 quota_exceeded
  (nothing charged) when either would go over; `details.quota` names the limit ("characters" or
  "audio_seconds") with its `limit`, `used` and `requested`. Parallel requests never over-admit.
- What it admitted is a hold `USER#<uid>` / `HOLD#<id>` recording the reserved amounts, what has been
  delivered so far, a `seq` and an `expires_at` (now + hold_grace_s). `Hold.deliver(characters=, seconds=)`
  records cumulative delivered totals (a put conditioned on `seq`, which also pushes `expires_at` out);
  `Hold.finish(characters=, seconds=)` ends it: the hold is deleted (same condition) and usage is corrected
  from the reserved estimate to the delivered amounts (real audio seconds). `finish` is idempotent.
- A hold whose owner died (SIGKILL, OOM, lost Lambda) is settled by `reclaim_expired`, run by `reserve` and
  `usage`: once `expires_at` has passed, the hold is deleted (conditioned on its `seq`) and usage corrected
  to what it had recorded as delivered, so work never delivered stops counting after the grace period.
  Exactly one of the owner and a reclaimer settles each state (the `seq` condition). An owner that was
  only slow (a job longer than the grace) finds its hold gone and charges usage directly from then on, so
  the day's total is still what was delivered; only the count shown in between runs low.
- `usage(...)` reports {period, limit, used, remaining, resets_at} for characters (the long-standing
  shape) plus `audio_seconds` {limit, used, remaining}.
- `Meter` wraps one job's hold and its API key: `deliver` (cumulative totals, per streamed piece sent)
  and `finish` (final totals; default what was delivered) charge both the same amounts, so a key's
  `characters` count is what was delivered through it.
- Windows: a crash between the usage increment and the hold's put leaves that request charged (the
  increment comes first, so no failure ever gives free audio).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from core.errors import ConditionFailed, RateLimited
from core.services.clock import sortable_id
from core.services.users import user_pk
from core.storage import Cond, KVStore

if TYPE_CHECKING:
    from core.config import Settings

DAY = 86400
USAGE_PREFIX = "USAGE#"
HOLD_PREFIX = "HOLD#"
_ATTRS = ("characters", "audio_ms")


@dataclass(frozen=True)
class Limits:
    characters: int = 0  # per day; 0 = unlimited
    audio_seconds: int = 0  # per day; 0 = unlimited
    hold_grace_s: int = 900

    @property
    def enabled(self) -> bool:
        return self.characters > 0 or self.audio_seconds > 0

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(settings.quota_chars_per_day, settings.quota_audio_seconds_per_day, settings.quota_hold_grace_s)


UNLIMITED = Limits()


def _today() -> tuple[str, int]:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return now.strftime("%Y%m%d"), int(midnight.timestamp())


def _ms(seconds: float) -> int:
    return max(0, math.ceil(round(seconds * 1000, 6)))


def _add(store: KVStore, pk: str, sk: str, amounts: dict[str, int], ttl: int | None = None) -> dict[str, int]:
    return {attr: store.increment(pk, sk, attr, amount, ttl=ttl) for attr, amount in amounts.items() if amount}


class Hold:
    """One admitted job's reservation; see the module contract."""

    def __init__(self, store: KVStore, item: dict[str, Any], grace_s: int) -> None:
        self._store = store
        self._item = item
        self._grace_s = grace_s
        self._live = True  # our hold item still exists (not finished, not reclaimed)
        self._finished = False
        self.delivered = {"characters": 0, "audio_ms": 0}

    @property
    def reserved(self) -> dict[str, int]:
        return {attr: int(self._item[attr]) for attr in _ATTRS}

    def _charge_directly(self, totals: dict[str, int]) -> None:
        delta = {attr: totals[attr] - self.delivered[attr] for attr in _ATTRS}
        _add(self._store, self._item["pk"], self._item["usage_sk"], delta)

    def deliver(self, *, characters: int, seconds: float) -> None:
        """Record cumulative delivered totals (what the client has been sent so far)."""
        if self._finished:
            return
        totals = {"characters": characters, "audio_ms": _ms(seconds)}
        if self._live:
            seq = int(self._item["seq"])
            update = {
                **self._item,
                "delivered_characters": totals["characters"],
                "delivered_ms": totals["audio_ms"],
                "seq": seq + 1,
                "expires_at": int(time.time()) + self._grace_s,
            }
            try:
                self._store.put(update, cond=Cond(equals={"seq": seq}))
                self._item = update
            except ConditionFailed:  # reclaimed as expired: usage holds what we had recorded
                self._live = False
                self._charge_directly(totals)
        else:
            self._charge_directly(totals)
        self.delivered = totals

    def finish(self, *, characters: int, seconds: float) -> None:
        """End the hold: usage becomes the delivered amounts (cumulative totals), the hold goes."""
        if self._finished:
            return
        totals = {"characters": characters, "audio_ms": _ms(seconds)}
        if self._live:
            try:
                self._store.delete(self._item["pk"], self._item["sk"], cond=Cond(equals={"seq": self._item["seq"]}))
                base = self.reserved
            except ConditionFailed:  # reclaimed meanwhile: usage holds the delivered totals we recorded
                base = self.delivered
            self._live = False
            delta = {attr: totals[attr] - base[attr] for attr in _ATTRS}
            _add(self._store, self._item["pk"], self._item["usage_sk"], delta)
        else:
            self._charge_directly(totals)
        self.delivered = totals
        self._finished = True


def reclaim_expired(store: KVStore, *, user_id: str) -> int:
    """Settle the user's holds whose grace has passed (their owner is gone); returns how many."""
    pk, now, settled, cursor = user_pk(user_id), int(time.time()), 0, None
    while True:
        page = store.query(pk, sk_prefix=HOLD_PREFIX, limit=100, cursor=cursor)
        for item in page.items:
            if int(item.get("expires_at", 0)) > now:
                continue
            try:
                store.delete(pk, item["sk"], cond=Cond(equals={"seq": item["seq"]}))
            except ConditionFailed:
                continue  # its owner moved it on (or another reclaimer got there first)
            delta = {
                "characters": int(item.get("delivered_characters", 0)) - int(item["characters"]),
                "audio_ms": int(item.get("delivered_ms", 0)) - int(item["audio_ms"]),
            }
            _add(store, pk, str(item["usage_sk"]), delta)
            settled += 1
        cursor = page.cursor
        if cursor is None:
            return settled


def _refuse(which: str, limit: float, used: float, requested: float, resets: int) -> RateLimited:
    if which == "characters":
        message = f"Daily character quota exceeded: {used:g} of {limit:g} used, this request needs {requested:g}"
    else:
        message = (
            f"Daily audio quota exceeded: {used:g} of {limit:g} seconds used, this request needs about {requested:g} s"
        )
    return RateLimited(
        message,
        code="quota_exceeded",
        retry_after=resets - int(time.time()),
        details={"quota": which, "limit": limit, "used": used, "requested": requested},
    )


def reserve(store: KVStore, *, user_id: str, characters: int, seconds: float, limits: Limits) -> Hold | None:
    """Admit a job of `characters` and about `seconds` of audio, or refuse it (see the module contract)."""
    if not limits.enabled:
        return None
    reclaim_expired(store, user_id=user_id)
    day, resets = _today()
    pk, sk, ttl = user_pk(user_id), f"{USAGE_PREFIX}{day}", resets + 2 * DAY
    wanted = {"characters": characters, "audio_ms": _ms(seconds)}
    totals = _add(store, pk, sk, wanted, ttl)
    checks = (
        ("characters", limits.characters, totals.get("characters"), 1),
        ("audio_seconds", limits.audio_seconds, totals.get("audio_ms"), 1000),
    )
    for which, limit, total, unit in checks:
        amount = wanted["characters" if unit == 1 else "audio_ms"]
        if limit > 0 and total is not None and total > limit * unit:
            _add(store, pk, sk, {attr: -n for attr, n in wanted.items()})
            raise _refuse(which, limit, (total - amount) / unit, amount / unit, resets)
    item = {
        "pk": pk,
        "sk": f"{HOLD_PREFIX}{sortable_id()}",
        "usage_sk": sk,
        **wanted,
        "delivered_characters": 0,
        "delivered_ms": 0,
        "seq": 0,
        "expires_at": int(time.time()) + limits.hold_grace_s,
        "ttl": ttl,
    }
    try:
        store.put(item)
    except BaseException:
        _add(store, pk, sk, {attr: -n for attr, n in wanted.items()})
        raise
    return Hold(store, item, limits.hold_grace_s)


def usage(store: KVStore, *, user_id: str, limits: Limits) -> dict[str, Any]:
    if limits.enabled:
        reclaim_expired(store, user_id=user_id)
    day, resets = _today()
    item = store.get(user_pk(user_id), f"{USAGE_PREFIX}{day}") or {}
    chars = max(0, int(item.get("characters", 0)))
    seconds = max(0, int(item.get("audio_ms", 0))) / 1000
    return {
        "period": "day",
        "limit": limits.characters,
        "used": chars,
        "remaining": max(0, limits.characters - chars) if limits.characters else None,
        "resets_at": datetime.fromtimestamp(resets, UTC).isoformat().replace("+00:00", "Z"),
        "audio_seconds": {
            "limit": limits.audio_seconds,
            "used": round(seconds, 3),
            "remaining": round(max(0.0, limits.audio_seconds - seconds), 3) if limits.audio_seconds else None,
        },
    }


class Meter:
    """What one job has delivered, charged to the day's usage (through its hold, if any) and to the API key."""

    def __init__(self, store: KVStore, *, user_id: str, hold: Hold | None, api_key_id: str | None) -> None:
        self._store = store
        self._user_id = user_id
        self._hold = hold
        self._api_key_id = api_key_id
        self.characters = 0
        self.seconds = 0.0
        self.finished = False

    def _count_key(self, characters: int) -> None:
        if self._api_key_id is not None and characters > self.characters:
            from core.services import api_keys

            api_keys.record_use(
                self._store, user_id=self._user_id, key_id=self._api_key_id, characters=characters - self.characters
            )

    def deliver(self, *, characters: int, seconds: float) -> None:
        """Cumulative totals delivered so far (a streamed piece was sent)."""
        if self.finished:
            return
        self._count_key(characters)
        if self._hold is not None:
            self._hold.deliver(characters=characters, seconds=seconds)
        self.characters, self.seconds = characters, seconds

    def finish(self, *, characters: int | None = None, seconds: float | None = None) -> None:
        """Final totals (default: what was delivered so far); nothing more is charged after this."""
        if self.finished:
            return
        characters = self.characters if characters is None else characters
        seconds = self.seconds if seconds is None else seconds
        self.finished = True
        self._count_key(characters)
        self.characters, self.seconds = characters, seconds
        if self._hold is not None:
            self._hold.finish(characters=characters, seconds=seconds)
