"""Maintenance: the sweep that removes what no account or record owns any more.

Contract of `sweep(store, blobs, grace_s=..., dry_run=..., now=...)`:
- (a) Orphan partitions: every `USER#<uid>` partition whose `PROFILE` is gone (an account deletion cut
  short, or work that raced one) loses all its items, the items they own elsewhere (`owned_keys`) and
  the blobs they list (`blob_keys`), whatever their age: a deleted profile never comes back.
- (b) Unfinished writes (`BlobInfo.partial`: a local `.tmp` left by a crash) older than `grace_s`.
- (c) Blobs under `audio/<uid>/` and `voices/<uid>/` older than `grace_s` that no record of that user
  references: a record references every key in its `blob_keys` and `blob_key`, a voice also its
  `reference_key` and each `conditionals` value. Blobs younger than `grace_s` are never touched, so a
  write in flight (blob first, then its record) is safe; other prefixes are left alone.
- `dry_run` removes nothing and reports what would go. The report (counts) is logged as one line.
Run it with `python -m core.maintenance sweep` (see `__main__`) or on a schedule inside the local server
(`core.maintenance.schedule`, SWEEP_INTERVAL_MINUTES). It is idempotent and safe to run concurrently
with itself and with traffic. On DynamoDB, (a) is a paginated Scan of the whole table.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from core.records import keys
from core.services.owned import partition_items, purge_partition
from core.storage import BlobStore, Item, KVStore

log = logging.getLogger("core.maintenance")


@dataclass
class SweepReport:
    dry_run: bool
    grace_s: float
    orphan_partitions: int = 0
    orphan_items: int = 0
    orphan_blobs: int = 0  # blobs listed by the items of orphan partitions
    partial_blobs: int = 0  # unfinished writes (.tmp)
    unreferenced_blobs: int = 0
    bytes_freed: int = 0  # of partial and unreferenced blobs
    young_blobs: int = 0  # not examined: younger than the grace period

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def blob_owner(key: str) -> str | None:
    """The user id a blob key belongs to (`audio/<uid>/...`, `voices/<uid>/...`), else None."""
    parts = key.split("/")
    if len(parts) >= 3 and parts[0] in keys.USER_BLOB_AREAS and parts[1]:
        return parts[1]
    return None


def referenced_keys(items: Iterable[Item]) -> set[str]:
    """Every blob key the given records point at."""
    keys: set[str] = set()
    for item in items:
        keys.update(k for k in item.get("blob_keys") or [] if isinstance(k, str))
        for attr in ("blob_key", "reference_key"):
            if isinstance(item.get(attr), str):
                keys.add(item[attr])
        conditionals = item.get("conditionals")
        if isinstance(conditionals, dict):
            keys.update(v for v in conditionals.values() if isinstance(v, str))
    return keys


def orphan_users(store: KVStore) -> list[str]:
    """Ids of users with items under `USER#<uid>` but no profile."""
    seen: dict[str, bool] = {}
    cursor: str | None = None
    while True:
        page = store.scan(pk_prefix=keys.USER, limit=500, cursor=cursor)
        for item in page.items:
            pk = item["pk"]
            if pk not in seen:
                seen[pk] = item["sk"] == keys.PROFILE or store.get(*keys.profile(keys.user_id_of(pk))) is not None
        if page.cursor is None:
            return sorted(keys.user_id_of(pk) for pk, alive in seen.items() if not alive)
        cursor = page.cursor


def sweep(
    store: KVStore, blobs: BlobStore, *, grace_s: float, dry_run: bool = False, now: float | None = None
) -> SweepReport:
    """Remove orphan partitions, stale partial writes and unreferenced user blobs; see the module contract."""
    now = time.time() if now is None else now
    report = SweepReport(dry_run=dry_run, grace_s=grace_s)
    orphans = set(orphan_users(store))
    gone: set[str] = set()
    for user_id in sorted(orphans):
        items, keys = purge_partition(store, blobs, user_id=user_id, dry_run=dry_run)
        report.orphan_partitions += 1
        report.orphan_items += items
        report.orphan_blobs += len(keys)
        gone.update(keys)

    references: dict[str, set[str]] = {}
    for info in blobs.listing():
        if info.key in gone:
            continue
        owner = None if info.partial else blob_owner(info.key)
        if not info.partial and owner is None:
            continue
        if now - info.modified < grace_s:
            report.young_blobs += 1
            continue
        if owner is not None:
            if owner not in references:
                references[owner] = (
                    set() if owner in orphans else referenced_keys(partition_items(store, user_id=owner))
                )
            if info.key in references[owner]:
                continue
        if not dry_run:
            blobs.delete(info.key)
        if info.partial:
            report.partial_blobs += 1
        else:
            report.unreferenced_blobs += 1
        report.bytes_freed += info.size
    log.info("sweep %s", json.dumps(report.as_dict(), sort_keys=True))
    return report
