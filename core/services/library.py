"""The audio library: each user's generated audio, newest first; download, convert, inspect, delete.

Contract:
- Records are `USER#<uid>` / `AUDIO#<aid>` (written by core.services.synthesis); audio ids are
  time-sortable, so a descending query lists newest first, paged by an opaque cursor.
- Another user's audio id, or a malformed one, is indistinguishable from a missing one (404).
- `download` returns the stored bytes for the stored format (or a name for the same stream: ogg and
  opus). Another format is converted once and cached: the first download counts against the user's
  conversions rate (`policy.conversions`, a core.services.policy.MediaPolicy: 429 beyond), transcodes
  block by block inside one of `policy.decode_slots` process-wide slots, stores the converted blob next
  to the original (`audio/<uid>/<aid>.<ext>`) and references it from the record's `conversions`
  ({format: key}) and `blob_keys`, by a write conditioned on the record's `blob_keys` being as read;
  later downloads serve that blob with no encoding and no charge. A conversion whose record vanished
  meanwhile removes its blob again (404).
- `delete` removes the record first, conditioned on its `blob_keys` being as read (a conversion that
  lands in between makes it read again), then every blob it referenced, cached conversions included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ConditionFailed, Conflict, NotFound
from core.services import limits
from core.services.clock import ID_PATTERN
from core.services.policy import MediaPolicy
from core.services.users import user_pk
from core.storage import BlobNotFound, BlobStore, Cond, Item, KVStore, Page

_ID = re.compile(ID_PATTERN)
MAX_PAGE = 100
_WRITE_TRIES = 8  # each retry follows another writer's change to blob_keys (one per format at most)


@dataclass(frozen=True)
class Download:
    data: bytes
    format: str
    content_type: str
    filename: str


def get(store: KVStore, *, user_id: str, audio_id: str) -> Item:
    item = store.get(user_pk(user_id), f"AUDIO#{audio_id}") if _ID.match(audio_id) else None
    if item is None:
        raise NotFound(f"Audio '{audio_id}' not found", code="audio_not_found")
    return item


def history(store: KVStore, *, user_id: str, limit: int = 20, cursor: str | None = None) -> Page:
    return store.query(
        user_pk(user_id), sk_prefix="AUDIO#", limit=max(1, min(limit, MAX_PAGE)), cursor=cursor, descending=True
    )


def _blob(blobs: BlobStore, key: str, audio_id: str) -> bytes:
    try:
        return blobs.get(key)
    except BlobNotFound as exc:
        raise NotFound(f"Audio '{audio_id}' not found", code="audio_not_found") from exc


def download(
    store: KVStore,
    blobs: BlobStore,
    *,
    user_id: str,
    audio_id: str,
    fmt: str | None = None,
    policy: MediaPolicy,
) -> Download:
    from core.tts import codecs

    item = get(store, user_id=user_id, audio_id=audio_id)
    target = codecs.get_format(fmt or item["format"]).name
    if codecs.same_stream(target, item["format"]):
        data = _blob(blobs, item["blob_key"], audio_id)
    else:
        data = _cached(blobs, item, target) or _convert(
            store,
            blobs,
            item,
            target,
            user_id=user_id,
            policy=policy,
        )
    return Download(
        data=data,
        format=target,
        content_type=codecs.content_type(target),
        filename=f"{audio_id}.{codecs.extension(target)}",
    )


def _cached(blobs: BlobStore, item: Item, target: str) -> bytes | None:
    key = (item.get("conversions") or {}).get(target)
    if not key:
        return None
    try:
        return blobs.get(key)
    except BlobNotFound:
        return None  # lost: converted (and referenced) again


def _convert(
    store: KVStore,
    blobs: BlobStore,
    item: Item,
    target: str,
    *,
    user_id: str,
    policy: MediaPolicy,
) -> bytes:
    from core.services.synthesis import audio_key
    from core.tts import codecs

    audio_id = item["audio_id"]
    limits.hit(
        store,
        rate=policy.conversions,
        key=user_id,
        message=f"Too many format conversions ({policy.conversions.limit} per hour); download the stored "
        f"format ({item['format']}) or try again later",
    )
    source = _blob(blobs, item["blob_key"], audio_id)
    with codecs.decode_slot(limit=policy.decode_slots):
        if item["format"] == "pcm":
            data = codecs.encode(codecs.decode_pcm(source, int(item["sample_rate"])), target)
        else:
            data = codecs.transcode(source, target, max_duration_s=float(item["duration"]) + 60.0)
    key = audio_key(user_id, audio_id, target)
    blobs.put(key, data, content_type=codecs.content_type(target))
    _reference(store, blobs, item, target, key)
    return data


def _reference(store: KVStore, blobs: BlobStore, item: Item, target: str, key: str) -> None:
    """Add `key` to the record as read; a record changed meanwhile is read again, a vanished one answers 404."""
    current: Item | None = item
    try:
        for _ in range(_WRITE_TRIES):
            if current is None:
                raise NotFound(f"Audio '{item['audio_id']}' not found", code="audio_not_found")
            conversions = dict(current.get("conversions") or {})
            if conversions.get(target) == key:
                return  # a parallel download of the same format referenced it already
            keys = current.get("blob_keys")
            updated = {**current, "conversions": {**conversions, target: key}, "blob_keys": [*(keys or []), key]}
            try:
                store.put(updated, cond=Cond(exists=True, equals={"blob_keys": keys}))
                return
            except ConditionFailed:
                current = store.get(item["pk"], item["sk"])
    except BaseException:
        blobs.delete(key)
        raise
    blobs.delete(key)  # still contended after every try: served, not cached


def delete(store: KVStore, blobs: BlobStore, *, user_id: str, audio_id: str) -> None:
    item = get(store, user_id=user_id, audio_id=audio_id)
    for _ in range(_WRITE_TRIES):
        try:
            store.delete(item["pk"], item["sk"], cond=Cond(exists=True, equals={"blob_keys": item.get("blob_keys")}))
        except ConditionFailed:
            item = get(store, user_id=user_id, audio_id=audio_id)  # 404 when another delete won
            continue
        for key in item.get("blob_keys") or []:
            blobs.delete(key)
        return
    raise Conflict(f"Audio '{audio_id}' changed while being deleted; try again", code="audio_busy")
