"""Piper synthesis through the API versus the raw engine, on the same text and voice.

API: POST /synthesize (wav) and GET /audio/{id} on the local server (one uvicorn worker), timed by
the client from the first request to the last byte of the file. Raw engine (the baseline): Piper's
own `PiperVoice.synthesize_wav` into an in-memory WAV, same voice model (en_US-joe-medium) and text,
in a process of its own (bench.engine_worker, driven over a pipe, timed by the caller). Also timed,
without a bar: our `PiperEngine` in such a process (our sentence splitting and joining, WAV encoding,
no HTTP/auth/storage), which separates engine-wrapper cost from API cost. Every process holds one
onnxruntime session, like the server. The three run in rotating order with a short pause between
calls; medians.
Bar: API time <= 1.15 x raw time, for one sentence and for a 2,000-character text.

Streaming (when POST /synthesize accepts `"stream": true`): time to first audio byte of a streamed
WAV response for the 2,000-character text, versus the time raw Piper takes to yield its first
sentence (`next(PiperVoice.synthesize(text))`). Reported without a bar.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from bench.engine_worker import Worker
from bench.results import Figure, Profile, Result, Table, ratio
from bench.servers import Server, temp_dir
from bench.stats import median
from bench.texts import SENTENCE, text_of_length
from tests.support.users import create_at

BAR = 1.15
WAV_HEADER = 44
PAUSE_S = 0.2


def _api_wav(client: Any, text: str) -> tuple[float, float]:
    started = time.perf_counter()
    made = client.post("/synthesize", json={"text": text, "format": "wav"})
    made.raise_for_status()
    body = made.json()
    download = client.get(f"/audio/{body['audio_id']}")
    download.raise_for_status()
    return time.perf_counter() - started, float(body["duration"])


def _supports_stream(client: Any) -> bool:
    schema = client.get("/openapi.json").json()
    operation = schema["paths"]["/synthesize"]["post"]
    ref = operation["requestBody"]["content"]["application/json"]["schema"].get("$ref", "")
    body = schema["components"]["schemas"].get(ref.rsplit("/", 1)[-1], {})
    return "stream" in body.get("properties", {})


def _api_first_audio(client: Any, text: str) -> tuple[float, float, float]:
    """(first byte s, first audio byte s, complete s) of a streamed WAV."""
    started = time.perf_counter()
    first = first_audio = 0.0
    received = 0
    with client.stream("POST", "/synthesize", json={"text": text, "format": "wav", "stream": True}) as response:
        response.raise_for_status()
        for chunk in response.iter_raw():
            if not chunk:
                continue
            now = time.perf_counter() - started
            first = first or now
            received += len(chunk)
            if not first_audio and received > WAV_HEADER:
                first_audio = now
    return first, first_audio, time.perf_counter() - started


def _alternate(rounds: int, runners: dict[str, Callable[[], Any]]) -> dict[str, list[Any]]:
    """Each repeat runs every variant once; the order rotates, so every variant takes every position
    equally often. A pause before each call lets the previous process's onnxruntime threads stop
    spinning (they busy-wait after a run and would slow down whichever variant comes next)."""
    out: dict[str, list[Any]] = {name: [] for name in runners}
    names = list(runners)
    for index in range(rounds):
        shift = index % len(names)
        for name in names[shift:] + names[:shift]:
            time.sleep(PAUSE_S)
            out[name].append(runners[name]())
    return out


def run(profile: Profile) -> Result:
    import httpx

    long_chars = profile.pick(2000, 1000, 300)
    cases = {
        "sentence": (SENTENCE, profile.pick(12, 3, 1)),
        f"{long_chars:,} characters": (text_of_length(long_chars), profile.pick(3, 1, 1)),
    }
    stream_rounds = profile.pick(6, 1, 1)
    result = Result("synthesis", "Piper synthesis through the API vs the raw engine", profile.name)
    result.params = {"cases": {k: {"chars": len(t), "repeats": n} for k, (t, n) in cases.items()}, "bar": BAR}
    rows: list[list[Any]] = []
    api_by_case: dict[str, float] = {}
    with (
        temp_dir("synth") as tmp,
        Server("local_server:app", tmp / "data") as server,
        Worker("raw") as raw_worker,
        Worker("engine") as engine_worker,
    ):
        headers = create_at(server.url, "bench")["headers"]
        with httpx.Client(base_url=server.url, headers=headers, timeout=300) as client:
            _api_wav(client, SENTENCE)  # loads the voice in the server
            for case, (text, rounds) in cases.items():
                runs = _alternate(
                    rounds,
                    {
                        "api": partial(_api_wav, client, text),
                        "raw": partial(raw_worker.call, text),
                        "engine": partial(engine_worker.call, text),
                    },
                )
                api, raw, ours = (median([t for t, _ in runs[k]]) for k in ("api", "raw", "engine"))
                audio_s = median([d for _, d in runs["raw"]])
                rows.append(
                    [
                        case,
                        len(text),
                        rounds,
                        raw * 1e3,
                        ours * 1e3,
                        api * 1e3,
                        (api - ours) * 1e3,
                        audio_s,
                        median([d for _, d in runs["api"]]),
                    ]
                )
                r = ratio(api, raw)
                result.figures.append(
                    Figure(
                        f"synthesis through the API, {case}",
                        api * 1e3,
                        "ms",
                        raw * 1e3,
                        "raw PiperVoice.synthesize_wav, own process",
                        r,
                        f"ratio <= {BAR}",
                        r <= BAR,
                        f"real-time factor {api / audio_s:.3f} ({audio_s:.1f} s of audio)",
                    )
                )
                api_by_case[case] = api
                result.figures.append(
                    Figure(
                        f"our PiperEngine without HTTP (own process), {case}",
                        ours * 1e3,
                        "ms",
                        raw * 1e3,
                        "raw PiperVoice.synthesize_wav, own process",
                        ratio(ours, raw),
                    )
                )
                print(f"  {case} done", file=sys.stderr)
            if _supports_stream(client):
                text = text_of_length(long_chars)
                _api_first_audio(client, SENTENCE)
                runs = _alternate(
                    stream_rounds,
                    {"api": lambda: _api_first_audio(client, text), "raw": lambda: raw_worker.call(text, "first")},
                )
                first_byte = median([f for f, _, _ in runs["api"]])
                first_audio = median([a for _, a, _ in runs["api"]])
                complete = median([c for _, _, c in runs["api"]])
                raw_first = median([t for t, _ in runs["raw"]])
                result.figures.append(
                    Figure(
                        f"time to first audio, streamed WAV, {long_chars:,} characters",
                        first_audio * 1e3,
                        "ms",
                        raw_first * 1e3,
                        "raw Piper, first sentence",
                        ratio(first_audio, raw_first),
                        note=f"first byte {first_byte * 1e3:.0f} ms; whole stream {complete * 1e3:.0f} ms",
                    )
                )
                whole = api_by_case[f"{long_chars:,} characters"]
                result.figures.append(
                    Figure(
                        f"time to first audio, streamed vs whole file, {long_chars:,} characters",
                        first_audio * 1e3,
                        "ms",
                        whole * 1e3,
                        "POST /synthesize + GET /audio/{id} (not streamed)",
                        ratio(first_audio, whole),
                    )
                )
            else:
                result.notes.append("POST /synthesize has no `stream` option in this build: streaming not measured.")
    result.tables.append(
        Table(
            "median wall time (ms)",
            [
                "case",
                "chars",
                "repeats",
                "raw Piper",
                "our engine",
                "API",
                "API - engine",
                "audio s (raw)",
                "audio s (API)",
            ],
            rows,
        )
    )
    return result
