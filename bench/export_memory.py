"""Account export (GET /profile/export): server memory stays flat as the library grows.

A fresh `uvicorn local_server:app` (SQLite, local blobs) holds two users: `small` with a few audio files and
`large` with many more (full: 10 and 200 files of 1 MiB, a 200 MiB library; random bytes, so the zip cannot
shrink them). The records and blobs are written straight into the server's store and blob directory (made
by synthesis they would take hours; the export reads them the same way). Each user's export is downloaded as
a stream over loopback and checked (the zip opens, one file and one document per record, the file sizes add
up), while the server's RSS is sampled every 50 ms. Baseline: the peak RSS of the small export, in the same
server just before. Bar: the large export's peak is at most 1.25x the small one's, while its library is 20x
larger (a server that held the zip, or the library, would add ~200 MiB).
"""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from bench.machine import RssSampler, proc_status_mib
from bench.results import Figure, Profile, Result, Table
from bench.servers import Server, temp_dir
from core.config import Settings
from core.records.audio import AudioRecord
from core.services.clock import sortable_id, utcnow_iso
from core.storage import make_blobs, make_store
from tests.support.users import create_at

RATIO_BAR = 1.25
MIB = 1024 * 1024


def seed(data_dir: Path, user_id: str, *, files: int, size: int) -> int:
    """`files` audio records of `size` random bytes each for `user_id`, in the server's store; their bytes."""
    settings = Settings(data_dir=data_dir, storage_backend="sqlite", blob_backend="local")
    store, blobs = make_store(settings), make_blobs(settings)
    for n in range(files):
        record = AudioRecord.new(
            user_id=user_id,
            audio_id=sortable_id(),
            text=f"Bench record {n}.",
            voice_id="en_US-joe-medium",
            engine="piper",
            format="wav",
            extension="wav",
            sample_rate=22050,
            duration=size / 44100,
            size_bytes=size,
            speed=1.0,
            pitch=1.0,
            options_ignored=(),
            created_at=utcnow_iso(),
            api_key_id=None,
        )
        blobs.put(record.blob_key, os.urandom(size), content_type="audio/wav")
        store.put(record.to_item())
    return files * size


def download(url: str, headers: dict[str, str], out: Path, pid: int) -> tuple[float, float, int]:
    """Stream the export to `out`; (peak RSS MiB while it ran, wall s, zip bytes)."""
    import httpx

    started = time.perf_counter()
    with (
        RssSampler(pid) as sampler,
        httpx.Client(base_url=url, headers=headers, timeout=600) as client,
        client.stream("GET", "/profile/export") as response,
        out.open("wb") as sink,
    ):
        response.raise_for_status()
        for chunk in response.iter_bytes():
            sink.write(chunk)
    return sampler.peak, time.perf_counter() - started, out.stat().st_size


def check(path: Path, files: int, size: int) -> None:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        audio = [i for i in archive.infolist() if i.filename.startswith("audio/") and i.filename.endswith(".wav")]
        assert len(names) == 2 + 2 * files, len(names)
        assert sum(i.file_size for i in audio) == files * size


def run(profile: Profile) -> Result:
    small_files, large_files = profile.pick((10, 200), (5, 50), (2, 8))
    size = profile.pick(MIB, MIB, 256 * 1024)
    result = Result("export_memory", "Account export: server memory as the library grows", profile.name)
    result.params.update({"file_bytes": size, "small_files": small_files, "large_files": large_files})
    rows: list[list[object]] = []
    peaks: dict[str, float] = {}
    with temp_dir("export") as tmp, Server("local_server:app", tmp / "data", RATE_LIMIT_EXPORTS_PER_HOUR="0") as server:
        assert server.proc is not None
        for name, files in (("small", small_files), ("large", large_files)):
            user = create_at(server.url, name)
            library = seed(tmp / "data", user["id"], files=files, size=size)
            idle = proc_status_mib(server.proc.pid)
            peak, took, zipped = download(server.url, user["headers"], tmp / f"{name}.zip", server.proc.pid)
            check(tmp / f"{name}.zip", files, size)
            peaks[name] = peak
            rows.append([name, files, library / MIB, zipped / MIB, f"{took:.1f}", idle, peak, peak - idle])
            (tmp / f"{name}.zip").unlink()
    result.tables.append(
        Table(
            "GET /profile/export of each library, streamed over loopback",
            ["user", "audio files", "library MiB", "zip MiB", "wall s", "RSS before (MiB)", "peak RSS (MiB)", "growth"],
            rows,
        )
    )
    ratio = peaks["large"] / peaks["small"] if peaks["small"] else None
    result.figures.append(
        Figure(
            f"server peak RSS exporting {large_files} files",
            peaks["large"],
            "MiB",
            peaks["small"],
            f"same server exporting {small_files} files",
            ratio,
            f"<= {RATIO_BAR}x",
            ratio is not None and ratio <= RATIO_BAR,
        )
    )
    result.notes.append(
        f"The large library is {large_files // small_files}x the small one; the server holds one file at a time "
        "(BlobStore.get returns a whole blob) plus the zip's central directory."
    )
    return result
