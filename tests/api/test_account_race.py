"""Deleting an account while its work is in flight leaves nothing behind (issue 10, "no orphans").

Reproduction: DELETE /profile answered 204 while two syntheses ran; both then stored records and audio
under the deleted user. Now the record is written only while the profile exists (one transaction), the
blob already written is removed, and the request answers 401 `account_deleted`. The engine is the test
double of tests/support/fake_engine.py, held on a gate so the deletion lands while the jobs run.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.records import keys
from tests.conftest import Users
from tests.support.fake_engine import EngineSeam, FakeEngine


def test_syntheses_running_while_the_account_is_deleted_store_nothing(
    client: TestClient, users: Users, install_engine: EngineSeam, tmp_path: Path
) -> None:
    alice = users.create("alice")
    gate = threading.Event()
    engine = install_engine(FakeEngine(gate=gate))
    answers: list[Any] = []

    def speak(text: str) -> None:
        answers.append(client.post("/synthesize", headers=alice["headers"], json={"text": text}))

    workers = [threading.Thread(target=speak, args=(f"Sentence number {n}.",)) for n in range(2)]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert engine.entered.acquire(timeout=60)  # both jobs are inside the engine
    assert client.delete("/profile", headers=alice["headers"]).status_code == 204
    gate.set()
    for worker in workers:
        worker.join(60)

    assert [a.status_code for a in answers] == [401, 401]
    assert {a.json()["error"]["code"] for a in answers} == {"account_deleted"}
    store = runtime.store()
    assert store.query(keys.user_pk(alice["id"]), sk_prefix=keys.AUDIO).items == []
    assert not list((tmp_path / "data" / "blobs").rglob("*"))  # no audio, not even a .tmp

    from core.maintenance import sweep

    sweep(store, runtime.blobs(), grace_s=3600)  # what the refunds left (usage counters) goes too
    assert store.query(keys.user_pk(alice["id"])).items == []


def test_a_stream_running_while_the_account_is_deleted_stores_nothing(
    client: TestClient, users: Users, install_engine: EngineSeam, tmp_path: Path
) -> None:
    alice = users.create("alice")
    gate = threading.Event()
    engine = install_engine(FakeEngine(gate=gate))
    answers: list[Any] = []
    body = {"text": "First sentence here. And a second one.", "stream": True, "format": "mp3"}
    worker = threading.Thread(
        target=lambda: answers.append(client.post("/synthesize", headers=alice["headers"], json=body))
    )
    worker.start()
    assert engine.entered.acquire(timeout=60)
    assert client.delete("/profile", headers=alice["headers"]).status_code == 204
    gate.set()
    worker.join(60)
    assert not worker.is_alive()
    # The audio was streamed (200 was already sent); the library keeps nothing of it.
    assert runtime.store().query(keys.user_pk(alice["id"]), sk_prefix=keys.AUDIO).items == []
    assert not [p for p in (tmp_path / "data" / "blobs").rglob("*") if p.is_file()]


def test_a_voice_or_key_created_for_a_deleted_account_leaves_nothing(tmp_path: Path) -> None:
    import numpy as np

    from core.config import get_settings
    from core.errors import Unauthorized
    from core.services import api_keys, users, voices
    from core.services.policy import Policy
    from core.tts import codecs
    from core.tts.base import Audio

    store, blobs = runtime.store(), runtime.blobs()
    user = users.register(store, username="bob", email="bob@example.com", password="correct horse", full_name=None)
    users.delete_user(store, user_id=user.id)  # gone between the request's auth and its write
    t = np.arange(24000 * 4) / 24000
    clip = Audio((0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 3 * t))).astype(np.float32), 24000)
    with pytest.raises(Unauthorized) as voice_error:
        voices.create(
            store,
            blobs,
            runtime.engine(),
            user_id=user.id,
            name="v",
            description=None,
            data=codecs.encode(clip, "wav"),
            policy=Policy.of(get_settings()).media,
        )
    with pytest.raises(Unauthorized) as key_error:
        api_keys.create(store, user_id=user.id, name="k")
    assert voice_error.value.code == key_error.value.code == "account_deleted"
    assert store.query(keys.user_pk(user.id)).items == []
    assert store.scan(pk_prefix=keys.APIKEY).items == []
    assert not list((tmp_path / "data" / "blobs").rglob("*.*"))
