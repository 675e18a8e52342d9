"""Bounded mixed-traffic load test on loopback: `python -m bench.load [--seconds 60] [--users 8]`.

Contract: starts the combined server (one uvicorn worker, isolated DATA_DIR, default limits) on
127.0.0.1, registers `--users` users, then for `--seconds` drives a mix of authenticated reads
(profile, voices, history, info, download), syntheses and deliberate abuse (logins with a wrong
password, past the lockout), from `--users` concurrent clients. It stops by itself, prints a
table of statuses per operation and writes bench/results/load.json. Exit status 1 when any
response other than an intended 429 (rate limit, lockout, quota) is not a success.
Only 127.0.0.1 is ever contacted; every loop is bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
MAX_REQUESTS = 200_000  # hard bound whatever the duration
TEXTS = [
    "Hello there, this is a short sentence.",
    "The quick brown fox jumps over the lazy dog.",
    "Load testing keeps the service honest. Every request should succeed or be limited on purpose.",
]
INTENDED_429 = {"rate_limited", "login_locked", "quota_exceeded"}


class Stats:
    def __init__(self) -> None:
        self.status: dict[str, Counter[str]] = defaultdict(Counter)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.unexpected: list[str] = []
        self.requests = 0

    def record(self, op: str, response: httpx.Response, started: float) -> None:
        self.requests += 1
        self.latency[op].append(time.perf_counter() - started)
        code = ""
        if response.status_code >= 400:
            try:
                code = str(response.json()["error"]["code"])
            except (ValueError, KeyError, TypeError):
                code = "?"
        self.status[op][f"{response.status_code}{' ' + code if code else ''}"] += 1
        intended = response.status_code == 429 and code in INTENDED_429
        wrong_password = op == "bad_login" and response.status_code == 401
        if response.status_code >= 400 and not intended and not wrong_password:
            self.unexpected.append(f"{op}: {response.status_code} {response.text[:200]}")


async def user_loop(base: str, name: str, deadline: float, stats: Stats, rng: random.Random) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        password = "load test password"  # noqa: S105
        await http.post("/auth/register", json={"username": name, "email": f"{name}@example.com", "password": password})
        tokens = (await http.post("/auth/login", json={"username": name, "password": password})).json()
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        audio_ids: list[str] = []
        while time.monotonic() < deadline and stats.requests < MAX_REQUESTS:
            op = rng.choices(
                ["profile", "voices", "history", "info", "download", "synthesize", "bad_login"],
                weights=[20, 20, 15, 15, 10, 8, 2],
            )[0]
            if op in ("info", "download") and not audio_ids:
                op = "synthesize"
            started = time.perf_counter()
            try:
                response = await _call(http, op, headers, audio_ids, rng, name)
            except httpx.HTTPError as exc:  # a timeout or a dropped connection is a failure too
                stats.requests += 1
                stats.unexpected.append(f"{op}: {type(exc).__name__} after {time.perf_counter() - started:.1f} s")
                continue
            if op == "synthesize" and response.status_code == 200:
                audio_ids.append(response.json()["audio_id"])
            stats.record(op, response, started)


async def _call(
    http: httpx.AsyncClient, op: str, headers: dict[str, str], audio_ids: list[str], rng: random.Random, name: str
) -> httpx.Response:
    if op == "profile":
        return await http.get("/profile", headers=headers)
    if op == "voices":
        return await http.get("/voices", headers=headers)
    if op == "history":
        return await http.get("/audio?limit=20", headers=headers)
    if op == "info":
        return await http.get(f"/audio/{rng.choice(audio_ids)}/info", headers=headers)
    if op == "download":
        return await http.get(f"/audio/{rng.choice(audio_ids)}", headers=headers)
    if op == "synthesize":
        return await http.post("/synthesize", headers=headers, json={"text": rng.choice(TEXTS)})
    return await http.post("/auth/login", json={"username": name + "x", "password": "wrong!"})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


async def drive(base: str, users: int, seconds: float) -> Stats:
    stats = Stats()
    deadline = time.monotonic() + seconds
    rng = random.Random(7)
    await asyncio.gather(
        *(user_loop(base, f"load{n}", deadline, stats, random.Random(rng.random())) for n in range(users))
    )
    return stats


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--users", type=int, default=8)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tests.support.servers import api_server

    with tempfile.TemporaryDirectory() as data, api_server({"DATA_DIR": data}) as base:
        started = time.monotonic()
        stats = asyncio.run(drive(base, args.users, min(args.seconds, 600.0)))
        elapsed = time.monotonic() - started
    rows = []
    print(f"{stats.requests} requests in {elapsed:.1f} s ({stats.requests / elapsed:.1f}/s), {args.users} users")
    print(f"{'operation':<12} {'count':>6} {'p50 ms':>8} {'p99 ms':>8}  statuses")
    for op in sorted(stats.latency):
        lat = stats.latency[op]
        row = {
            "operation": op,
            "count": len(lat),
            "p50_ms": round(1000 * statistics.median(lat), 1),
            "p99_ms": round(1000 * percentile(lat, 0.99), 1),
            "statuses": dict(stats.status[op]),
        }
        rows.append(row)
        print(f"{op:<12} {row['count']:>6} {row['p50_ms']:>8} {row['p99_ms']:>8}  {row['statuses']}")
    print(f"unexpected errors: {len(stats.unexpected)}")
    for line in stats.unexpected[:10]:
        print("  " + line)
    out = ROOT / "bench" / "results" / "load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {
        "seconds": round(elapsed, 1),
        "users": args.users,
        "requests": stats.requests,
        "rows": rows,
        "unexpected": stats.unexpected[:50],
    }
    out.write_text(json.dumps(summary, indent=2))
    return 1 if stats.unexpected else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
