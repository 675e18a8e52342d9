"""Blob storage protocol (reference clips, conditionals, generated audio) with local and S3 backends.

Contract:
- Keys are relative paths of `[A-Za-z0-9._-]` segments joined by "/"; anything else (absolute
  paths, "..", empty segments) raises ValueError before touching storage: no traversal is possible.
- `put` writes the whole object or nothing (local: write aside, fsync, rename).
- `get` raises `BlobNotFound` for a missing key; `delete` of a missing key is a no-op (local: it also
  removes the directories it leaves empty, and `put` recreates a directory pruned under it).
- `listing(prefix)` yields a `BlobInfo` (key, size, modified epoch seconds) for every object whose key
  starts with `prefix`, in no promised order, including unfinished writes (`partial=True`: a local
  `.<name>.<hex>.tmp` left by a crash; S3 writes are atomic and have none). `delete` accepts the key of
  a partial write as listed; every other call refuses it like any invalid key.
- Backend failures (disk full, read-only directory, unreachable S3) raise `StorageUnavailable`.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Protocol, runtime_checkable

from core.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_PARTIAL_HEX = 6  # random bytes in a local temporary name
_PARTIAL = re.compile(rf"^\.(?P<name>[A-Za-z0-9][A-Za-z0-9._-]{{0,127}})\.[0-9a-f]{{{2 * _PARTIAL_HEX}}}\.tmp$")


class BlobNotFound(KeyError):
    """No blob under this key."""


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int
    modified: float  # epoch seconds of the last write
    partial: bool = False  # an unfinished write (never readable through `get`)


def is_partial_name(name: str) -> bool:
    """Whether a file name is a local temporary write (`.<name>.<hex>.tmp`)."""
    return _PARTIAL.match(name) is not None


def check_key(key: str, *, partial_ok: bool = False) -> str:
    parts = key.split("/")
    last_ok = partial_ok and len(parts) > 1 and is_partial_name(parts[-1]) and ".." not in parts[-1]
    segments = parts[:-1] if last_ok else parts
    if not key or len(key) > 512 or not all(_SEGMENT.match(p) and ".." not in p for p in segments):
        raise ValueError(f"invalid blob key: {key!r}")
    return key


@runtime_checkable
class BlobStore(Protocol):
    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def listing(self, prefix: str = "") -> Iterator[BlobInfo]: ...

    def ping(self) -> None: ...


class LocalBlobStore:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            raise StorageUnavailable(f"Blob storage is unavailable: {exc.strerror or exc}") from exc

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        path = self._path(key)
        with self._errors():
            tmp = path.with_name(f".{path.name}.{secrets.token_hex(_PARTIAL_HEX)}.tmp")
            try:
                with self._open_aside(tmp) as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)

    @staticmethod
    def _open_aside(tmp: Path) -> BinaryIO:
        for attempt in range(3):  # a concurrent delete may prune the directory just made
            tmp.parent.mkdir(parents=True, exist_ok=True)
            try:
                return open(tmp, "wb")  # the caller closes it
            except FileNotFoundError:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with self._errors():
                return path.read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def delete(self, key: str) -> None:
        path = self.root / check_key(key, partial_ok=True)
        with self._errors():
            path.unlink(missing_ok=True)
            for parent in path.parents:  # prune the directories this leaves empty (never the root)
                if parent == self.root or not parent.is_relative_to(self.root):
                    break
                try:
                    parent.rmdir()
                except OSError:  # not empty (or gone): stop there
                    break

    def listing(self, prefix: str = "") -> Iterator[BlobInfo]:
        # Walk only the deepest directory the prefix names; files neither ours nor partial are skipped.
        top = self.root / prefix.rsplit("/", 1)[0] if "/" in prefix else self.root
        for directory, _, files in os.walk(top):
            for name in files:
                path = Path(directory) / name
                key = path.relative_to(self.root).as_posix()
                if not key.startswith(prefix):
                    continue
                try:
                    check_key(key, partial_ok=True)
                    stat = path.stat()
                except (ValueError, FileNotFoundError):  # not a key of ours, or removed meanwhile
                    continue
                yield BlobInfo(key, stat.st_size, stat.st_mtime, partial=is_partial_name(name))

    def ping(self) -> None:
        with self._errors():
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise StorageUnavailable(f"Blob directory is not writable: {self.root}")


class S3BlobStore:
    def __init__(self, bucket: str, *, client: S3Client | None = None, **client_kwargs: Any) -> None:
        self.bucket = bucket
        if client is None:
            import boto3
            from botocore.config import Config

            config = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=30)
            client = boto3.client("s3", config=config, **client_kwargs)
        self.client = client

    @contextmanager
    def _errors(self, key: str = "") -> Iterator[None]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise BlobNotFound(key) from exc
            raise StorageUnavailable(f"Blob storage is unavailable: {code or exc}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"Blob storage is unavailable: {exc}") from exc

    def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=check_key(key), Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        with self._errors(key):
            return self.client.get_object(Bucket=self.bucket, Key=check_key(key))["Body"].read()

    def delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def listing(self, prefix: str = "") -> Iterator[BlobInfo]:
        with self._errors():
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            for page in pages:
                for obj in page.get("Contents", []):
                    yield BlobInfo(obj["Key"], int(obj["Size"]), obj["LastModified"].timestamp())

    def ping(self) -> None:
        with self._errors():
            self.client.head_bucket(Bucket=self.bucket)
