"""The RunPod proxy engine's failures against a scripted RunPod HTTP API: a worker's error, jobs RunPod ended,
transient errors retried then given up, an unreachable host, refused keys, timeouts (the job cancelled),
and worker output that is not audio. Happy paths are in test_runpod_engine.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import responses

from core.errors import EngineError, EngineUnavailable
from core.tts.base import SynthesisOptions
from core.tts.runpod import RunPodEngine
from tests.support.runpod_api import (
    BASE,
    BUILTIN,
    EP,
    audio_output,
    engine,
    scripted_api,
    states,
    submit,
    tone,
    urls,
)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with scripted_api() as mock:
        yield mock


def test_failed_job_carries_the_workers_message(api: responses.RequestsMock) -> None:
    submit(api)
    error = json.dumps({"code": "invalid_input", "message": "text: must contain at least one non-space character"})
    states(api, {"status": "FAILED", "error": error})
    with pytest.raises(EngineError) as caught:
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())
    assert caught.value.message == "RunPod job failed: text: must contain at least one non-space character"
    assert caught.value.details == {"job_id": "job-1", "status": "FAILED", "worker_code": "invalid_input"}
    assert caught.value.status == 502


def test_failed_job_with_runpods_captured_exception(api: responses.RequestsMock) -> None:
    submit(api)
    error = json.dumps({"error_type": "<class 'RuntimeError'>", "error_message": "CUDA out of memory"})
    states(api, {"status": "FAILED", "error": error})
    with pytest.raises(EngineError, match="RunPod job failed: CUDA out of memory"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())


@pytest.mark.parametrize("status", ["CANCELLED", "TIMED_OUT"])
def test_jobs_ended_by_runpod_fail_clearly(api: responses.RequestsMock, status: str) -> None:
    submit(api)
    states(api, {"status": status})
    with pytest.raises(EngineError, match=f"the job ended with status {status}"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())


def test_transient_errors_are_retried(api: responses.RequestsMock) -> None:
    api.add(responses.POST, f"{BASE}/{EP}/run", status=503)
    api.add(responses.POST, f"{BASE}/{EP}/run", status=429, headers={"Retry-After": "0"})
    api.add(responses.POST, f"{BASE}/{EP}/run", body=requests.ConnectionError("reset"))
    submit(api)
    api.add(responses.GET, f"{BASE}/{EP}/status/job-1", status=502)
    states(api, {"status": "COMPLETED", "output": audio_output(tone())})
    assert engine().synthesize("Hi.", BUILTIN, SynthesisOptions()).sample_rate == 24000
    assert len(api.calls) == 6


def test_retries_give_up_as_unavailable(api: responses.RequestsMock) -> None:
    api.add(responses.POST, f"{BASE}/{EP}/run", status=500)
    with pytest.raises(EngineUnavailable, match="RunPod is unreachable: HTTP 500") as caught:
        engine(retries=2).synthesize("Hi.", BUILTIN, SynthesisOptions())
    assert caught.value.details == {"attempts": 3}
    assert len(api.calls) == 3


def test_unreachable_host_is_unavailable() -> None:
    slow = RunPodEngine(endpoint_id=EP, api_key="k", base_url="http://127.0.0.1:9", retries=1, backoff_s=0.001)
    with pytest.raises(EngineUnavailable, match="RunPod is unreachable: ConnectionError"):
        slow.synthesize("Hi.", BUILTIN, SynthesisOptions())


def test_refused_api_key_is_unavailable(api: responses.RequestsMock) -> None:
    submit(api, status=401)
    with pytest.raises(EngineUnavailable, match="refused"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())


def test_other_client_errors_fail(api: responses.RequestsMock) -> None:
    api.add(responses.POST, f"{BASE}/{EP}/run", status=400, body="payload too large")
    with pytest.raises(EngineError, match="HTTP 400: payload too large"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())


def test_slow_job_times_out_and_is_cancelled(api: responses.RequestsMock) -> None:
    submit(api)
    api.add(responses.GET, f"{BASE}/{EP}/status/job-1", json={"id": "job-1", "status": "IN_PROGRESS"})
    api.add(responses.POST, f"{BASE}/{EP}/cancel/job-1", json={"id": "job-1", "status": "CANCELLED"})
    with pytest.raises(EngineUnavailable) as caught:
        engine(timeout_s=0.3, poll_interval_s=0.05).synthesize("Hi.", BUILTIN, SynthesisOptions())
    assert caught.value.code == "engine_timeout"
    assert any(url.endswith("/cancel/job-1") for url in urls(api))


def test_completed_without_audio_is_an_engine_error(api: responses.RequestsMock) -> None:
    submit(api)
    states(api, {"status": "COMPLETED", "output": {"format": "flac"}})
    with pytest.raises(EngineError, match="lacks audio_base64"):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (audio_output(tone(rate=22050)), "returned 22050 Hz audio"),
        ({"audio_base64": base64.b64encode(b"not audio").decode()}, "returned unreadable audio"),
        ({"audio_base64": "***"}, "invalid base64 in audio_base64"),
    ],
)
def test_bad_worker_audio_is_an_engine_error(api: responses.RequestsMock, output: dict[str, Any], message: str) -> None:
    submit(api)
    states(api, {"status": "COMPLETED", "output": output})
    with pytest.raises(EngineError, match=message):
        engine().synthesize("Hi.", BUILTIN, SynthesisOptions())
