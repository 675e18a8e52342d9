"""The RunPod worker's jobs (the far side of `core.tts.runpod`): run a parsed `Job` on a Chatterbox model.

Contract:
- `handle(raw, load=..., max_samples=...)` is one job end to end and never raises: the input is parsed
  by `core.schemas.worker.parse_input`, the model comes from `load()` (timed as load_s: the worker's
  lazy singleton, instant once loaded), then `run` executes the job. Failures become
  `error_output(code, message)`: bad input and unusable voices "invalid_input", an `AppError` its own
  code, an unreachable reference URL "fetch_failed", anything else "internal_error" (logged with its
  traceback).
- Voices: {"builtin"} and {"conditionals_base64"} are passed to the engine as they are; a reference
  (fetched from its http(s) URL, at most MAX_BLOB_BYTES, within URL_TIMEOUT_S, or decoded from base64)
  is decoded under the same caps as an upload (at most MAX_REFERENCE_S, `max_samples` channels x
  frames) at the reference rate, then normalised as the API normalises a stored voice.
- Output of synthesize: {"audio_base64", "format", "sample_rate", "duration", "characters",
  "voice_format", "timings": {"load_s", "synthesis_s", "encode_s"}}; of prepare_voice:
  {"conditionals_base64", "voice_format", "timings": {"load_s", "prepare_s"}} (seconds, 3 decimals).
- Failures are {"error": "<JSON {code, message}>"}: runpod 1.12 then marks the job FAILED and the
  status JSON carries that string under "error" (the proxy engine decodes it for the API's user).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from core.errors import AppError
from core.schemas.worker import MAX_BLOB_BYTES, Job, VoiceInput, parse_input
from core.tts import codecs
from core.tts.base import Engine, VoiceSpec
from core.tts.chatterbox_wire import VOICE_FORMAT

log = logging.getLogger(__name__)

MAX_REFERENCE_S = 60.5
URL_TIMEOUT_S = 20.0
USER_AGENT = "chatterbox-runpod-worker"


def error_output(code: str, message: str) -> dict[str, Any]:
    """The handler's failure output: runpod marks the job FAILED with this error string."""
    return {"error": json.dumps({"code": code, "message": message})}


def handle(raw: Any, *, load: Callable[[], Engine], max_samples: int) -> dict[str, Any]:
    """One job's input in, its output (or {"error": ...}) out. Never raises."""
    try:
        job = parse_input(raw)
        started = time.perf_counter()
        model = load()
        return run(job, model=model, load_s=time.perf_counter() - started, max_samples=max_samples)
    except AppError as exc:
        return error_output(exc.code, exc.message)
    except ValueError as exc:
        return error_output("invalid_input", str(exc))
    except OSError as exc:
        return error_output("fetch_failed", f"could not fetch the reference audio: {exc}")
    except Exception as exc:  # reported to the caller, with the traceback in the worker's log
        log.exception("job failed")
        return error_output("internal_error", f"{type(exc).__name__}: {exc}")


def run(job: Job, *, model: Engine, load_s: float, max_samples: int) -> dict[str, Any]:
    """Execute a parsed job on `model`; AppError / ValueError / OSError on failure."""
    started = time.perf_counter()
    voice = voice_spec(job.voice, max_samples=max_samples)
    voice_format = model.capabilities.voice_format or VOICE_FORMAT
    if job.action == "prepare_voice":
        if voice.reference is None:  # parse_input admits only reference voices here
            raise ValueError("voice: prepare_voice needs a reference clip (reference_url or reference_base64)")
        conditionals = model.prepare_voice(voice.reference)
        return {
            "conditionals_base64": base64.b64encode(conditionals).decode(),
            "voice_format": voice_format,
            "timings": _rounded(load_s=load_s, prepare_s=time.perf_counter() - started),
        }
    audio = model.synthesize(job.text, voice, job.options)
    synthesized = time.perf_counter()
    data = codecs.encode(audio, job.format)
    return {
        "audio_base64": base64.b64encode(data).decode(),
        "format": job.format,
        "sample_rate": codecs.output_rate(audio.sample_rate, job.format),
        "duration": round(audio.duration, 3),
        "characters": len(job.text),
        "voice_format": voice_format,
        "timings": _rounded(
            load_s=load_s, synthesis_s=synthesized - started, encode_s=time.perf_counter() - synthesized
        ),
    }


def voice_spec(voice: VoiceInput, *, max_samples: int) -> VoiceSpec:
    """The engine's voice for a job's voice input (a reference is fetched or decoded, then normalised)."""
    if voice.kind == "builtin":
        return VoiceSpec(builtin_id=voice.builtin_id)
    if voice.kind == "conditionals_base64":
        return VoiceSpec(conditionals=voice.data)
    data = fetch(voice.url) if voice.kind == "reference_url" and voice.url else voice.data
    clip = codecs.decode(
        data or b"", max_duration_s=MAX_REFERENCE_S, max_samples=max_samples, rate=codecs.REFERENCE_RATE
    )
    return VoiceSpec(reference=codecs.normalize_reference(clip))


def fetch(url: str) -> bytes:
    """The body at an http(s) URL (the scheme is checked by parse_input), at most MAX_BLOB_BYTES."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})  # noqa: S310 - scheme checked
    with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 - http(s) only
        data: bytes = response.read(MAX_BLOB_BYTES + 1)
    if len(data) > MAX_BLOB_BYTES:
        raise ValueError(f"voice.reference_url: larger than {MAX_BLOB_BYTES // (1024 * 1024)} MiB")
    return data


def _rounded(**timings: float) -> dict[str, float]:
    return {name: round(value, 3) for name, value in timings.items()}
