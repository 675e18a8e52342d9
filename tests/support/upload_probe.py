"""Child process for memory tests: `python -m tests.support.upload_probe FILE` uploads FILE to POST /voices
through the real app once and prints {"status", "peak_bytes"} as JSON.

peak_bytes is tracemalloc's peak over that one request (numpy registers its arrays with tracemalloc), taken
after a warm-up upload so imports and the engine are not counted. Settings come from the environment.
"""

from __future__ import annotations

import json
import sys
import tracemalloc
from pathlib import Path

from fastapi.testclient import TestClient


def main(path: str) -> None:
    import local_server
    from tests.support.bombs import flac_bomb

    data = Path(path).read_bytes()
    account = {"username": "probe", "email": "probe@example.com", "password": "long enough password"}
    with TestClient(local_server.app) as client:
        client.post("/auth/register", json=account)
        login = client.post("/auth/login", json={"username": "probe", "password": account["password"]})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}

        def upload(body: bytes) -> int:
            files = {"file": ("clip.flac", body, "audio/flac")}
            return client.post("/voices", headers=headers, data={"name": "probe"}, files=files).status_code

        warm = upload(flac_bomb(channels=1, rate=16000, seconds=4, tone_s=4.0))
        tracemalloc.start()
        status = upload(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(json.dumps({"warm_status": warm, "status": status, "peak_bytes": peak}))


if __name__ == "__main__":
    main(sys.argv[1])
