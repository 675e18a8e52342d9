"""API overhead: throughput and latency of authenticated reads versus a bare JWT-decoding endpoint.

Servers: our combined app (`uvicorn local_server:app`, Piper engine, sqlite) and the baseline
(`uvicorn bench.baseline_jwt_app:app`: FastAPI, one `def` endpoint that verifies the same HS256
token with PyJWT), each one uvicorn worker on loopback with the access log off. Load: `wrk`
(one thread, fixed connections, fixed duration; an asyncio + httpx loop if wrk is absent) against
GET /voices, GET /audio/{id}/info and the baseline's GET /whoami, in rotating order, repeated;
medians are reported. Bar: requests/s >= 0.5 x the baseline's, for each endpoint.

What-if (no bar): the same two endpoints on bench/async_deps_app.py, our app with its cheap
dependencies made `async def` through `dependency_overrides`, served the same way on the same data,
to measure how much of the gap is FastAPI's thread-pool hop per plain-`def` dependency.

Also measured in this process, against the same sqlite file: the CPU time of each step one request
runs (token decode, session check, listing voices, reading an audio record, building the response),
to show where the difference goes.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from bench.loadgen import LoadResult, load_test
from bench.results import Figure, Profile, Result, Table, ratio
from bench.servers import SECRET_KEY, Server, temp_dir
from bench.stats import median, per_call_us
from bench.texts import SENTENCE
from tests.support.users import create_at

BAR = 0.5
CONNECTIONS = 8
WHAT_IF = "what-if async deps: "


def _breakdown(data_dir: Any, token: str, audio_id: str) -> list[list[Any]]:
    """Per-call CPU cost (µs) of the steps behind each endpoint, in this process."""
    from pydantic import SecretStr

    from core.config import Settings
    from core.records import keys
    from core.schemas.speech import AudioOut, VoiceList
    from core.security import decode_token
    from core.services import library, sessions, voices
    from core.storage.sqlite import SqliteStore
    from core.tts.piper import PiperEngine

    settings = Settings(data_dir=data_dir, secret_key=SecretStr(SECRET_KEY))
    store = SqliteStore(settings.resolved_sqlite_path)
    engine = PiperEngine()
    claims = sessions.authenticate_access(store, settings, token=token)
    key = settings.signing_key()

    def decode() -> None:
        decode_token(token, expected_type="access", key=key, issuer=settings.jwt_issuer, audience=settings.jwt_audience)

    def list_voices() -> None:
        VoiceList.of(voices.list_voices(store, engine, user_id=claims.sub), engine.capabilities).model_dump_json()

    def info() -> None:
        AudioOut.of(library.get(store, user_id=claims.sub, audio_id=audio_id)).model_dump_json()

    steps: list[tuple[str, Callable[[], object]]] = [
        ("decode + verify the JWT (all the baseline does)", decode),
        (
            "authenticate: JWT + session read (sqlite)",
            lambda: sessions.authenticate_access(store, settings, token=token),
        ),
        ("settings.signing_key()", settings.signing_key),
        ("GET /voices body: list_voices + response model", list_voices),
        ("GET /audio/{id}/info body: library.get + AudioOut.of", info),
        ("one sqlite point read (store.get)", lambda: store.get(*keys.profile(claims.sub))),
    ]
    return [[label, per_call_us(fn, seconds=0.4)] for label, fn in steps]


def _sync_callables(module: str, path: str) -> list[str]:
    """Names of the plain-`def` callables (dependencies + endpoint) FastAPI runs for GET `path`;
    each is one hop through the thread pool per request."""
    import importlib
    import inspect

    from fastapi.routing import APIRoute

    loaded = importlib.import_module(module)
    router = getattr(loaded, "router", None) or loaded.app.router
    routes = [r for r in router.routes if isinstance(r, APIRoute) and r.path == path]
    route = next(r for r in routes if "GET" in (r.methods or set()))
    seen: list[Any] = []

    def walk(dependant: Any) -> None:
        for sub in dependant.dependencies:
            walk(sub)
        if dependant.call is not None and all(dependant.call is not s for s in seen):
            seen.append(dependant.call)

    walk(route.dependant)

    def is_async(call: Any) -> bool:
        return inspect.iscoroutinefunction(call) or inspect.iscoroutinefunction(getattr(call, "__call__", None))  # noqa: B004

    return [getattr(c, "__name__", type(c).__name__) for c in seen if not is_async(c)]


def _thread_hop_us(count: int = 2000) -> float:
    """Cost of one `run_in_threadpool` round trip of a no-op, as Starlette runs a sync dependency."""
    import anyio
    from starlette.concurrency import run_in_threadpool

    def noop() -> None:
        return None

    async def main() -> float:
        for _ in range(50):
            await run_in_threadpool(noop)
        started = time.perf_counter()
        for _ in range(count):
            await run_in_threadpool(noop)
        return (time.perf_counter() - started) / count * 1e6

    return float(anyio.run(main))


def run(profile: Profile) -> Result:
    rounds = profile.pick(3, 1, 1)
    duration = profile.pick(10.0, 4.0, 1.0)
    warmup = profile.pick(2.0, 1.0, 1.0)
    result = Result("api_overhead", "API overhead: authenticated reads vs a bare JWT endpoint", profile.name)
    with temp_dir("api") as tmp:
        with (
            Server("local_server:app", tmp / "api") as api,
            Server("bench.baseline_jwt_app:app", tmp / "base", ready_path="/health") as base,
            Server("bench.async_deps_app:app", tmp / "api") as variant,
        ):
            headers = create_at(api.url, "bench")["headers"]
            import httpx

            with httpx.Client(base_url=api.url, headers=headers, timeout=120) as client:
                made = client.post("/synthesize", json={"text": SENTENCE})
                made.raise_for_status()
                audio_id = made.json()["audio_id"]
                for path in ("/voices", f"/audio/{audio_id}/info"):
                    client.get(path).raise_for_status()
            with httpx.Client(timeout=10) as client:
                client.get(f"{base.url}/whoami", headers=headers).raise_for_status()
            targets = {
                "baseline GET /whoami": f"{base.url}/whoami",
                "GET /voices": f"{api.url}/voices",
                "GET /audio/{id}/info": f"{api.url}/audio/{audio_id}/info",
                WHAT_IF + "GET /voices": f"{variant.url}/voices",
                WHAT_IF + "GET /audio/{id}/info": f"{variant.url}/audio/{audio_id}/info",
            }
            runs: dict[str, list[LoadResult]] = {name: [] for name in targets}
            for url in targets.values():
                load_test(url, headers, connections=CONNECTIONS, duration_s=warmup)
            names = list(targets)
            for index in range(rounds):
                order = names[index % len(names) :] + names[: index % len(names)]
                for name in order:
                    runs[name].append(load_test(targets[name], headers, connections=CONNECTIONS, duration_s=duration))
                print(f"  round {index + 1} done", file=sys.stderr)
        breakdown = _breakdown(tmp / "api", headers["Authorization"].split(" ", 1)[1], audio_id)
    tool = runs[names[0]][0].tool
    result.params = {"rounds": rounds, "duration_s": duration, "connections": CONNECTIONS, "load_generator": tool}
    summary = {
        name: {
            "rps": median([r.rps for r in rs]),
            "p50": median([r.p50_ms for r in rs]),
            "p99": median([r.p99_ms for r in rs]),
            "errors": sum(r.errors for r in rs),
            "requests": sum(r.requests for r in rs),
        }
        for name, rs in runs.items()
    }
    base_name = names[0]
    result.tables.append(
        Table(
            f"{tool}, {CONNECTIONS} connections, {duration:.0f} s per run, median of {rounds}",
            ["endpoint", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx/errors", "req/s per run"],
            [
                [name, s["rps"], s["p50"], s["p99"], s["requests"], s["errors"], ", ".join(f"{r.rps:.0f}" for r in rs)]
                for (name, s), rs in zip(summary.items(), runs.values(), strict=True)
            ],
        )
    )
    reference = summary[base_name]
    for name in names[1:]:
        if name.startswith(WHAT_IF):
            r = ratio(summary[name]["rps"], reference["rps"])
            result.figures.append(
                Figure(
                    f"{name} throughput",
                    summary[name]["rps"],
                    "req/s",
                    reference["rps"],
                    "FastAPI JWT-decode endpoint",
                    r,
                    note="bench/async_deps_app.py: same app, remaining plain-def dependencies async; no bar",
                )
            )
            continue
        ours = summary[name]
        r = ratio(ours["rps"], reference["rps"])
        extra_ms = 1e3 / ours["rps"] - 1e3 / reference["rps"]
        result.figures.append(
            Figure(
                f"{name} throughput",
                ours["rps"],
                "req/s",
                reference["rps"],
                "FastAPI JWT-decode endpoint",
                r,
                f">= {BAR} x baseline",
                r >= BAR and ours["errors"] == 0,
                f"{extra_ms:.2f} ms more server time per request than the baseline",
            )
        )
        for q in ("p50", "p99"):
            result.figures.append(
                Figure(f"{name} latency {q}", ours[q], "ms", reference[q], "baseline", ratio(ours[q], reference[q]))
            )
    hop = _thread_hop_us()
    breakdown.append(["one thread-pool hop (run_in_threadpool of a no-op)", hop])
    result.tables.append(Table("CPU per call of each step, in-process (µs)", ["step", "µs/call"], breakdown))
    hops = {
        "GET /voices": _sync_callables("handlers.voices", "/voices"),
        "GET /audio/{id}/info": _sync_callables("handlers.audio", "/audio/{audio_id}/info"),
        "baseline GET /whoami": _sync_callables("bench.baseline_jwt_app", "/whoami"),
    }
    for name, calls in hops.items():
        result.diagnostics.append(
            f"{name} runs {len(calls)} plain-def callable(s) per request, each a thread-pool hop "
            f"(~{hop:.0f} µs measured here): {', '.join(calls)}; plus one hop to validate the response "
            "model (FastAPI does that in the pool for plain-def endpoints)."
        )
    result.notes.append(
        "One uvicorn worker serves on one core (the GIL); the load generator runs on the other. The request/s "
        "ratio is therefore the ratio of server CPU per request."
    )
    return result
