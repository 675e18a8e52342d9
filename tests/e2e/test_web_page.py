"""The web page end to end in headless Chromium (Debian's chromium, driven by playwright-core from Node).

A real server runs on loopback; web_page.mjs registers through the page, synthesizes, checks that the
page's <audio> element has playable audio (readyState >= HAVE_CURRENT_DATA, duration > 0, no media
error), deletes the entry with the keyboard, then opens the page as a returning user whose access token
has expired and checks the page renewed it. Skips only when Chromium itself is absent; a missing
playwright-core is a setup error (run infra/scripts/install_browser.sh).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from core.tts import codecs
from tests.support.servers import api_server
from tests.support.speech import speech_clip
from tests.support.tokens import expired_copy
from tests.support.users import create_at

HERE = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
SECRET = "e2e-test-signing-key-" + "x" * 40
TEXT = "Good morning. The page speaks this sentence out loud."

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Chromium is not installed (infra/scripts/install_browser.sh)"),
]


def test_register_synthesize_play_delete_and_refresh(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "Node.js is needed to drive the browser"
    assert (HERE / "node_modules" / "playwright-core").is_dir(), "run infra/scripts/install_browser.sh first"
    screenshot, login_shot = tmp_path / "web_page.png", tmp_path / "web_login.png"
    clip = tmp_path / "my-voice.wav"
    clip.write_bytes(codecs.encode(speech_clip(), "wav"))  # real speech, as a user uploads
    with api_server({"DATA_DIR": str(tmp_path / "data"), "SECRET_KEY": SECRET}) as url:
        assert httpx.get(f"{url}/app").headers["content-type"].startswith("text/html")
        returning = create_at(url, "returning")["tokens"]
        config: dict[str, Any] = {
            "url": url,
            "chromium": str(CHROMIUM),
            "screenshot": str(screenshot),
            "screenshotLogin": str(login_shot),
            "clip": str(clip),
            "text": TEXT,
            "user": {"username": "webuser", "email": "webuser@example.com", "password": "browser-password"},
            "expired": {
                "access": expired_copy(returning["access_token"], SECRET),
                "refresh": returning["refresh_token"],
            },
        }
        expired = httpx.get(f"{url}/profile", headers={"Authorization": f"Bearer {config['expired']['access']}"})
        assert expired.json()["error"]["code"] == "token_expired"
        run = subprocess.run(
            [node, str(HERE / "web_page.mjs"), json.dumps(config)],
            cwd=HERE,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        seen = json.loads(run.stdout.strip().splitlines()[-1])
        web_login = httpx.post(f"{url}/auth/login", json={"username": "webuser", "password": "browser-password"})
        web_headers = {"Authorization": f"Bearer {web_login.json()['access_token']}"}
        web_history = httpx.get(f"{url}/audio", headers=web_headers).json()["items"]
        returning_history = httpx.get(
            f"{url}/audio", headers={"Authorization": f"Bearer {returning['access_token']}"}
        ).json()["items"]

    print(f"screenshots: {screenshot} {login_shot}")
    assert seen["title"] == "Chatterbox TTS"
    assert seen["signedInAs"] == "webuser"
    assert seen["voices"], "the voice list is empty"
    audio = seen["audio"]
    assert audio["error"] is None
    assert audio["readyState"] >= 2
    assert 2.0 < audio["duration"] < 15.0
    assert audio["src"] == "blob:"
    assert seen["historyTexts"] == [TEXT]
    assert seen["historyAfterDelete"] == 0
    assert seen["voiceStatus"] == "Voice 'My clip' created successfully"
    assert re.fullmatch(r"Voices \(\d+ built in, 1 yours\)", seen["voicesTitle"]), seen["voicesTitle"]
    assert seen["clonedOption"] == {"text": "My clip (needs a cloning engine)", "disabled": True}
    assert web_history == []  # deleted on the server, not just on the page
    assert seen["returningUser"] == "returning"
    assert seen["accessRenewed"] is True
    assert seen["returningAudio"]["error"] is None
    assert seen["returningAudio"]["duration"] > 0
    assert [item["text"] for item in returning_history] == ["Welcome back."]
    assert seen["consoleErrors"] == [], seen["consoleErrors"]
    assert screenshot.stat().st_size > 10_000
