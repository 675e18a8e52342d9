"""The audio library: each user's generated audio, newest first; download, convert, inspect, delete.

Contract:
- Each audio is a `core.records.audio.AudioRecord` (its item, keys and blobs are defined there;
  written by core.services.synthesis). `get` returns one; `history` returns a `History` page of them:
  audio ids are time-sortable, so a descending query lists newest first, paged by an opaque cursor.
- Another user's audio id, or a malformed one, is indistinguishable from a missing one (404).
- `download` returns the stored bytes for the stored format (or a name for the same stream: ogg and opus).
  Another format is converted once and cached: the first download counts against the user's conversions
  rate (`policy.conversions`, a core.services.policy.MediaPolicy: 429 beyond), transcodes block by block
  inside one of `policy.decode_slots` process-wide slots, stores the converted blob next to the original
  (`AudioRecord.conversion_blob`) and references it from the record's `conversions` ({format: key}) and
  `blob_keys`, by a write conditioned on the record's `blob_keys` being as read; later downloads serve
  that blob with no encoding and no charge. A conversion whose record vanished meanwhile removes its blob
  again (404).
- `delete` removes the record first, conditioned on its `blob_keys` being as read (a conversion that
  lands in between makes it read again), then every blob it referenced, cached conversions included.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import ConditionFailed, Conflict, NotFound
from core.records import keys
from core.records.audio import AudioRecord
from core.services import limits
from core.services.clock import ID_PATTERN
from core.services.policy import MediaPolicy
from core.storage import BlobNotFound, BlobStore, Cond, KVStore

_ID = re.compile(ID_PATTERN)
MAX_PAGE = 100
_WRITE_TRIES = 8  # each retry follows another writer's change to blob_keys (one per format at most)


@dataclass(frozen=True)
class Download:
    data: bytes
    format: str
    content_type: str
    filename: str


@dataclass(frozen=True)
class History:
    """One page of a user's library, newest first; `cursor` reads the next page (None: the last)."""

    items: list[AudioRecord]
    cursor: str | None


def _read(store: KVStore, user_id: str, audio_id: str) -> AudioRecord | None:
    item = store.get(*keys.audio(user_id, audio_id)) if _ID.match(audio_id) else None
    return None if item is None else AudioRecord.from_item(item)


def get(store: KVStore, *, user_id: str, audio_id: str) -> AudioRecord:
    record = _read(store, user_id, audio_id)
    if record is None:
        raise NotFound(f"Audio '{audio_id}' not found", code="audio_not_found")
    return record


def history(store: KVStore, *, user_id: str, limit: int = 20, cursor: str | None = None) -> History:
    page = store.query(
        keys.user_pk(user_id), sk_prefix=keys.AUDIO, limit=max(1, min(limit, MAX_PAGE)), cursor=cursor, descending=True
    )
    return History(items=[AudioRecord.from_item(item) for item in page.items], cursor=page.cursor)


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

    record = get(store, user_id=user_id, audio_id=audio_id)
    target = codecs.get_format(fmt or record.format).name
    if codecs.same_stream(target, record.format):
        data = _blob(blobs, record.blob_key, audio_id)
    else:
        data = _cached(blobs, record, target) or _convert(
            store,
            blobs,
            record,
            target,
            policy=policy,
        )
    return Download(
        data=data,
        format=target,
        content_type=codecs.content_type(target),
        filename=f"{audio_id}.{codecs.extension(target)}",
    )


def _cached(blobs: BlobStore, record: AudioRecord, target: str) -> bytes | None:
    key = record.conversions.get(target)
    if not key:
        return None
    try:
        return blobs.get(key)
    except BlobNotFound:
        return None  # lost: converted (and referenced) again


def _convert(
    store: KVStore,
    blobs: BlobStore,
    record: AudioRecord,
    target: str,
    *,
    policy: MediaPolicy,
) -> bytes:
    from core.tts import codecs

    limits.hit(
        store,
        rate=policy.conversions,
        key=record.user_id,
        message=f"Too many format conversions ({policy.conversions.limit} per hour); download the stored "
        f"format ({record.format}) or try again later",
    )
    source = _blob(blobs, record.blob_key, record.audio_id)
    with codecs.decode_slot(limit=policy.decode_slots):
        if record.format == "pcm":
            data = codecs.encode(codecs.decode_pcm(source, record.sample_rate), target)
        else:
            data = codecs.transcode(source, target, max_duration_s=record.duration + 60.0)
    key = record.conversion_blob(codecs.extension(target))
    blobs.put(key, data, content_type=codecs.content_type(target))
    _reference(store, blobs, record, target, key)
    return data


def _unchanged(record: AudioRecord) -> Cond:
    """The record still exists and owns exactly the blobs it owned when read."""
    return Cond(exists=True, equals={"blob_keys": list(record.blob_keys)})


def _reference(store: KVStore, blobs: BlobStore, record: AudioRecord, target: str, key: str) -> None:
    """Add `key` to the record as read; a record changed meanwhile is read again, a vanished one answers 404."""
    current: AudioRecord | None = record
    try:
        for _ in range(_WRITE_TRIES):
            if current is None:
                raise NotFound(f"Audio '{record.audio_id}' not found", code="audio_not_found")
            if current.conversions.get(target) == key:
                return  # a parallel download of the same format referenced it already
            try:
                store.put(current.with_conversion(target, key).to_item(), cond=_unchanged(current))
                return
            except ConditionFailed:
                current = _read(store, record.user_id, record.audio_id)
    except BaseException:
        blobs.delete(key)
        raise
    blobs.delete(key)  # still contended after every try: served, not cached


def delete(store: KVStore, blobs: BlobStore, *, user_id: str, audio_id: str) -> None:
    record = get(store, user_id=user_id, audio_id=audio_id)
    for _ in range(_WRITE_TRIES):
        try:
            store.delete(*record.key, cond=_unchanged(record))
        except ConditionFailed:
            record = get(store, user_id=user_id, audio_id=audio_id)  # 404 when another delete won
            continue
        for key in record.blob_keys:
            blobs.delete(key)
        return
    raise Conflict(f"Audio '{audio_id}' changed while being deleted; try again", code="audio_busy")
