"""The sweep (core.maintenance): orphan partitions, crash leftovers and unreferenced blobs go; the rest stays.

Runs on SQLite + a local directory and on DynamoDB + S3 (moto on loopback). Ages are given to the
sweep through its `now` argument (S3 times cannot be set); on the local directory the file times are
set too, so the grace period is checked against real modification times.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.maintenance import blob_owner, orphan_users, sweep
from core.storage import BlobStore, KVStore, LocalBlobStore, S3BlobStore
from core.storage.sqlite import SqliteStore
from tests.support.stores import make_dynamo

HOUR = 3600.0
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite+local", "dynamodb+s3"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[KVStore, BlobStore]]:
    if request.param == "sqlite+local":
        store = SqliteStore(tmp_path / "kv.db")
        yield store, LocalBlobStore(tmp_path / "blobs")
        store.close()
        return
    import boto3

    url = request.getfixturevalue("moto_url")
    client = boto3.client("s3", endpoint_url=url, region_name="us-east-1")
    bucket = f"b-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket)
    yield make_dynamo(url), S3BlobStore(bucket, client=client)


def keys(blobs: BlobStore) -> set[str]:
    return {info.key for info in blobs.listing()}


def seed(store: KVStore, blobs: BlobStore) -> None:
    """A live user with referenced blobs (incl. a cached conversion and conditionals), and a deleted one."""
    store.put({"pk": "USER#alive", "sk": "PROFILE", "id": "alive"})
    store.put(
        {
            "pk": "USER#alive",
            "sk": "AUDIO#1",
            "blob_key": "audio/alive/1.wav",
            "blob_keys": ["audio/alive/1.wav", "audio/alive/1.mp3"],  # a cached conversion is listed here
        }
    )
    store.put(
        {
            "pk": "USER#alive",
            "sk": "VOICE#v",
            "reference_key": "voices/alive/v/reference.flac",
            "conditionals": {"chatterbox": "voices/alive/v/chatterbox.bin"},
            "blob_keys": ["voices/alive/v/reference.flac"],
        }
    )
    # The deleted user: profile gone, a record, an API key (with its lookup item outside the partition).
    store.put({"pk": "USER#gone", "sk": "AUDIO#2", "blob_keys": ["audio/gone/2.wav"]})
    store.put({"pk": "USER#gone", "sk": "APIKEY#k", "owned_keys": [["APIKEY#k", "APIKEY"]]})
    store.put({"pk": "APIKEY#k", "sk": "APIKEY", "user_id": "gone"})
    store.put({"pk": "USER#gone", "sk": "USAGE#20261201", "characters": -12, "ttl": int(time.time()) + 86400})
    for key in (
        "audio/alive/1.wav",
        "audio/alive/1.mp3",
        "voices/alive/v/reference.flac",
        "voices/alive/v/chatterbox.bin",
        "audio/alive/stray.wav",  # unreferenced: a crash between blob and record
        "audio/gone/2.wav",
        "audio/gone/unlisted.wav",
        "exports/alive/report.bin",  # outside the user areas: never the sweep's business
    ):
        blobs.put(key, b"x" * 10)


KEPT = {
    "audio/alive/1.wav",
    "audio/alive/1.mp3",
    "voices/alive/v/reference.flac",
    "voices/alive/v/chatterbox.bin",
    "exports/alive/report.bin",
}


def test_sweep_removes_orphans_and_unreferenced_blobs_and_keeps_the_rest(backend: tuple[KVStore, BlobStore]) -> None:
    store, blobs = backend
    seed(store, blobs)
    assert orphan_users(store) == ["gone"]
    later = time.time() + 2 * HOUR
    dry = sweep(store, blobs, grace_s=HOUR, dry_run=True, now=later)
    assert (dry.orphan_partitions, dry.orphan_items, dry.orphan_blobs, dry.unreferenced_blobs) == (1, 3, 1, 2)
    assert len(store.query("USER#gone").items) == 3  # a dry run removes nothing
    assert len(keys(blobs)) == 8

    report = sweep(store, blobs, grace_s=HOUR, now=later)
    assert report.as_dict() == {**dry.as_dict(), "dry_run": False}
    assert store.query("USER#gone").items == []
    assert store.get("APIKEY#k", "APIKEY") is None  # owned elsewhere, removed with its owner
    assert keys(blobs) == KEPT
    assert len(store.query("USER#alive").items) == 3
    again = sweep(store, blobs, grace_s=HOUR, now=later)  # idempotent
    assert (again.orphan_partitions, again.unreferenced_blobs, again.partial_blobs) == (0, 0, 0)


def test_young_blobs_are_never_touched(backend: tuple[KVStore, BlobStore]) -> None:
    store, blobs = backend
    seed(store, blobs)
    report = sweep(store, blobs, grace_s=HOUR)  # everything was written just now
    assert report.unreferenced_blobs == 0
    assert report.young_blobs >= 2
    assert keys(blobs) == KEPT | {"audio/alive/stray.wav", "audio/gone/unlisted.wav"}
    assert store.query("USER#gone").items == []  # a partition without a profile goes whatever its age


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_local_grace_uses_file_times_and_stale_tmp_files_go(tmp_path: Path) -> None:
    store, blobs = SqliteStore(tmp_path / "kv.db"), LocalBlobStore(tmp_path / "blobs")
    store.put({"pk": "USER#u", "sk": "PROFILE"})
    blobs.put("audio/u/old.wav", b"old")
    blobs.put("audio/u/new.wav", b"new")
    age(tmp_path / "blobs/audio/u/old.wav", 2 * HOUR)
    stale = tmp_path / "blobs/audio/u/.x.wav.00112233aabb.tmp"
    fresh = tmp_path / "blobs/voices/u/v/.reference.flac.445566778899.tmp"
    fresh.parent.mkdir(parents=True)
    for leftover in (stale, fresh):
        leftover.write_bytes(b"partial")
    age(stale, 2 * HOUR)
    report = sweep(store, blobs, grace_s=HOUR)
    assert (report.partial_blobs, report.unreferenced_blobs, report.young_blobs) == (1, 1, 2)
    assert report.bytes_freed == len(b"partial") + len(b"old")
    assert not stale.exists()
    assert fresh.exists()
    assert keys(blobs) == {"audio/u/new.wav", "voices/u/v/.reference.flac.445566778899.tmp"}


_WRITER = """
import os, sys
from core.storage import LocalBlobStore

real_fsync = os.fsync

def fsync_then_wait(fd):  # timing only: hold the writer between its write and its rename
    real_fsync(fd)
    print("written", flush=True)
    sys.stdin.read()

os.fsync = fsync_then_wait
LocalBlobStore(sys.argv[1]).put("audio/u/big.wav", os.urandom(32 * 1024 * 1024))
"""


def test_a_writer_killed_mid_put_leaves_a_tmp_file_that_the_sweep_removes(tmp_path: Path) -> None:
    """A real SIGKILL of a process inside LocalBlobStore.put. The child's os.fsync is wrapped to pause
    after the data is written (a test double for timing only), so the kill lands mid-write every time."""
    root = tmp_path / "blobs"
    child = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(root)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline() == b"written\n"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    blobs = LocalBlobStore(root)
    leftovers = list(blobs.listing())
    assert [(info.partial, info.size) for info in leftovers] == [(True, 32 * 1024 * 1024)]
    assert not (root / "audio/u/big.wav").exists()
    store = SqliteStore(tmp_path / "kv.db")
    assert sweep(store, blobs, grace_s=HOUR).partial_blobs == 0  # young: could be a write in flight
    assert sweep(store, blobs, grace_s=HOUR, now=time.time() + 2 * HOUR).partial_blobs == 1
    assert list(blobs.listing()) == []


def test_blob_owner_matches_the_keys_the_services_write() -> None:
    from core.records import keys

    assert blob_owner(keys.audio_blob("u1", "a1", "mp3")) == "u1"
    assert blob_owner(keys.voice_reference_blob("u1", "v1")) == "u1"
    assert blob_owner(keys.voice_conditionals_blob("u1", "v1", "chatterbox-conds-v1")) == "u1"
    assert blob_owner("exports/u1/x") is None
    assert blob_owner("audio/x.wav") is None


def test_command_line_sweep_reports_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from core import runtime
    from core.maintenance.__main__ import main

    store, blobs = runtime.store(), runtime.blobs()
    store.put({"pk": "USER#gone", "sk": "AUDIO#1", "blob_keys": ["audio/gone/1.wav"]})
    blobs.put("audio/gone/1.wav", b"x")
    assert main(["sweep", "--dry-run"]) == 0
    dry = json.loads(capsys.readouterr().out)
    assert (dry["dry_run"], dry["orphan_partitions"], dry["orphan_blobs"]) == (True, 1, 1)
    assert store.query("USER#gone").items != []
    assert main(["sweep", "--grace-minutes", "30"]) == 0
    done = json.loads(capsys.readouterr().out)
    assert (done["dry_run"], done["orphan_partitions"], done["grace_s"]) == (False, 1, 1800)
    assert store.query("USER#gone").items == []
    assert list(blobs.listing()) == []


def test_a_failing_scheduled_run_is_logged_and_the_schedule_goes_on() -> None:
    from core.maintenance.schedule import Sweeper

    calls: list[int] = []
    second = threading.Event()

    def run() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("storage hiccup")
        second.set()

    sweeper = Sweeper(run, interval_s=0.01)
    sweeper.start()
    try:
        assert second.wait(30)
    finally:
        sweeper.stop()
    assert len(calls) >= 2


@pytest.mark.parametrize("minutes", [0, 60])
def test_the_local_server_sweeps_at_start_and_on_schedule_only_when_asked(
    monkeypatch: pytest.MonkeyPatch, minutes: int
) -> None:
    from fastapi.testclient import TestClient

    from core import runtime

    monkeypatch.setenv("SWEEP_INTERVAL_MINUTES", str(minutes))
    runtime.reset()
    store = runtime.store()
    store.put({"pk": "USER#gone", "sk": "AUDIO#1"})
    import local_server

    with TestClient(local_server.app) as client:
        assert client.get("/health").status_code == 200
        deadline = time.monotonic() + 30
        while minutes and store.query("USER#gone").items and time.monotonic() < deadline:
            time.sleep(0.05)  # the first sweep runs on its thread right after start
    assert (store.query("USER#gone").items == []) is (minutes > 0)
