"""Shared pieces of the benchmarks: sizes, results, statistics, servers, users, RSS, load generation.

Contract:
- `Profile` picks a size per run mode: "full" (the documented run), "quick" (`--quick`, ~3 minutes
  for all) and "smoke" (tiny: only proves the harness runs; used by tests/unit/test_bench_smoke.py).
- A benchmark builds a `Result` of `Figure`s (value, baseline, ratio, bar, PASS/MISS) and `Table`s,
  prints it and saves it as JSON under `results_dir()` (`BENCH_RESULTS_DIR` or bench/results/).
- `Server` runs `uvicorn <app>` (one worker, loopback, access log off) in a subprocess with an
  isolated DATA_DIR and a fixed SECRET_KEY, and exposes its PID for RSS sampling.
- `load_test` drives one URL at a fixed concurrency for a fixed duration with `wrk` when it is on
  PATH, else with an asyncio + httpx loop; both report requests/s and p50/p99 latency.
Nothing here asserts a timing.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - loopback only
PASSWORD = "correct horse battery staple"  # noqa: S105
ProfileName = Literal["full", "quick", "smoke"]
T = TypeVar("T")


# -- run profile ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Profile:
    name: ProfileName = "full"
    flags: frozenset[str] = frozenset()  # extra command-line switches, e.g. "--skip-full-depth"

    def pick(self, full: T, quick: T, smoke: T) -> T:
        return {"full": full, "quick": quick, "smoke": smoke}[self.name]


def parse_profile(argv: Sequence[str]) -> Profile:
    flags = frozenset(a for a in argv if a.startswith("--"))
    if "--smoke" in flags:
        return Profile("smoke", flags)
    if "--quick" in flags:
        return Profile("quick", flags)
    return Profile("full", flags)


# -- results -------------------------------------------------------------------------------------
@dataclass
class Figure:
    """One measured figure next to its baseline. `passed` is None for figures without a bar."""

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    bar: str = ""
    passed: bool | None = None
    note: str = ""


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]]


@dataclass
class Result:
    name: str
    title: str
    profile: str
    started: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"))
    duration_s: float = 0.0
    params: dict[str, Any] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)


def results_dir() -> Path:
    env = os.environ.get("BENCH_RESULTS_DIR")
    path = Path(env) if env else ROOT / "bench" / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.inf


def save(result: Result) -> Path:
    path = results_dir() / f"{result.name}.json"
    path.write_text(json.dumps(asdict(result), indent=2, default=str) + "\n")
    return path


def load(path: Path) -> Result:
    data = json.loads(path.read_text())
    data["figures"] = [Figure(**f) for f in data.get("figures", [])]
    data["tables"] = [Table(**t) for t in data.get("tables", [])]
    return Result(**data)


def verdict(passed: bool | None) -> str:
    return "—" if passed is None else ("PASS" if passed else "MISS")


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            return str(value)
        magnitude = abs(value)
        if magnitude >= 1000:
            return f"{value:,.0f}"
        if magnitude >= 100:
            return f"{value:.1f}"
        return f"{value:.{digits}g}" if magnitude < 1 else f"{value:.{digits - 1}f}"
    return str(value)


def print_result(result: Result) -> None:
    print(f"\n== {result.title} [{result.profile}] ({result.duration_s:.0f} s)")
    for table in result.tables:
        print_table(table)
    if result.figures:
        print_table(
            Table(
                "figures",
                ["figure", "value", "baseline", "ratio", "bar", "verdict"],
                [
                    [
                        f.name,
                        f"{fmt(f.value)} {f.unit}",
                        f"{fmt(f.baseline)} ({f.baseline_name})" if f.baseline is not None else "—",
                        fmt(f.ratio),
                        f.bar or "—",
                        verdict(f.passed),
                    ]
                    for f in result.figures
                ],
            )
        )
    for note in result.notes + result.diagnostics:
        print(f"  * {note}")


def print_table(table: Table) -> None:
    cells = [[str(c) for c in table.columns]] + [[fmt(c) for c in row] for row in table.rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(table.columns))]
    print(f"-- {table.title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))


# -- statistics ----------------------------------------------------------------------------------
def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def linear_fit(xs: Sequence[float], ys: Sequence[float]) -> tuple[float, float, float]:
    """Least-squares line: (slope, intercept, r_squared)."""
    n = len(xs)
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    sxy = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    intercept = mean_y - slope * mean_x
    ss_tot = sum((y - mean_y) ** 2 for y in ys)
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    return slope, intercept, (1.0 - ss_res / ss_tot) if ss_tot else 1.0


# -- machine -------------------------------------------------------------------------------------
def machine_info() -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": platform.python_version(),
        "kernel": platform.release(),
        "nproc": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for key in ("Model name", "CPU(s)", "Thread(s) per core", "Hypervisor vendor"):
            match = re.search(rf"^{re.escape(key)}:\s+(.+)$", lscpu, re.M)
            if match:
                info[key.lower().replace(" ", "_").replace("(s)", "s")] = match.group(1).strip()
    except OSError:
        pass
    try:
        meminfo = Path("/proc/meminfo").read_text()
        total = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
        if total:
            info["mem_total_gib"] = round(int(total.group(1)) / 1024**2, 1)
    except OSError:
        pass
    return info


def code_version() -> str:
    """The commit measured, and the product files that differed from it (read-only git commands)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "core", "handlers", "local_server.py"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split("\n")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = sorted(line[3:] for line in dirty if line.strip())
    return head + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


# -- processes and memory ------------------------------------------------------------------------
def proc_status_mib(pid: int | str = "self", key: str = "VmRSS") -> float:
    """VmRSS (current) or VmHWM (peak) of a process in MiB; NaN if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return math.nan
    match = re.search(rf"^{key}:\s+(\d+) kB", text, re.M)
    return int(match.group(1)) / 1024 if match else math.nan


class RssSampler:
    """Samples a PID's RSS every `interval` seconds in a thread; `peak` and `samples` (t, MiB)."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            value = proc_status_mib(self.pid)
            if not math.isnan(value):
                self.samples.append((time.monotonic() - start, value))
            self._stop.wait(self.interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def peak(self) -> float:
        return max((mb for _, mb in self.samples), default=math.nan)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a server or probe process: isolated DATA_DIR, fixed key, Piper, sqlite,
    abuse limits far above what a benchmark sends."""
    env = {k: v for k, v in os.environ.items() if k not in ("SQLITE_PATH", "BLOB_DIR", "PIPER_VOICES_DIR")}
    env.update(
        {
            "DATA_DIR": str(data_dir),
            "APP_ENV": "development",
            "SECRET_KEY": SECRET_KEY,
            "TTS_ENGINE": "piper",
            "STORAGE_BACKEND": "sqlite",
            "BLOB_BACKEND": "local",
            "PYTHONPATH": str(ROOT),
        }
    )
    # Abuse limits stay on (their store write is part of a request's cost) but far above bench rates.
    for name in ("REGISTER_PER_HOUR", "LOGIN_PER_MINUTE", "SYNTHESIS_PER_MINUTE", "UPLOADS_PER_HOUR"):
        env[f"RATE_LIMIT_{name}"] = "1000000"
    env["QUOTA_CHARS_PER_DAY"] = "1000000000"
    env.update(extra)
    return env


@contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Server:
    """`uvicorn <app>` on 127.0.0.1 in a subprocess (one worker, access log off)."""

    def __init__(self, app: str, data_dir: Path, *, ready_path: str = "/health", **env: str) -> None:
        self.app = app
        self.data_dir = data_dir
        self.ready_path = ready_path
        self.env = bench_env(data_dir, **env)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}-{app.replace(':', '_')}.log"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def __enter__(self) -> Server:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [PYTHON, "-m", "uvicorn", self.app, "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        self._wait()
        return self

    def _wait(self, timeout: float = 120.0) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.app} exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise TimeoutError(f"{self.app} did not answer within {timeout} s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def register_user(url: str, username: str = "bench") -> dict[str, str]:
    """Register and log in one user over HTTP; returns the Authorization header."""
    import httpx

    with httpx.Client(base_url=url, timeout=60) as client:
        body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD, "full_name": None}
        reg = client.post("/auth/register", json=body)
        reg.raise_for_status()
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        login.raise_for_status()
        return {"Authorization": f"Bearer {login.json()['access_token']}"}


# -- load generation -----------------------------------------------------------------------------
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


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[float, Any]:
    """(seconds, return value) of one call."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return time.perf_counter() - start, value


def per_call_us(fn: Callable[[], Any], *, seconds: float = 0.3) -> float:
    """Mean microseconds per call of `fn`, calling it repeatedly for about `seconds` (after one warm-up)."""
    fn()
    calls = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        fn()
        calls += 1
    return (time.perf_counter() - started) / max(calls, 1) * 1e6
