"""Storage: the key-value protocol and its backends, blob stores, and factories from Settings.

Contract: `make_store(settings)` / `make_blobs(settings)` build the configured backend; nothing
else in the code base constructs a backend from configuration.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import MUST_EXIST, MUST_NOT_EXIST, Check, Cond, Delete, Item, KVStore, Page, Put, query_all
from .blobs import BlobInfo, BlobNotFound, BlobStore, LocalBlobStore, S3BlobStore

if TYPE_CHECKING:
    from core.config import Settings

__all__ = [
    "MUST_EXIST",
    "MUST_NOT_EXIST",
    "BlobInfo",
    "BlobNotFound",
    "BlobStore",
    "Check",
    "Cond",
    "Delete",
    "Item",
    "KVStore",
    "LocalBlobStore",
    "Page",
    "Put",
    "S3BlobStore",
    "make_blobs",
    "make_store",
    "query_all",
]


def make_store(settings: Settings) -> KVStore:
    if settings.storage_backend == "dynamodb":
        from .dynamodb import DynamoStore

        return DynamoStore(
            settings.dynamodb_table, endpoint_url=settings.dynamodb_endpoint_url, region_name=settings.aws_region
        )
    from .sqlite import SqliteStore

    return SqliteStore(settings.resolved_sqlite_path)


def make_blobs(settings: Settings) -> BlobStore:
    if settings.blob_backend == "s3":
        return S3BlobStore(settings.s3_bucket, endpoint_url=settings.s3_endpoint_url, region_name=settings.aws_region)
    return LocalBlobStore(settings.resolved_blob_dir)
