"""Load generation: one URL at a fixed concurrency for a fixed duration.

Contract: `load_test` uses `wrk` when it is on PATH, else an asyncio + httpx loop; both report
requests/s, p50/p99 latency in milliseconds and the count of errors (non-2xx answers, timeouts).
"""

from __future__ import annotations

import asyncio
import re
import shutil
import subprocess
import time
from dataclasses import dataclass

from bench.stats import percentile


@dataclass
class LoadResult:
    tool: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip())
    if not match:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def load_test(url: str, headers: dict[str, str], *, connections: int, duration_s: float) -> LoadResult:
    if shutil.which("wrk"):
        return _wrk(url, headers, connections=connections, duration_s=duration_s)
    return asyncio.run(_httpx_load(url, headers, connections=connections, duration_s=duration_s))


def _wrk(url: str, headers: dict[str, str], *, connections: int, duration_s: float) -> LoadResult:
    command = ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration_s))}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout
    done = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if not (done and rps and p50 and p99):
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    socket_errors = re.search(r"Socket errors:.*?(\d+) timeout", out)
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += int(socket_errors.group(1)) if socket_errors else 0
    return LoadResult("wrk", int(done.group(1)), float(rps.group(1)), _ms(p50.group(1)), _ms(p99.group(1)), errors)


async def _httpx_load(url: str, headers: dict[str, str], *, connections: int, duration_s: float) -> LoadResult:
    import httpx

    latencies: list[float] = []
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(headers=headers, limits=limits, timeout=10) as client:
        deadline = time.perf_counter() + duration_s

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                response = await client.get(url)
                latencies.append((time.perf_counter() - start) * 1e3)
                errors += response.status_code >= 300

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return LoadResult(
        "httpx", len(latencies), len(latencies) / elapsed, percentile(latencies, 50), percentile(latencies, 99), errors
    )
