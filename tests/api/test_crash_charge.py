"""A crash charges nothing for unsaved work: a server SIGKILLed mid-synthesis, then restarted.

What is proven: while a synthesis runs its quota hold counts (GET /profile shows the text's characters);
the process is killed with SIGKILL (no cleanup code runs); after a restart on the same data, once the
hold's grace (QUOTA_HOLD_GRACE_S, short here) has passed, the user is charged nothing and no record
exists. Real server processes, real Piper engine, the embedded SQLite store (the hold logic is proven on
DynamoDB too in tests/unit/test_quota_holds.py). The restarted server's quota clock is pinned past the
grace (tests.support.clock) instead of the test sleeping through it.
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import servers, users

GRACE_S = 3
TEXT = " ".join(["This long request keeps the engine busy for a good while before anything is stored."] * 30)


def quota(url: str, headers: dict[str, str]) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(f"{url}/profile", headers=headers).json()["quota"]
    return body


@pytest.mark.slow
def test_a_server_killed_mid_synthesis_leaves_no_charge_after_the_grace(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path / "data"), "QUOTA_HOLD_GRACE_S": str(GRACE_S)}
    with servers.api_server(env) as url:
        headers = users.create_at(url, "crash")["headers"]
        assert quota(url, headers)["used"] == 0

        def synthesize() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it
                httpx.post(f"{url}/synthesize", headers=headers, json={"text": TEXT}, timeout=120)

        job = threading.Thread(target=synthesize)
        job.start()
        deadline = time.monotonic() + 30
        while (shown := quota(url, headers))["used"] == 0:
            assert time.monotonic() < deadline, "the synthesis never started"
            time.sleep(0.05)
        assert shown["used"] == len(TEXT)  # the hold counts while the job runs
        assert shown["audio_seconds"]["used"] > 0
        servers.kill_by_url(url)
        job.join(timeout=30)
    restarted = time.time() + GRACE_S + 1  # past the hold's grace
    with servers.api_server(env, pinned_at=restarted) as url, httpx.Client(base_url=url) as client:
        headers = users.bearer(users.login(client, "crash").json()["access_token"])  # the same user
        after = quota(url, headers)
        assert (after["used"], after["audio_seconds"]["used"]) == (0, 0)
        assert httpx.get(f"{url}/audio", headers=headers).json()["items"] == []
