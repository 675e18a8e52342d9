"""Server processes for benchmarks: `uvicorn <app>` on loopback with an isolated DATA_DIR.

Contract: `Server` runs `uvicorn <app>` (one worker, loopback, access log off) in a subprocess with the
environment of `bench_env` (isolated DATA_DIR, the fixed `SECRET_KEY`, Piper, SQLite, abuse limits far
above what a benchmark sends) and exposes its PID for RSS sampling; `temp_dir` is a directory removed
afterwards. Users are made with the one user factory, tests/support/users.py.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import PYTHON, ROOT

SECRET_KEY = "bench-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"  # noqa: S105 - loopback only


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
