"""The API with TTS_ENGINE=chatterbox: built-in and cloned voices give 24 kHz, Perth-watermarked audio.

The model is the real chatterbox-tts loaded by the engine's own `from_local` path, from a checkpoint
of random weights in the real file layout (tests/support/chatterbox_ckpt.py): no real checkpoint
can be downloaded here. Random weights say nothing about voice quality; they prove the wiring.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from core.services import voices
from core.storage import BlobNotFound
from core.tts import codecs
from core.tts.base import Audio
from tests.conftest import Users
from tests.support import chatterbox_ckpt
from tests.support.fake_engine import EngineSeam
from tests.support.spies import spy

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def checkpoint_dir() -> str:
    return str(chatterbox_ckpt.ensure_checkpoint())


@pytest.fixture(scope="module")
def loaded_engine(checkpoint_dir: str) -> Any:
    """One model for the module: the engine is process-wide, as in a real server."""
    from core.tts.chatterbox import ChatterboxEngine

    engine = ChatterboxEngine(checkpoint_dir=checkpoint_dir, device="cpu")
    engine.load()
    return engine


@pytest.fixture
def chatterbox(
    monkeypatch: pytest.MonkeyPatch, install_engine: EngineSeam, loaded_engine: Any, checkpoint_dir: str
) -> None:
    monkeypatch.setenv("TTS_ENGINE", "chatterbox")
    monkeypatch.setenv("CHATTERBOX_CHECKPOINT_DIR", checkpoint_dir)
    runtime.reset()
    install_engine(loaded_engine)


@pytest.fixture(scope="module")
def detector() -> Any:
    import perth

    return perth.PerthImplicitWatermarker()


def watermarked(detector: Any, data: bytes) -> float:
    samples, rate = sf.read(io.BytesIO(data), dtype="float32")
    return float(detector.get_watermark(samples, sample_rate=rate, round=False))


def reference_clip() -> bytes:
    return codecs.encode(Audio(chatterbox_ckpt.synthetic_voice(seconds=4.0), 24000), "wav")


def test_builtin_voice_through_the_api(chatterbox: None, client: TestClient, users: Users, detector: Any) -> None:
    alice = users.create("alice")
    listing = client.get("/voices", headers=alice["headers"]).json()
    assert (listing["engine"], listing["can_clone"]) == ("chatterbox", True)
    ids = ["default", "female_default", "male_default", "chatterbox-default"]
    assert [v["id"] for v in listing["voices"]] == ids
    made = client.post("/synthesize", headers=alice["headers"], json={"text": "Hello there.", "seed": 3})
    assert made.status_code == 200, made.text
    meta = made.json()
    assert (meta["engine"], meta["sample_rate"], meta["options_ignored"]) == ("chatterbox", 24000, [])
    data = client.get(meta["url"], headers=alice["headers"]).content
    assert sf.info(io.BytesIO(data)).samplerate == 24000
    assert watermarked(detector, data) > 0.9


def test_cloned_voice_uses_conditionals_prepared_at_creation(
    chatterbox: None, client: TestClient, users: Users, detector: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice = users.create("alice")
    created = client.post(
        "/voices", headers=alice["headers"], data={"name": "Clone"}, files={"file": ("me.wav", reference_clip())}
    )
    assert created.status_code == 200, created.text
    voice = created.json()
    assert (voice["engine"], voice["available"]) == ("chatterbox", True)
    stored = voices.get_custom(runtime.store(), user_id=alice["id"], voice_id=voice["id"])
    conditionals_key = stored.conditionals["chatterbox-conds-v1"]
    assert conditionals_key == keys.voice_conditionals_blob(alice["id"], voice["id"], "chatterbox-conds-v1")
    assert conditionals_key in stored.blob_keys
    assert runtime.blobs().get(conditionals_key)  # stored (a missing key raises BlobNotFound)

    read: list[str] = []
    real_get = runtime.blobs().get
    monkeypatch.setattr(runtime.blobs(), "get", spy(read, real_get))
    prepare = runtime.engine().prepare_voice
    monkeypatch.setattr(runtime.engine(), "prepare_voice", lambda *_: pytest.fail(f"prepared again: {prepare}"))
    made = client.post(
        "/synthesize", headers=alice["headers"], json={"text": "In my own voice.", "voice_id": voice["id"]}
    )
    assert made.status_code == 200, made.text
    assert read == [conditionals_key]  # the stored conditionals, never the reference clip
    data = client.get(made.json()["url"], headers=alice["headers"]).content
    assert sf.info(io.BytesIO(data)).samplerate == 24000
    assert watermarked(detector, data) > 0.9
    samples, _ = sf.read(io.BytesIO(data), dtype="float32")
    assert np.abs(samples).max() > 0.01


def test_voice_made_under_piper_is_prepared_once_when_chatterbox_first_uses_it(
    client: TestClient,
    users: Users,
    monkeypatch: pytest.MonkeyPatch,
    install_engine: EngineSeam,
    loaded_engine: Any,
    checkpoint_dir: str,
) -> None:
    alice = users.create("alice")
    voice = client.post(
        "/voices", headers=alice["headers"], data={"name": "Early"}, files={"file": ("me.wav", reference_clip())}
    ).json()
    assert voice["available"] is False  # Piper: kept, honestly marked unusable
    monkeypatch.setenv("TTS_ENGINE", "chatterbox")
    monkeypatch.setenv("CHATTERBOX_CHECKPOINT_DIR", checkpoint_dir)
    install_engine(loaded_engine)
    prepared: list[int] = []
    real_prepare = loaded_engine.prepare_voice
    monkeypatch.setattr(loaded_engine, "prepare_voice", spy(prepared, real_prepare, mark=1))
    for text in ("First use.", "Second use."):
        made = client.post("/synthesize", headers=alice["headers"], json={"text": text, "voice_id": voice["id"]})
        assert made.status_code == 200, made.text
    assert prepared == [1]
    stored = voices.get_custom(runtime.store(), user_id=alice["id"], voice_id=voice["id"])
    assert set(stored.conditionals) == {"chatterbox-conds-v1"}
    assert stored.conditionals_key("chatterbox-conds-v1") in stored.blob_keys
    assert client.delete(f"/voices/{voice['id']}", headers=alice["headers"]).status_code == 200
    with pytest.raises(BlobNotFound):
        runtime.blobs().get(stored.conditionals["chatterbox-conds-v1"])
