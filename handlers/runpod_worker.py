"""RunPod serverless worker: Chatterbox synthesis jobs on a GPU (the far side of `core.tts.runpod`).

Contract:
- Importing this module has no side effects: no model load, no torch import, no server start.
  `runpod.serverless.start` runs only under `__main__`, after the model has been loaded once (a
  worker loads Chatterbox once, then serves many jobs with it).
- The model is a process-wide lazy singleton (`engine()`): `core.tts.chatterbox.ChatterboxEngine`
  built from CHATTERBOX_CHECKPOINT_DIR (unset: the Hugging Face cache) and CHATTERBOX_DEVICE
  (default "auto"). The T3 depth is read from the checkpoint's t3_cfg.safetensors header, so a
  checkpoint of another depth than Chatterbox's 30 layers (e.g. a small test checkpoint) loads too.
- Job input (`job["input"]`), parsed by the pure `parse_input` (ValueError with a clear message):
    {"action": "synthesize" (default) | "prepare_voice",
     "text": str (synthesize only, required),
     "voice": {"builtin": id} | {"reference_url": http(s) URL} | {"reference_base64": audio file}
              | {"conditionals_base64": prepared conditionals}   (default: the built-in voice),
     "options": {"speed", "pitch", "exaggeration", "cfg_weight", "temperature", "seed"} (all optional),
     "format": "wav" (default) | "mp3" | "ogg" | "flac"}
  prepare_voice takes a reference voice (URL or base64) and no text.
- Output of synthesize: {"audio_base64", "format", "sample_rate", "duration", "characters",
  "voice_format", "timings": {...}}; of prepare_voice: {"conditionals_base64", "voice_format", "timings"}.
- Failures return {"error": "<JSON {code, message}>"}: runpod 1.12 then marks the job FAILED and the
  status JSON carries that string under "error" (the proxy engine decodes it for the API's user).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import os
import struct
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from core.errors import AppError
from core.tts.base import SynthesisOptions, VoiceSpec

if TYPE_CHECKING:
    from core.tts.chatterbox import ChatterboxEngine

log = logging.getLogger("runpod_worker")

VOICE_FORMAT = "chatterbox-conds-v1"
DEFAULT_VOICE = "chatterbox-default"
ACTIONS = ("synthesize", "prepare_voice")
FORMATS = ("wav", "mp3", "ogg", "flac")
VOICE_KINDS = ("builtin", "reference_url", "reference_base64", "conditionals_base64")
MAX_TEXT_CHARS = 10_000
MAX_BLOB_BYTES = 20 * 1024 * 1024  # decoded reference audio or conditionals
MAX_REFERENCE_S = 60.5
URL_TIMEOUT_S = 20.0
# option -> (low, high); seed is an integer without bounds beyond 0..2**63-1
OPTION_BOUNDS: dict[str, tuple[float, float]] = {
    "speed": (0.5, 2.0),
    "pitch": (0.5, 2.0),
    "exaggeration": (0.0, 2.0),
    "cfg_weight": (0.0, 1.0),
    "temperature": (0.05, 5.0),
}
_TOP_LEVEL = frozenset({"action", "text", "voice", "options", "format"})


@dataclass(frozen=True)
class VoiceInput:
    kind: Literal["builtin", "reference_url", "reference_base64", "conditionals_base64"]
    builtin_id: str | None = None
    url: str | None = None
    data: bytes | None = None  # decoded reference audio file or conditionals


@dataclass(frozen=True)
class Job:
    action: Literal["synthesize", "prepare_voice"]
    voice: VoiceInput
    text: str = ""
    options: SynthesisOptions = field(default_factory=SynthesisOptions)
    format: str = "wav"


# -- pure input parsing ------------------------------------------------------------------------
def parse_input(raw: Any) -> Job:
    """Validate a job's input; raise ValueError naming the offending field."""
    if not isinstance(raw, Mapping):
        raise ValueError(f"input: expected a JSON object, got {type(raw).__name__}")
    unknown = sorted(set(raw) - _TOP_LEVEL)
    if unknown:
        raise ValueError(f"input: unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(_TOP_LEVEL))}")
    action = raw.get("action", "synthesize")
    if action not in ACTIONS:
        raise ValueError(f"action: expected one of {', '.join(ACTIONS)}, got {action!r}")
    fmt = raw.get("format", "wav")
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"format: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    voice = _parse_voice(raw.get("voice"))
    options = _parse_options(raw.get("options"))
    if action == "prepare_voice":
        if voice.kind not in ("reference_url", "reference_base64"):
            raise ValueError("voice: prepare_voice needs a reference clip (reference_url or reference_base64)")
        if raw.get("text") is not None:
            raise ValueError("text: prepare_voice takes no text")
        return Job(action="prepare_voice", voice=voice, options=options, format=fmt.lower())
    return Job(action="synthesize", voice=voice, text=_parse_text(raw.get("text")), options=options, format=fmt.lower())


def _parse_text(text: Any) -> str:
    if not isinstance(text, str):
        raise ValueError("text: required, a non-empty string")
    clean = " ".join(text.split())
    if not clean:
        raise ValueError("text: must contain at least one non-space character")
    if len(clean) > MAX_TEXT_CHARS:
        raise ValueError(f"text: {len(clean)} characters; at most {MAX_TEXT_CHARS} per job")
    return clean


def _parse_voice(voice: Any) -> VoiceInput:
    if voice is None:
        return VoiceInput(kind="builtin", builtin_id=DEFAULT_VOICE)
    if not isinstance(voice, Mapping) or len(voice) != 1 or next(iter(voice)) not in VOICE_KINDS:
        raise ValueError(f"voice: expected an object with exactly one of {', '.join(VOICE_KINDS)}")
    kind, value = next(iter(voice.items()))
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"voice.{kind}: expected a non-empty string")
    if kind == "builtin":
        return VoiceInput(kind="builtin", builtin_id=value)
    if kind == "reference_url":
        parts = urllib.parse.urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("voice.reference_url: expected an http(s) URL")
        return VoiceInput(kind="reference_url", url=value)
    return VoiceInput(kind=kind, data=_b64(f"voice.{kind}", value))


def _b64(where: str, value: str) -> bytes:
    if len(value) > (MAX_BLOB_BYTES * 4) // 3 + 4:
        raise ValueError(f"{where}: larger than {MAX_BLOB_BYTES // (1024 * 1024)} MiB")
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{where}: not valid base64") from None
    if not data:
        raise ValueError(f"{where}: empty")
    return data


def _parse_options(options: Any) -> SynthesisOptions:
    if options is None:
        return SynthesisOptions()
    if not isinstance(options, Mapping):
        raise ValueError("options: expected a JSON object")
    allowed = (*OPTION_BOUNDS, "seed")
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(f"options: unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    values: dict[str, Any] = {}
    for name, (low, high) in OPTION_BOUNDS.items():
        value = options.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise ValueError(f"options.{name}: expected a number between {low} and {high}, got {value!r}")
        values[name] = float(value)
    seed = options.get("seed")
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise ValueError(f"options.seed: expected an integer between 0 and 2**63-1, got {seed!r}")
        values["seed"] = seed
    return SynthesisOptions(**values)


# -- the model, once per worker ----------------------------------------------------------------
_engine: ChatterboxEngine | None = None
_engine_lock = threading.Lock()


def engine() -> ChatterboxEngine:
    """The worker's Chatterbox engine, built and loaded on first use (then reused for every job)."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                from core.tts.chatterbox import ChatterboxEngine

                checkpoint = os.environ.get("CHATTERBOX_CHECKPOINT_DIR") or None
                built = ChatterboxEngine(checkpoint, device=os.environ.get("CHATTERBOX_DEVICE", "auto"))
                with _t3_depth(Path(checkpoint) if checkpoint else None):
                    built.load()
                _engine = built
    return _engine


def t3_layers(checkpoint_dir: Path) -> int | None:
    """Number of transformer layers in the checkpoint's T3 (from the safetensors header), or None."""
    path = checkpoint_dir / "t3_cfg.safetensors"
    try:
        with path.open("rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            header = json.loads(handle.read(size))
    except (OSError, ValueError, struct.error):
        return None
    indices = {int(k.split(".")[2]) for k in header if k.startswith("tfmr.layers.") and k.split(".")[2].isdigit()}
    return max(indices) + 1 if indices else None


@contextlib.contextmanager
def _t3_depth(checkpoint_dir: Path | None) -> Iterator[None]:
    """T3 reads its depth from chatterbox's global LLAMA_CONFIGS when built: match the checkpoint."""
    layers = t3_layers(checkpoint_dir) if checkpoint_dir is not None else None
    if layers is None:
        yield
        return
    from chatterbox.models.t3.llama_configs import LLAMA_CONFIGS

    config = LLAMA_CONFIGS["Llama_520M"]
    previous = config["num_hidden_layers"]
    config["num_hidden_layers"] = layers
    try:
        yield
    finally:
        config["num_hidden_layers"] = previous


# -- jobs --------------------------------------------------------------------------------------
def error_output(code: str, message: str) -> dict[str, Any]:
    """The handler's failure output: runpod marks the job FAILED with this error string."""
    return {"error": json.dumps({"code": code, "message": message})}


def _fetch(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "chatterbox-runpod-worker"})  # noqa: S310 - scheme checked
    with urllib.request.urlopen(request, timeout=URL_TIMEOUT_S) as response:  # noqa: S310 - http(s) only
        data: bytes = response.read(MAX_BLOB_BYTES + 1)
    if len(data) > MAX_BLOB_BYTES:
        raise ValueError(f"voice.reference_url: larger than {MAX_BLOB_BYTES // (1024 * 1024)} MiB")
    return data


def _reference(voice: VoiceInput) -> VoiceSpec:
    from core.config import get_settings
    from core.tts import codecs

    data = _fetch(voice.url) if voice.kind == "reference_url" and voice.url else voice.data
    clip = codecs.decode(
        data or b"",
        max_duration_s=MAX_REFERENCE_S,
        max_samples=get_settings().max_upload_decoded_samples,
        rate=codecs.REFERENCE_RATE,
    )
    return VoiceSpec(reference=codecs.normalize_reference(clip))


def _voice_spec(voice: VoiceInput) -> VoiceSpec:
    if voice.kind == "builtin":
        return VoiceSpec(builtin_id=voice.builtin_id)
    if voice.kind == "conditionals_base64":
        return VoiceSpec(conditionals=voice.data)
    return _reference(voice)


def run(job: Job) -> dict[str, Any]:
    """Execute a parsed job on the worker's model; AppError / ValueError / OSError on failure."""
    from core.tts import codecs

    started = time.perf_counter()
    model = engine()
    loaded = time.perf_counter()
    voice = _voice_spec(job.voice)
    voice_format = model.capabilities.voice_format or VOICE_FORMAT
    if job.action == "prepare_voice":
        assert voice.reference is not None
        conditionals = model.prepare_voice(voice.reference)
        timings = {"load_s": loaded - started, "prepare_s": time.perf_counter() - loaded}
        return {
            "conditionals_base64": base64.b64encode(conditionals).decode(),
            "voice_format": voice_format,
            "timings": {k: round(v, 3) for k, v in timings.items()},
        }
    audio = model.synthesize(job.text, voice, job.options)
    synthesized = time.perf_counter()
    data = codecs.encode(audio, job.format)
    timings = {
        "load_s": loaded - started,
        "synthesis_s": synthesized - loaded,
        "encode_s": time.perf_counter() - synthesized,
    }
    return {
        "audio_base64": base64.b64encode(data).decode(),
        "format": job.format,
        "sample_rate": codecs.output_rate(audio.sample_rate, job.format),
        "duration": round(audio.duration, 3),
        "characters": len(job.text),
        "voice_format": voice_format,
        "timings": {k: round(v, 3) for k, v in timings.items()},
    }


def handler(job: Mapping[str, Any]) -> dict[str, Any]:
    """RunPod entry: one job in, its output (or {"error": ...}) out. Never raises."""
    try:
        parsed = parse_input(job.get("input"))
    except ValueError as exc:
        return error_output("invalid_input", str(exc))
    try:
        return run(parsed)
    except AppError as exc:
        return error_output(exc.code, exc.message)
    except ValueError as exc:
        return error_output("invalid_input", str(exc))
    except OSError as exc:
        return error_output("fetch_failed", f"could not fetch the reference audio: {exc}")
    except Exception as exc:  # reported to the caller, with the traceback in the worker's log
        log.exception("job failed")
        return error_output("internal_error", f"{type(exc).__name__}: {exc}")


def main() -> None:
    import runpod

    logging.basicConfig(level=logging.INFO)
    started = time.perf_counter()
    engine()  # load once, before the first job
    log.info("chatterbox loaded in %.1f s", time.perf_counter() - started)
    runpod.serverless.start({"handler": handler})


if __name__ == "__main__":
    main()
