"""Real servers on loopback for tests: moto's DynamoDB/S3 server and our own local server.

Contract: each context manager starts a subprocess bound to 127.0.0.1 on a free port, waits until
it answers, yields its base URL, and stops it (terminate, then kill) on exit, whatever happened.
A server's output goes to a temporary log file, never to an unread pipe: a full pipe would block
the server on its next log line (a busy server writes one per request).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(
    url: str, *, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None, log: IO[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = b""
            if log is not None:
                log.seek(0)
                out = log.read()
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out.decode(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # it answered
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


_RUNNING: dict[str, subprocess.Popen[bytes]] = {}


def stop_by_url(url: str) -> None:
    """Stop a server started here while its context is still open (fault tests)."""
    stop(_RUNNING[url])


def kill_by_url(url: str) -> None:
    """SIGKILL a server started here (a crash: no cleanup code runs), and reap it."""
    proc = _RUNNING[url]
    proc.kill()
    proc.wait(timeout=10)


@contextmanager
def moto_server() -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        command = [sys.executable, "-m", "tests.support.moto_serial", "127.0.0.1", str(port)]  # one request at a time
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        _RUNNING[url] = proc
        try:
            wait_http(f"{url}/moto-api/", proc=proc, log=log)
            yield url
        finally:
            stop(proc)
            _RUNNING.pop(url, None)


@contextmanager
def api_server(env: dict[str, str], *, timeout: float = 120.0, pinned_at: float | None = None) -> Iterator[str]:
    """`python local_server.py` (the server Render and the API image run: uvicorn with the edge's
    timeouts, `core.edge.server`) on a free loopback port, with `env` added to the environment; with
    `pinned_at`, its limits' clock stays at that epoch time (tests.support.clock)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "local_server.py"]
    if pinned_at is not None:
        command = [sys.executable, "-m", "tests.support.clock", repr(pinned_at)]
    env = {**os.environ, **env, "HOST": "127.0.0.1", "PORT": str(port)}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        _RUNNING[url] = proc
        try:
            wait_http(f"{url}/health", timeout=timeout, proc=proc, log=log)
            yield url
        finally:
            stop(proc)
            _RUNNING.pop(url, None)
