"""Records owned by an account: stored only while the account exists, deleted with their blobs.

Contract:
- `put_owned` stores a record (a core.records record, or its item) in a user's partition
  (`USER#<uid>`) only while the profile exists (one transaction with a check on `PROFILE`), so work
  that finishes after the account was deleted stores nothing: it raises `account_deleted` (401, as any
  later request with the same credentials) and the caller removes the blobs it wrote. The profile goes
  first when an account is deleted (core.services.users.delete_user), so every record stored before
  that is seen and removed with the account; what a crash leaves between is for `core.maintenance`.
- `delete_with_blobs` deletes one record (it must still exist) and then its `blob_keys`.
- These work on any record kind, so they read items: `blob_keys` (blob keys the item owns) and
  `owned_keys` ([pk, sk] pairs of items it owns outside the partition) are the attributes they rely on.
- `partition_items` reads a whole partition; `purge_partition` removes what is left under a partition
  whose profile is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from core.errors import ConditionFailed, NotFound, TransactionConflict, Unauthorized
from core.records import keys
from core.storage import MUST_EXIST, MUST_NOT_EXIST, BlobStore, Check, Cond, Item, KVStore, Put, query_all
from core.storage.base import Op


class StoredRecord(Protocol):
    """What a typed record (core.records) offers the generic machinery here: its item."""

    def to_item(self) -> Item: ...


def _item(record: Item | StoredRecord) -> Item:
    return record if isinstance(record, dict) else record.to_item()


def account_deleted() -> Unauthorized:
    return Unauthorized("The account was deleted while this request ran; nothing was stored", code="account_deleted")


def put_owned(
    store: KVStore, record: Item | StoredRecord, *, cond: Cond | None = MUST_NOT_EXIST, extra: Sequence[Op] = ()
) -> None:
    """Store `record` (a typed record or its item, in a `USER#<uid>` partition) and `extra` ops only if
    that user's profile exists.

    Raises `account_deleted` (Unauthorized) when the profile is gone, `ConditionFailed` when `cond` (on
    the item) or an extra op's condition fails; nothing is written in either case.
    """
    item = _item(record)
    pk = str(item["pk"])
    if not pk.startswith(keys.USER):
        raise ValueError(f"not a user's record: {pk}")
    try:
        store.transact([Check(*keys.profile(keys.user_id_of(pk)), MUST_EXIST), Put(item, cond=cond), *extra])
    except TransactionConflict as exc:
        if exc.reasons and exc.reasons[0]:
            raise account_deleted() from exc
        raise ConditionFailed(f"condition failed for {pk}/{item['sk']}: {exc.reasons}") from exc


def delete_with_blobs(store: KVStore, blobs: BlobStore, record: Item | StoredRecord) -> None:
    """Delete a record (it must still exist: a concurrent delete that won answers 404), then the blobs
    its item lists in `blob_keys`.

    The record goes first: from then on nothing points at the blobs, so a failure while removing them
    can leave an unreferenced file, never a record whose file is gone.
    """
    item = _item(record)
    try:
        store.delete(item["pk"], item["sk"], cond=MUST_EXIST)
    except ConditionFailed as exc:
        raise NotFound("Already deleted", code="not_found") from exc
    for key in item.get("blob_keys") or []:
        blobs.delete(key)


def partition_items(store: KVStore, *, user_id: str) -> list[Item]:
    """Every item under `USER#<uid>`, all pages read."""
    return list(query_all(store, keys.user_pk(user_id)))


def purge_partition(store: KVStore, blobs: BlobStore, *, user_id: str, dry_run: bool = False) -> tuple[int, list[str]]:
    """Remove what is left under `USER#<uid>` once its profile is gone (a deletion cut short, work that
    raced it): each item, the items it owns elsewhere, then its blobs (a failure between leaves only
    an unreferenced blob). Returns (items, blob keys) removed, or that would be with `dry_run`.
    Refuses (ValueError) a partition whose profile exists.
    """
    if store.get(*keys.profile(user_id)) is not None:
        raise ValueError(f"user {user_id} still has a profile")
    items = partition_items(store, user_id=user_id)
    removed: list[str] = []
    for item in items:
        if not dry_run:
            store.delete(item["pk"], item["sk"])
            for pk, sk in item.get("owned_keys") or []:
                store.delete(pk, sk)
        for key in item.get("blob_keys") or []:
            if not dry_run:
                blobs.delete(key)
            removed.append(key)
    return len(items), removed
