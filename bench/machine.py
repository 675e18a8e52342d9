"""The machine and process a benchmark ran on: CPU and memory facts, the commit measured, and RSS.

Contract: `machine_info()` and `code_version()` describe the run (read-only commands); `proc_status_mib`
reads a process's VmRSS or VmHWM from /proc (NaN once it is gone); `RssSampler` samples a PID's RSS
in a thread while a `with` block runs and keeps the samples and the peak.
"""

from __future__ import annotations

import math
import os
import platform
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from bench import ROOT


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
