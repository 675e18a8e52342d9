"""The real RunPod worker behind runpod's own local API, reachable by the real `runpod` SDK client.

Contract:
- `EndpointRoutes(app, endpoint_id, api_key)` is an ASGI wrapper around the FastAPI app of
  `runpod.serverless.modules.rp_fastapi.WorkerAPI` (what `--rp_serve_api` serves). That local API
  answers `/run`, `/runsync`, `POST /status/{id}`; the SDK calls `{endpoint_url_base}/{endpoint_id}/run`
  and `GET .../status/{id}` like the hosted API. The wrapper strips the `/{endpoint_id}` prefix (other
  paths: 404), turns GET status/stream into the POST the local API expects, and, like the hosted API,
  answers 401 unless `Authorization: Bearer <api_key>` is sent.
- Note: the local API runs a /run job when its status is first asked for, inside that request.
- `python -m tests.support.runpod_local --port N --endpoint-id E --api-key K` loads the worker's model
  (env CHATTERBOX_CHECKPOINT_DIR / CHATTERBOX_DEVICE, as in production) before it listens, then serves
  `handlers.runpod_worker.handler` on 127.0.0.1:N.
- `worker_server(endpoint_id, api_key, env)` runs that as a subprocess and yields its base URL
  (the value for RUNPOD_BASE_URL), stopping it on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.servers import ROOT, free_port, stop, wait_http

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


class EndpointRoutes:
    def __init__(self, app: ASGIApp, *, endpoint_id: str, api_key: str | None = None) -> None:
        self.app = app
        self.prefix = f"/{endpoint_id}"
        self.api_key = api_key

    async def _answer(self, send: Send, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data})

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if not path.startswith(self.prefix + "/"):
            await self._answer(send, 404, {"error": f"no such endpoint: {path}"})
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.api_key is not None and headers.get("authorization") != f"Bearer {self.api_key}":
            await self._answer(send, 401, {"error": "Unauthorized"})
            return
        path = path[len(self.prefix) :]
        method = scope["method"]
        if method == "GET" and path.startswith(("/status/", "/stream/")):
            method = "POST"
        await self.app({**scope, "path": path, "raw_path": path.encode(), "method": method}, receive, send)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--endpoint-id", required=True)
    parser.add_argument("--api-key", default=None)
    args = parser.parse_args()

    import uvicorn
    from runpod.serverless.modules.rp_fastapi import WorkerAPI

    from handlers import runpod_worker

    runpod_worker.engine()  # load the model once, before listening (as the worker's __main__ does)
    api = WorkerAPI({"handler": runpod_worker.handler})
    app = EndpointRoutes(api.rp_app, endpoint_id=args.endpoint_id, api_key=args.api_key)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


@contextmanager
def worker_server(
    *, endpoint_id: str, api_key: str, env: dict[str, str], log_path: Path, timeout: float = 900.0
) -> Iterator[str]:
    """Start the wrapped local worker API; yield the base URL to use as RUNPOD_BASE_URL.

    The worker's output goes to `log_path` (a pipe nobody reads would fill up and block it).
    """
    port = free_port()
    command = [sys.executable, "-m", "tests.support.runpod_local", "--port", str(port)]
    command += ["--endpoint-id", endpoint_id, "--api-key", api_key]
    full_env = {**os.environ, "RUNPOD_LOG_LEVEL": "INFO", **env}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=full_env)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_http(f"{url}/{endpoint_id}/health", timeout=timeout, proc=proc)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{exc}\n{log_tail(log_path)}") from exc
        yield url
    finally:
        stop(proc)


def log_tail(path: Path, chars: int = 4000) -> str:
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


if __name__ == "__main__":
    main()
