"""End to end through RunPod's own machinery, on loopback: the real worker (handlers/runpod_worker.py running
Chatterbox on a random-weight checkpoint) behind runpod's local API, the real `runpod` SDK client inside
`RunPodEngine`, and the API server with TTS_ENGINE=runpod in front of it.

One worker process serves the whole module (tests/support/runpod_local.py explains the wrapper).
"""

from __future__ import annotations

import io
import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from core.errors import EngineError, EngineUnavailable
from core.tts.base import Audio, SynthesisOptions, VoiceSpec
from core.tts.runpod import RunPodEngine
from tests.support import users
from tests.support.chatterbox_ckpt import ensure_checkpoint, synthetic_voice
from tests.support.runpod_local import log_tail, worker_server
from tests.support.servers import api_server

pytestmark = pytest.mark.slow

ENDPOINT_ID = "ep-local-test"
API_KEY = "rp-local-key"
BUILTIN = VoiceSpec(builtin_id="chatterbox-default")


@pytest.fixture(scope="module")
def worker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    checkpoint = ensure_checkpoint()
    log = tmp_path_factory.mktemp("runpod-worker") / "worker.log"
    env = {"CHATTERBOX_CHECKPOINT_DIR": str(checkpoint), "CHATTERBOX_DEVICE": "cpu"}
    started = time.perf_counter()
    with worker_server(endpoint_id=ENDPOINT_ID, api_key=API_KEY, env=env, log_path=log) as url:
        print(f"worker up in {time.perf_counter() - started:.1f} s")  # cold load (visible with -s)
        yield url
        print(log_tail(log, 2000))


@pytest.fixture
def engine(worker: str) -> RunPodEngine:
    return RunPodEngine(endpoint_id=ENDPOINT_ID, api_key=API_KEY, base_url=worker, timeout_s=600)


def test_sdk_runs_a_job_on_the_local_worker(worker: str) -> None:
    import runpod

    endpoint = runpod.Endpoint(ENDPOINT_ID, api_key=API_KEY)
    endpoint.rp_client.endpoint_url_base = worker
    job = endpoint.run({"input": {"action": "synthesize", "text": "Hi.", "voice": {"nope": 1}}})
    state = endpoint.rp_client.get(f"{ENDPOINT_ID}/status/{job.job_id}", timeout=60)
    assert state["status"] == "FAILED"
    assert json.loads(state["error"])["code"] == "invalid_input"


def test_engine_synthesizes_24khz_audio(engine: RunPodEngine) -> None:
    started = time.perf_counter()
    audio = engine.synthesize("Hello from the GPU worker.", BUILTIN, SynthesisOptions(seed=5))
    print(f"job latency {time.perf_counter() - started:.1f} s")
    assert audio.sample_rate == 24000
    assert 1.5 < audio.duration < 2.5  # the checkpoint stops after 50 speech tokens (~2 s)
    assert float(np.abs(audio.samples).max()) > 0.0


def test_worker_errors_reach_the_caller(engine: RunPodEngine) -> None:
    with pytest.raises(EngineError) as caught:
        engine._run_job({"text": "   ", "voice": {"builtin": "chatterbox-default"}})
    assert caught.value.message == "RunPod job failed: text: must contain at least one non-space character"
    assert caught.value.details["worker_code"] == "invalid_input"

    with pytest.raises(EngineError, match="RunPod job failed: stored voice conditionals are unreadable"):
        engine.synthesize("Hello.", VoiceSpec(conditionals=b"not conditionals"), SynthesisOptions())


def test_wrong_api_key_is_refused(worker: str) -> None:
    wrong = RunPodEngine(endpoint_id=ENDPOINT_ID, api_key="wrong", base_url=worker)
    with pytest.raises(EngineUnavailable, match="refused"):
        wrong.synthesize("Hello.", BUILTIN, SynthesisOptions())


def test_api_server_clones_and_synthesizes_through_runpod(worker: str, tmp_path: Path) -> None:
    env = {
        "DATA_DIR": str(tmp_path / "data"),
        "TTS_ENGINE": "runpod",
        "RUNPOD_BASE_URL": worker,
        "RUNPOD_ENDPOINT_ID": ENDPOINT_ID,
        "RUNPOD_API_KEY": API_KEY,
        "RUNPOD_TIMEOUT_S": "600",
    }
    with api_server(env) as url, httpx.Client(base_url=url, timeout=600) as client:
        headers = users.create(client, "gpu_user")["headers"]

        voices = client.get("/voices", headers=headers).json()
        assert (voices["engine"], voices["can_clone"]) == ("runpod", True)

        clip = io.BytesIO()
        sf.write(clip, synthetic_voice(seconds=4.0), 24000, format="WAV")
        made = client.post(
            "/voices", headers=headers, data={"name": "Mine"}, files={"file": ("me.wav", clip.getvalue(), "audio/wav")}
        )
        assert made.status_code == 200, made.text  # conditionals prepared on the worker

        spoken = client.post(
            "/synthesize", headers=headers, json={"text": "Hello there.", "voice_id": made.json()["id"], "seed": 3}
        )
        assert spoken.status_code == 200, spoken.text
        meta: dict[str, Any] = spoken.json()
        assert (meta["engine"], meta["sample_rate"], meta["format"]) == ("runpod", 24000, "wav")

        wav = client.get(f"/audio/{meta['audio_id']}", headers=headers)
        assert wav.status_code == 200
        samples, rate = sf.read(io.BytesIO(wav.content), dtype="float32")
        assert rate == 24000
        assert Audio(samples, rate).duration == pytest.approx(meta["duration"], abs=0.01)


def test_worker_answers_plain_runsync(worker: str) -> None:
    """The wrapper only adds the endpoint id: runpod's /runsync answers as the SDK expects."""
    body = json.dumps({"input": {"action": "prepare_voice", "voice": {"reference_base64": "AAAA"}}}).encode()
    request = urllib.request.Request(
        f"{worker}/{ENDPOINT_ID}/runsync",
        data=body,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        state = json.loads(response.read())
    assert state["status"] == "FAILED"
    assert json.loads(state["error"])["code"] in ("audio_undecodable", "unsupported_media_type")
