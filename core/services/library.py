"""The audio library: each user's generated audio, newest first; download, convert, inspect, delete.

Contract:
- Records are `USER#<uid>` / `AUDIO#<aid>` (written by core.services.synthesis); audio ids are
  time-sortable, so a descending query lists newest first, paged by an opaque cursor.
- Another user's audio id, or a malformed one, is indistinguishable from a missing one (404).
- `download` returns the stored bytes, or converts them on the fly when another format is asked for.
- `delete` removes the record first (conditionally), then the blob.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import NotFound
from core.services.clock import ID_PATTERN
from core.services.users import delete_with_blobs, user_pk
from core.storage import BlobNotFound, BlobStore, Item, KVStore, Page

_ID = re.compile(ID_PATTERN)
MAX_PAGE = 100


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


def download(store: KVStore, blobs: BlobStore, *, user_id: str, audio_id: str, fmt: str | None = None) -> Download:
    from core.tts import codecs

    item = get(store, user_id=user_id, audio_id=audio_id)
    try:
        data = blobs.get(item["blob_key"])
    except BlobNotFound as exc:
        raise NotFound(f"Audio '{audio_id}' not found", code="audio_not_found") from exc
    target = fmt or item["format"]
    if target != item["format"]:
        audio = codecs.decode(data, max_duration_s=float(item["duration"]) + 60.0)
        data = codecs.encode(audio, target)
    return Download(
        data=data,
        format=target,
        content_type=codecs.content_type(target),
        filename=f"{audio_id}.{codecs.extension(target)}",
    )


def delete(store: KVStore, blobs: BlobStore, *, user_id: str, audio_id: str) -> None:
    item = get(store, user_id=user_id, audio_id=audio_id)
    delete_with_blobs(store, blobs, item)
