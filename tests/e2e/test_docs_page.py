"""/docs and /redoc in headless Chromium: they render under their strict CSP, with nothing from a CDN.

A real server runs on loopback; Chromium loads each page, runs its scripts (`--dump-dom` after a virtual
time budget) and logs its console. Swagger UI must have rendered an operation of every path, and no
Content-Security-Policy violation may be logged except ReDoc's "powered by" logo, which it tries to load
from its CDN and which the policy blocks (that block is the point). Skips only when Chromium is absent.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support.servers import api_server

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (infra/scripts/install_browser.sh)"),
]


def render(url: str) -> tuple[str, list[str]]:
    """The page's DOM after its scripts ran, and its console's CSP violations."""
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
        "--virtual-time-budget=15000", "--dump-dom", url,
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=True)
    violations = [line for line in done.stderr.splitlines() if "Content Security Policy" in line]
    return done.stdout, violations


def test_docs_pages_render_under_their_policy(tmp_path: Path) -> None:
    with api_server({"DATA_DIR": str(tmp_path / "data")}) as url:
        import httpx

        paths = set(httpx.get(f"{url}/openapi.json").json()["paths"])
        swagger, swagger_violations = render(f"{url}/docs")
        redoc, redoc_violations = render(f"{url}/redoc")
    assert set(re.findall(r'data-path="([^"]+)"', swagger)) == paths
    assert swagger_violations == []
    assert "/auth/login" in redoc
    assert all("cdn.redoc.ly" in line for line in redoc_violations), redoc_violations
