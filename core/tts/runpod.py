"""The `runpod` engine: a proxy that runs Chatterbox jobs on a RunPod serverless endpoint.

Contract:
- Jobs go to `handlers/runpod_worker.py` on endpoint RUNPOD_ENDPOINT_ID at RUNPOD_BASE_URL (the SDK's
  `endpoint_url_base`, set per client, never globally), authenticated with RUNPOD_API_KEY, through the
  `runpod` SDK: `Endpoint.run(...)` submits, then the job's status JSON is polled, because `run_sync`
  returns None for a FAILED job and loses its error. The `runpod` package is imported on first use only.
- One job may take at most RUNPOD_TIMEOUT_S seconds from submission; past that it is cancelled and
  `EngineUnavailable` (code "engine_timeout") is raised.
- Transient failures (connection errors, timeouts, HTTP 429 and 5xx) are retried with exponential
  backoff (honouring Retry-After); a missing configuration or a refused API key raises
  `EngineUnavailable`; a FAILED / CANCELLED / TIMED_OUT job raises `EngineError` whose message is the
  worker's own error message (details: job_id, status, worker_code).
- Capabilities mirror the chatterbox engine (`core.tts.chatterbox_wire`: sample rate, built-in voices
  (`builtin_voices`, sent to the worker as {"builtin": id}, which its chatterbox engine resolves),
  voice format, so voices prepared by either engine work with both; the options `core.tts.options`
  gives "runpod"). Options are checked against that table here, before any job is sent, and sent as
  `options.wire` (every option with a value), which the worker's input schema accepts because it is
  built from the same table. `prepare_voice` runs the worker's "prepare_voice" action.
- Audio travels as FLAC (lossless). A text is sent as jobs cut at sentence ends: the first of at most
  FIRST_JOB_CHARS (one Chatterbox call, so a stream starts early), the others of at most JOB_MAX_CHARS;
  `stream()` yields one `Audio` per job, each after the first starting with a short pause.
- `estimate_seconds` is the worker's (`core.tts.budget.chunked_seconds`, chunks of CHATTERBOX_CALL_CHARS);
  a stream whose jobs' audio passes it by more than `budget.allowed` stops with `EngineError`
  "audio_overrun" before that job's audio is yielded. This module never imports torch.
"""

from __future__ import annotations

import base64
import contextlib
import json
import random
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from core.errors import AppError, EngineError, EngineUnavailable, NotFound
from core.tts import options as option_table
from core.tts.base import Audio, BuiltinVoice, Capabilities, SynthesisOptions, VoiceSpec, concat
from core.tts.budget import CHATTERBOX_CALL_CHARS, CHATTERBOX_CALL_SECONDS, AudioBudget, chunked_seconds
from core.tts.chatterbox_wire import SAMPLE_RATE, VOICE_FORMAT, builtin_voices
from core.tts.text import split_sentences

if TYPE_CHECKING:
    from core.config import Settings

JOB_MAX_CHARS = 1500  # ~100 s of speech per job: the FLAC result stays a few MB
FIRST_JOB_CHARS = CHATTERBOX_CALL_CHARS  # one generate() call on the worker
PAUSE_S = 0.05  # between jobs, as the chatterbox engine pauses between its chunks
TRANSPORT_FORMAT = "flac"
_T = TypeVar("_T")


class _Transient(Exception):  # worth retrying; retry_after: the server's hint in seconds
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RunPodEngine:
    def __init__(
        self,
        *,
        endpoint_id: str | None,
        api_key: str | None,
        base_url: str = "https://api.runpod.ai/v2",
        timeout_s: float = 300.0,
        retries: int = 4,
        backoff_s: float = 0.5,
        poll_interval_s: float = 1.0,
    ) -> None:
        self._endpoint_id = endpoint_id
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._timeout_s = timeout_s
        self._retries = retries
        self._backoff_s = backoff_s
        self._poll_interval_s = poll_interval_s
        self._capabilities = Capabilities(
            name="runpod",
            can_clone=True,
            sample_rate=SAMPLE_RATE,
            max_chars=JOB_MAX_CHARS,
            options=option_table.honoured_by("runpod"),
            voice_format=VOICE_FORMAT,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> RunPodEngine:
        key = settings.runpod_api_key.get_secret_value() if settings.runpod_api_key else None
        endpoint, url, timeout = settings.runpod_endpoint_id, settings.runpod_base_url, settings.runpod_timeout_s
        return cls(endpoint_id=endpoint, api_key=key, base_url=url, timeout_s=timeout)

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    def voices(self) -> list[BuiltinVoice]:
        return builtin_voices(", on RunPod GPUs")

    # -- engine protocol -----------------------------------------------------------------------
    def synthesize(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Audio:
        return concat(self.stream(text, voice, options), SAMPLE_RATE)

    def stream(self, text: str, voice: VoiceSpec, options: SynthesisOptions) -> Iterator[Audio]:
        option_table.check(options, engine="runpod")  # as the worker will: refuse before any job
        voice_input = _voice_input(voice)
        budget = AudioBudget(self.estimate_seconds(text, options))
        return self._jobs(job_texts(text), voice_input, options, budget)

    def _jobs(
        self, texts: list[str], voice: dict[str, str], options: SynthesisOptions, budget: AudioBudget
    ) -> Iterator[Audio]:
        pause = np.zeros(int(PAUSE_S * SAMPLE_RATE / options.speed), dtype=np.float32)
        for index, text in enumerate(texts):
            audio = self._synthesize_job(text, voice, options)
            budget.spend(audio.duration)
            yield audio if index == 0 else Audio(np.concatenate([pause, audio.samples]), SAMPLE_RATE)

    def estimate_seconds(self, text: str, options: SynthesisOptions) -> float:
        """What the worker's chatterbox engine estimates (same chunks, same bound per generate() call)."""
        return chunked_seconds(text, options, max_chars=CHATTERBOX_CALL_CHARS, call_seconds=CHATTERBOX_CALL_SECONDS)

    def prepare_voice(self, reference: Audio) -> bytes:
        output = self._run_job({"action": "prepare_voice", "voice": {"reference_base64": _flac_b64(reference)}})
        if output.get("voice_format") != VOICE_FORMAT:
            raise EngineError(f"the RunPod worker prepared voice format {output.get('voice_format')!r}")
        return _b64decode(output, "conditionals_base64")

    # -- jobs ----------------------------------------------------------------------------------
    def _synthesize_job(self, text: str, voice: dict[str, str], options: SynthesisOptions) -> Audio:
        from core.tts import codecs

        job = {"text": text, "voice": voice, "options": option_table.wire(options), "format": TRANSPORT_FORMAT}
        output = self._run_job(job)
        try:
            audio = codecs.decode(_b64decode(output, "audio_base64"), max_duration_s=3600.0)
        except AppError as exc:
            raise EngineError(f"the RunPod worker returned unreadable audio: {exc.message}") from exc
        if audio.sample_rate != SAMPLE_RATE:
            raise EngineError(f"the RunPod worker returned {audio.sample_rate} Hz audio, not {SAMPLE_RATE} Hz")
        return audio

    def _run_job(self, job_input: dict[str, Any]) -> dict[str, Any]:
        """Submit one job, wait for its end, return its output; errors as in the module contract."""
        endpoint = self._endpoint()
        deadline = time.monotonic() + self._timeout_s
        job = self._retrying(lambda: endpoint.run({"input": job_input}), deadline)
        job_id = str(getattr(job, "job_id", ""))
        if not job_id:
            raise EngineError("RunPod accepted the job without a job id")
        path = f"{self._endpoint_id}/status/{job_id}"
        interval = 0.05
        while True:
            state = self._retrying(lambda: endpoint.rp_client.get(path, timeout=_wait(deadline)), deadline)
            status = str(state.get("status", ""))
            if status == "COMPLETED":
                output = state.get("output")
                if not isinstance(output, dict):
                    raise EngineError(f"RunPod job {job_id} completed without an output object")
                return output
            if status in ("FAILED", "CANCELLED", "TIMED_OUT"):
                raise _job_error(job_id, status, state.get("error"))
            if time.monotonic() + interval > deadline:
                _cancel(endpoint, self._endpoint_id, job_id)
                message = f"RunPod job {job_id} did not finish within {self._timeout_s:g} s (status {status or '?'})"
                raise EngineUnavailable(message, code="engine_timeout", details={"job_id": job_id, "status": status})
            time.sleep(interval)
            interval = min(interval * 2, self._poll_interval_s)

    def _endpoint(self) -> Any:
        if not self._endpoint_id or not self._api_key:
            raise EngineUnavailable("the runpod engine needs RUNPOD_ENDPOINT_ID and RUNPOD_API_KEY")
        try:
            import runpod
            from requests.adapters import HTTPAdapter
        except ImportError as exc:
            raise EngineUnavailable(f"the runpod SDK is not installed: {exc}") from exc
        endpoint = runpod.Endpoint(self._endpoint_id, api_key=self._api_key)
        client = endpoint.rp_client
        client.endpoint_url_base = self._base_url
        for prefix in ("http://", "https://"):  # retries are ours (with a deadline), not urllib3's
            client.rp_session.mount(prefix, HTTPAdapter(max_retries=0))
        return endpoint

    def _retrying(self, request: Callable[[], _T], deadline: float) -> _T:
        for tries in range(self._retries + 1):
            try:
                return _call(request)
            except _Transient as exc:
                delay = exc.retry_after or self._backoff_s * 2**tries * (0.5 + random.random())
                if tries == self._retries or time.monotonic() + delay > deadline:
                    raise EngineUnavailable(f"RunPod is unreachable: {exc}", details={"attempts": tries + 1}) from exc
                time.sleep(delay)
        raise AssertionError("unreachable")


def _call(request: Callable[[], _T]) -> _T:
    """Run one SDK request, sorting its failures into transient, unavailable and failed."""
    import requests

    try:
        return request()
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise _Transient(f"{type(exc).__name__}: {exc}") from exc
    except requests.HTTPError as exc:
        response = exc.response
        code = response.status_code if response is not None else 0
        if code == 429 or code >= 500:
            retry_after = response.headers.get("Retry-After") if response is not None else None
            hint = float(retry_after) if retry_after and retry_after.isdigit() else None
            raise _Transient(f"HTTP {code}", hint) from exc
        if code in (401, 403):
            raise EngineUnavailable(f"RunPod refused the API key (HTTP {code})") from exc
        raise EngineError(f"RunPod answered HTTP {code}: {str(getattr(response, 'text', ''))[:500]}") from exc
    except RuntimeError as exc:  # the SDK's own 401 message
        raise EngineUnavailable(f"RunPod refused the request: {exc}") from exc
    except ValueError as exc:  # a body that is not JSON
        raise _Transient(f"unreadable answer from RunPod: {exc}") from exc


def job_texts(text: str) -> list[str]:
    """The texts of a request's jobs: a short first one, then sentences packed up to JOB_MAX_CHARS."""
    pieces = split_sentences(text, FIRST_JOB_CHARS)
    jobs, current = pieces[:1], ""
    for piece in pieces[1:]:
        if current and len(current) + 1 + len(piece) > JOB_MAX_CHARS:
            jobs.append(current)
            current = piece
        else:
            current = f"{current} {piece}" if current else piece
    return [*jobs, current] if current else jobs


def _wait(deadline: float) -> float:
    """Timeout of one status call: what is left of the job's time. The hosted API answers at once;
    runpod's local API runs the job inside the first status call, so that call lasts the whole job."""
    return max(1.0, deadline - time.monotonic())


def _cancel(endpoint: Any, endpoint_id: str | None, job_id: str) -> None:
    with contextlib.suppress(Exception):  # best effort: the job is abandoned either way
        endpoint.rp_client.post(f"{endpoint_id}/cancel/{job_id}", data=None, timeout=5)


def _job_error(job_id: str, status: str, error: Any) -> EngineError:
    """The worker's error (our JSON {code, message}, runpod's captured exception, or plain text)."""
    code, message = None, str(error) if error else f"the job ended with status {status}"
    try:
        parsed = json.loads(message)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict):
        code = parsed.get("code") or parsed.get("error_type")
        message = str(parsed.get("message") or parsed.get("error_message") or message)
    details = {"job_id": job_id, "status": status, "worker_code": code}
    return EngineError(f"RunPod job failed: {message}", details=details)


def _b64decode(output: dict[str, Any], key: str) -> bytes:
    value = output.get(key)
    if not isinstance(value, str) or not value:
        raise EngineError(f"the RunPod worker's output lacks {key}")
    try:
        return base64.b64decode(value, validate=True)
    except ValueError as exc:
        raise EngineError(f"the RunPod worker returned invalid base64 in {key}") from exc


def _flac_b64(audio: Audio) -> str:
    from core.tts import codecs

    return base64.b64encode(codecs.encode(audio, TRANSPORT_FORMAT)).decode()


def _voice_input(voice: VoiceSpec) -> dict[str, str]:
    if voice.conditionals is not None:
        return {"conditionals_base64": base64.b64encode(voice.conditionals).decode()}
    if voice.reference is not None:
        return {"reference_base64": _flac_b64(voice.reference)}
    available = [v.id for v in builtin_voices()]
    if voice.builtin_id not in available:
        message = f"unknown chatterbox voice {voice.builtin_id!r}; available: {', '.join(available)}"
        details = {"voice": voice.builtin_id, "available": available}
        raise NotFound(message, code="voice_not_found", details=details)
    return {"builtin": str(voice.builtin_id)}
