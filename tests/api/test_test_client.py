"""The demo client (test_client.py) against a real server: it succeeds, renews tokens, and fails loudly.

Each case runs `python test_client.py ...` as a user would, in a subprocess, and checks its exit
status and what it printed and saved.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.servers import ROOT, api_server, free_port
from tests.support.tokens import expired_copy
from tests.support.users import create_at

SECRET = "demo-client-test-signing-key-" + "k" * 40
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("client") / "data"
    with api_server({"DATA_DIR": str(data), "SECRET_KEY": SECRET}) as url:
        yield url


def run_client(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "test_client.py"), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_demo_passes_against_a_live_server(server: str, tmp_path: Path) -> None:
    run = run_client("--url", server, "--out", str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    for step in ("health", "account", "voices", "synthesize", "stream", "download", "info", "history"):
        assert f"== {step}" in run.stdout
    assert "registered" in run.stdout
    assert re.search(r"\d+ voices \(\d+ built in, 0 custom\) on engine ", run.stdout), run.stdout
    assert "Speech synthesized successfully using voice " in run.stdout
    assert "Demo finished: all steps passed" in run.stdout
    saved = list(tmp_path.glob("*.wav"))
    assert len(saved) == 1
    assert saved[0].read_bytes()[:4] == b"RIFF"


def test_demo_logs_in_when_the_account_exists(server: str, tmp_path: Path) -> None:
    args = ("--url", server, "--out", str(tmp_path), "--username", "repeat", "--password", "repeat-password")
    assert run_client(*args).returncode == 0
    again = run_client(*args)
    assert again.returncode == 0, again.stderr
    assert "exists; logged in" in again.stdout


def test_demo_renews_an_expired_access_token(server: str, tmp_path: Path) -> None:
    tokens = create_at(server, "expiring")["tokens"]
    expired = expired_copy(tokens["access_token"], SECRET)
    refresh = tokens["refresh_token"]
    run = run_client("--url", server, "--out", str(tmp_path), "--access-token", expired, "--refresh-token", refresh)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "access token expired: renewing it" in run.stdout
    assert "token renewals: 1" in run.stdout


def test_demo_fails_with_a_nonzero_status(server: str, tmp_path: Path) -> None:
    nobody = run_client("--url", f"http://127.0.0.1:{free_port()}", "--out", str(tmp_path))
    assert nobody.returncode != 0
    assert "FAILED" in nobody.stderr
    out = ("--out", str(tmp_path))
    assert run_client("--url", server, *out, "--username", "locked", "--password", "first-password").returncode == 0
    wrong = run_client("--url", server, *out, "--username", "locked", "--password", "not-the-password")
    assert wrong.returncode != 0
    assert "401" in wrong.stderr


def test_interactive_session(server: str, tmp_path: Path) -> None:
    keys = "\n".join(["1", "2", "Interactive hello.", "", "3", "4", "", "6", "9", "q"]) + "\n"
    run = run_client(
        "interactive",
        "--url",
        server,
        "--out",
        str(tmp_path),
        "--username",
        "menu",
        "--password",
        "menu-password",
        stdin=keys,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "en_US-joe-medium" in run.stdout  # the voice list
    assert "made " in run.stdout
    assert "Interactive hello." in run.stdout  # the history
    assert "choose one of the numbers" in run.stdout
    assert "menu <menu@example.com>" in run.stdout
    assert len(list(tmp_path.glob("*.wav"))) == 1
