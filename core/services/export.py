"""Account export: a zip of everything a user has here, written as it is sent (data portability).

Contract:
- `open_export(store, blobs, *, user_id)` reads the account first (so a missing account fails before any
  byte is sent) and returns an `Export`: the download's `filename` and `chunks`, a generator of the zip's
  bytes that does the work only as it is iterated, and stops (close()) when the client goes away.
- The archive (layout and documents: core.schemas.export) holds profile.json; for each cloned voice,
  oldest first, voices/<id>.json and its reference clip voices/<id>.flac; for each audio record,
  oldest first, audio/<id>.json and its stored file audio/<id>.<ext>; and manifest.json last. Only
  the caller's partition is read: another user's data cannot appear. A file that vanished meanwhile
  (deleted while the export ran) is left out, its document says `file: null` and the manifest lists it.
- Memory stays flat in the size of the library: the zip is written to a sink with no seek (zipfile then
  writes each entry's sizes in a data descriptor after its data), drained after every entry; records are
  read one page at a time; blobs one at a time (`BlobStore.get` returns a whole blob, so one file is in
  memory at once). Only the central directory (about 100 bytes per entry) grows with the library until it
  is written at the end. JSON is deflated; audio and clips (already compressed, or not worth it) are
  stored. ZIP64 is used where sizes need it.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from pydantic import BaseModel

from core.records import keys
from core.records.audio import AudioRecord
from core.records.voices import Voice
from core.schemas.export import AudioDoc, ManifestDoc, ProfileDoc, VoiceDoc
from core.services import users
from core.storage import BlobNotFound, BlobStore, KVStore, query_all

PAGE = 100  # records read per store query
CHUNK = 64 * 1024  # small writes are joined up to this size before they are handed out
_EPOCH_1980 = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry


@dataclass(frozen=True)
class Export:
    filename: str
    chunks: Generator[bytes, None, None]  # close() stops the work


class _Sink:
    """A write-only file without tell/seek: zipfile streams into it; `take()` hands out what it holds."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes, /) -> int:
        part = data if type(data) is bytes else bytes(data)  # the blob itself, not a copy
        self._parts.append(part)
        return len(part)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> Iterator[bytes]:
        parts, self._parts = self._parts, []
        pending = bytearray()
        for part in parts:
            if len(part) >= CHUNK:
                if pending:
                    yield bytes(pending)
                    pending.clear()
                yield part
            else:
                pending += part
                if len(pending) >= CHUNK:
                    yield bytes(pending)
                    pending.clear()
        if pending:
            yield bytes(pending)


def _stamp(iso: str) -> tuple[int, int, int, int, int, int]:
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return _EPOCH_1980
    stamp = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
    return max(stamp, _EPOCH_1980)


def _entry(name: str, when: str, *, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_stamp(when))
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def _document(archive: zipfile.ZipFile, name: str, when: str, doc: BaseModel) -> None:
    archive.writestr(_entry(name, when, compress=True), doc.model_dump_json(indent=2) + "\n")


def _blob(blobs: BlobStore, key: str) -> bytes | None:
    try:
        return blobs.get(key)
    except BlobNotFound:
        return None


def _records(store: KVStore, user_id: str, prefix: str) -> Iterator[dict[str, Any]]:
    return query_all(store, keys.user_pk(user_id), sk_prefix=prefix, page_size=PAGE)


def _extension(key: str) -> str:
    return key.rsplit("/", 1)[-1].rpartition(".")[2]


def _add(
    archive: zipfile.ZipFile, blobs: BlobStore, name: str, when: str, key: str, doc: Callable[..., BaseModel]
) -> bool:
    """`<name>.json` (`doc(file=...)`) and the blob at `key` as `<name>.<ext>`; False when the blob is gone
    (the document then says `"file": null`). One blob in memory at a time."""
    data = _blob(blobs, key)
    file = None if data is None else f"{name}.{_extension(key)}"
    _document(archive, f"{name}.json", when, doc(file=file))
    if file is None or data is None:
        return False
    archive.writestr(_entry(file, when, compress=False), data)
    return True


def _archive(store: KVStore, blobs: BlobStore, profile: ProfileDoc, created_at: str) -> Generator[bytes, None, None]:
    sink = _Sink()
    archive = zipfile.ZipFile(sink, mode="w", allowZip64=True)  # no seek: entries get data descriptors
    _document(archive, "profile.json", created_at, profile)
    yield from sink.take()
    missing: list[str] = []
    counts = {"voices": 0, "audio": 0}
    for item in _records(store, profile.id, keys.VOICE):
        voice = Voice.from_item(item)
        voice_doc = partial(VoiceDoc.of, voice)
        if not _add(archive, blobs, f"voices/{voice.id}", voice.created_at, voice.reference_key, voice_doc):
            missing.append(f"voices/{voice.id}")
        counts["voices"] += 1
        yield from sink.take()
    for item in _records(store, profile.id, keys.AUDIO):
        record = AudioRecord.from_item(item)
        audio_doc = partial(AudioDoc.of, record)
        if not _add(archive, blobs, f"audio/{record.audio_id}", record.created_at, record.blob_key, audio_doc):
            missing.append(f"audio/{record.audio_id}")
        counts["audio"] += 1
        yield from sink.take()
    now = datetime.now(UTC)
    manifest = ManifestDoc(exported_at=now, user_id=profile.id, missing_files=missing, **counts)
    _document(archive, "manifest.json", now.isoformat(), manifest)
    archive.close()  # the central directory
    yield from sink.take()


def open_export(store: KVStore, blobs: BlobStore, *, user_id: str) -> Export:
    """The account's export: `chunks` writes the zip as it is iterated (see the module's contract)."""
    user = users.get_user(store, user_id=user_id)
    day = datetime.now(UTC).strftime("%Y%m%d")
    filename = f"chatterbox-export-{user.username}-{day}.zip"
    return Export(filename=filename, chunks=_archive(store, blobs, ProfileDoc.of(user), user.created_at))
