"""The daily synthesis quota: characters AND audio seconds, charged by holds that settle to what was delivered.

Contract:
- `Limits(characters, audio_seconds, hold_grace_s)`: per user per UTC day; 0 = that limit is off (a
  deliberate setting, never a default: core.services.policy builds them from Settings). When both are
  off nothing is counted (`reserve` returns None).
- Usage lives in `USER#<uid>` / `USAGE#<yyyymmdd>` (`characters`, `audio_ms`: integer milliseconds, so sums
  are exact), with a ttl two days after the day ends. It always includes the live holds below.
- `reserve(...)` admits a job before any engine work: it adds the request's characters and its estimated
  seconds (the engine's `estimate_seconds`) to today's usage atomically, and refuses with 429 quota_exceeded
  (nothing charged) when either would go over; `details.quota` names the limit ("characters" or
  "audio_seconds") with its `limit`, `used` and `requested`. Parallel requests never over-admit.
- What it admitted is a `holds.Hold` (core.services.holds: the hold item, `deliver`, `finish`), whose
  `expires_at` is now + hold_grace_s and moves out with each delivery.
- A hold whose owner died (SIGKILL, OOM, lost Lambda) is settled by `reclaim_expired`, run by `reserve` and
  `usage`: once `expires_at` has passed, the hold is deleted (conditioned on its `seq`) and usage corrected
  to what it had recorded as delivered, so work never delivered stops counting after the grace period.
  Exactly one of the owner and a reclaimer settles each state (the `seq` condition).
- `usage(...)` returns a `Usage`: {period, limit, used, remaining, resets_at} for characters (the
  long-standing shape) plus `audio_seconds` {limit, used, remaining}.
- `Meter` wraps one job's hold and its API key: `deliver` (cumulative totals, per streamed piece sent)
  and `finish` (final totals; default what was delivered) charge both the same amounts, so a key's
  `characters` count is what was delivered through it.
- Windows: a crash between the usage increment and the hold's put leaves that request charged (the
  increment comes first, so no failure ever gives free audio).
- Per-user quota: `reserve` and `usage` apply the account's own daily character quota
  (`User.quota_chars_per_day`, set by an admin; None: `limits.characters`, 0: unlimited, as the setting)
  through `user_limits`, one point read of the profile, so a change applies to the next request.
- Lifetime totals: `USER#<uid>` / `TOTALS` counts the `characters` a user was delivered and the
  `syntheses` that delivered any (a job counts once, at its first delivery); the Meter adds to them
  with the same deltas it charges the API key. `totals(...)` reads them (`Totals`, zeros when absent).
- Time (the day, expiry) is `core.services.clock.now()`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from core.errors import ConditionFailed, RateLimited
from core.records import keys
from core.records.users import User
from core.services import api_keys, clock
from core.services.clock import sortable_id
from core.services.holds import Amounts, Hold, HoldRecord, add_usage
from core.storage import Cond, KVStore

DAY = 86400


@dataclass(frozen=True)
class Limits:
    characters: int  # per day; 0 = unlimited
    audio_seconds: int  # per day; 0 = unlimited
    hold_grace_s: int  # a hold stops counting this long after its last sign of life

    @property
    def enabled(self) -> bool:
        return self.characters > 0 or self.audio_seconds > 0


@dataclass(frozen=True)
class AudioUsage:
    limit: int
    used: float
    remaining: float | None  # None: unlimited


@dataclass(frozen=True)
class Usage:
    period: str
    limit: int
    used: int
    remaining: int | None  # None: unlimited
    resets_at: str
    audio_seconds: AudioUsage


@dataclass(frozen=True)
class Totals:
    characters: int  # delivered, over the account's life
    syntheses: int  # jobs that delivered something


def totals(store: KVStore, *, user_id: str) -> Totals:
    item = store.get(*keys.totals(user_id)) or {}
    return Totals(characters=int(item.get("characters", 0)), syntheses=int(item.get("syntheses", 0)))


def user_limits(store: KVStore, *, user_id: str, limits: Limits) -> Limits:
    """`limits` with the account's own daily character quota, when an admin set one."""
    item = store.get(*keys.profile(user_id))
    own = None if item is None else User.from_item(item).quota_chars_per_day
    return limits if own is None else replace(limits, characters=own)


def _today() -> tuple[str, int]:
    now = datetime.fromtimestamp(clock.now(), UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    return now.strftime("%Y%m%d"), int(midnight.timestamp())


def reclaim_expired(store: KVStore, *, user_id: str) -> int:
    """Settle the user's holds whose grace has passed (their owner is gone); returns how many."""
    pk, now, settled, cursor = keys.user_pk(user_id), int(clock.now()), 0, None
    while True:
        page = store.query(pk, sk_prefix=keys.HOLD, limit=100, cursor=cursor)
        for record in map(HoldRecord.from_item, page.items):
            if record.expires_at > now:
                continue
            try:
                store.delete(*record.key, cond=Cond(equals={"seq": record.seq}))
            except ConditionFailed:
                continue  # its owner moved it on (or another reclaimer got there first)
            add_usage(store, user_id=user_id, day=record.day, amounts=record.delivered - record.reserved)
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
        retry_after=resets - int(clock.now()),
        details={"quota": which, "limit": limit, "used": used, "requested": requested},
    )


def reserve(store: KVStore, *, user_id: str, characters: int, seconds: float, limits: Limits) -> Hold | None:
    """Admit a job of `characters` and about `seconds` of audio, or refuse it (see the module contract)."""
    limits = user_limits(store, user_id=user_id, limits=limits)
    if not limits.enabled:
        return None
    reclaim_expired(store, user_id=user_id)
    day, resets = _today()
    ttl = resets + 2 * DAY
    wanted = Amounts.of(characters=characters, seconds=seconds)
    totals = add_usage(store, user_id=user_id, day=day, amounts=wanted, ttl=ttl)
    checks = (
        ("characters", limits.characters, wanted.characters, totals.characters, 1),
        ("audio_seconds", limits.audio_seconds, wanted.audio_ms, totals.audio_ms, 1000),
    )
    for which, limit, amount, total, unit in checks:
        if limit > 0 and amount and total > limit * unit:
            add_usage(store, user_id=user_id, day=day, amounts=-wanted)
            raise _refuse(which, limit, (total - amount) / unit, amount / unit, resets)
    record = HoldRecord(
        user_id=user_id,
        hold_id=sortable_id(),
        day=day,
        reserved=wanted,
        delivered=Amounts(),
        seq=0,
        expires_at=int(clock.now()) + limits.hold_grace_s,
        ttl=ttl,
    )
    try:
        store.put(record.to_item())
    except BaseException:
        add_usage(store, user_id=user_id, day=day, amounts=-wanted)
        raise
    return Hold(store, record, grace_s=limits.hold_grace_s)


def usage(store: KVStore, *, user_id: str, limits: Limits) -> Usage:
    """Today's usage of the user against `limits` (theirs: `user_limits`; live holds included)."""
    limits = user_limits(store, user_id=user_id, limits=limits)
    if limits.enabled:
        reclaim_expired(store, user_id=user_id)
    day, resets = _today()
    item = store.get(*keys.usage(user_id, day)) or {}
    chars = max(0, int(item.get("characters", 0)))
    seconds = max(0, int(item.get("audio_ms", 0))) / 1000
    return Usage(
        period="day",
        limit=limits.characters,
        used=chars,
        remaining=max(0, limits.characters - chars) if limits.characters else None,
        resets_at=datetime.fromtimestamp(resets, UTC).isoformat().replace("+00:00", "Z"),
        audio_seconds=AudioUsage(
            limit=limits.audio_seconds,
            used=round(seconds, 3),
            remaining=round(max(0.0, limits.audio_seconds - seconds), 3) if limits.audio_seconds else None,
        ),
    )


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
        """Charge the characters delivered since the last call to the API key and the lifetime totals."""
        if characters <= self.characters:
            return
        delta = characters - self.characters
        if self._api_key_id is not None:
            api_keys.record_use(self._store, user_id=self._user_id, key_id=self._api_key_id, characters=delta)
        pk, sk = keys.totals(self._user_id)
        self._store.increment(pk, sk, "characters", delta)
        if self.characters == 0:  # this job's first delivery
            self._store.increment(pk, sk, "syntheses", 1)

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
