"""Decompression bombs through POST /voices: refused from the header at the default caps, decoded in bounded
memory when the caps allow them, and never more than MAX_PARALLEL_DECODES decodes at a time."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from core import runtime
from core.errors import ServiceUnavailable
from core.tts import codecs, decoding
from tests.conftest import Users
from tests.support.bombs import flac_bomb

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """The issue's bomb: 60 s of 8-channel 192 kHz FLAC (92 M samples), a 4 s tone then silence, ~270 KB."""
    return flac_bomb(channels=8, rate=192000, seconds=60, tone_s=4.0)


def upload(client: TestClient, headers: dict[str, str], data: bytes, name: str = "clip") -> Any:
    files = {"file": (f"{name}.flac", data, "audio/flac")}
    return client.post("/voices", headers=headers, data={"name": name}, files=files)


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every entry into the sample-reading stage of decode (the real one still runs)."""
    calls: list[int] = []
    real = decoding._mono_blocks

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(decoding, "_mono_blocks", counted)
    return calls


def test_decompression_bomb_is_refused_413_before_any_sample_is_decoded(
    client: TestClient, users: Users, bomb: bytes, reads: list[int]
) -> None:
    assert len(bomb) < 400_000
    alice = users.create("alice")
    response = upload(client, alice["headers"], bomb)
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == codecs.DECODED_TOO_LARGE_CODE
    assert error["details"] == {"max_samples": 24_000_000, "samples": 8 * 192000 * 60}
    assert reads == []
    assert client.get("/voices", headers=alice["headers"]).json()["voices"][-1]["kind"] == "builtin"


def test_six_parallel_bomb_uploads_decode_nothing(
    client: TestClient, users: Users, bomb: bytes, reads: list[int]
) -> None:
    alice = users.create("alice")
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda n: upload(client, alice["headers"], bomb, f"b{n}").status_code, range(6)))
    assert codes == [413] * 6
    assert reads == []


def test_the_sample_cap_is_a_setting(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch, reads: list[int]
) -> None:
    monkeypatch.setenv("MAX_UPLOAD_DECODED_SAMPLES", "1000000")
    runtime.reset()
    alice = users.create("alice")
    stereo = flac_bomb(channels=2, rate=48000, seconds=11, tone_s=11.0)  # 1.06 M samples
    assert upload(client, alice["headers"], stereo).status_code == 413
    mono = flac_bomb(channels=1, rate=48000, seconds=11, tone_s=11.0)  # 0.53 M samples
    assert upload(client, alice["headers"], mono).status_code == 200
    assert len(reads) == 1


def test_bomb_allowed_by_the_caps_is_decoded_in_bounded_memory(bomb: bytes, tmp_path: Path) -> None:
    """Peak traced memory of one upload of the bomb, with the sample cap lifted, in a child process.

    Decoded straight to mono 24 kHz block by block and analysed in blocks, it holds a few copies of the
    5.8 MB mono clip; decoding at the source's 8 x 192 kHz and analysing with a window matrix took 277 MB.
    """
    path = tmp_path / "bomb.flac"
    path.write_bytes(bomb)
    env = {**os.environ, "DATA_DIR": str(tmp_path / "data"), "MAX_UPLOAD_DECODED_SAMPLES": "100000000"}
    env.pop("PYTEST_CURRENT_TEST", None)
    child = subprocess.run(
        [sys.executable, "-m", "tests.support.upload_probe", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    result = json.loads(child.stdout.strip().splitlines()[-1])
    assert result["warm_status"] == 200
    assert result["status"] == 200  # accepted: 4 s of sound in 60 s, kept as a mono 24 kHz reference
    assert result["peak_bytes"] < 64 * MiB, f"peak {result['peak_bytes'] / MiB:.0f} MiB"


def tone_wav(seconds: float = 4.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 220.0 * t)).astype(np.float32), rate, format="WAV")
    return buffer.getvalue()


def concurrency_spy(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> Callable[[], int]:
    """Wraps target.name: records the most calls inside it at once (each call lingers 0.2 s to overlap)."""
    real = getattr(target, name)
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def spy(*args: Any, **kwargs: Any) -> Any:
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        try:
            time.sleep(0.2)
            return real(*args, **kwargs)
        finally:
            with lock:
                state["now"] -= 1

    monkeypatch.setattr(target, name, spy)
    return lambda: state["most"]


def test_parallel_uploads_decode_at_most_max_parallel_decodes_at_once(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MAX_PARALLEL_DECODES", "2")
    runtime.reset()
    most = concurrency_spy(monkeypatch, codecs, "decode")
    alice = users.create("alice")
    clip = tone_wav()
    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(lambda n: upload(client, alice["headers"], clip, f"v{n}").status_code, range(6)))
    assert codes == [200] * 6
    assert 1 <= most() <= 2


def test_no_free_decode_slot_answers_503_with_retry_after() -> None:
    with codecs.decode_slot(limit=1), pytest.raises(ServiceUnavailable) as info, codecs.decode_slot(limit=1, wait_s=0):
        pass
    error = info.value
    assert (error.status, error.code, error.headers["Retry-After"]) == (503, codecs.BUSY_CODE, "1")
    with codecs.decode_slot(limit=1, wait_s=0):  # released again
        pass
