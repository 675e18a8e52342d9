"""Every function of template.yaml, imported from its own built package, answers a real event.

Reproduction (issue 11): the OpenaiSpeechFunction that `sam build` packages could not be imported
(`ModuleNotFoundError: No module named 'handlers.synthesize'`): infra/lambda/Makefile packages each function
with only its own handler file, and no test ran that package. Here each function is built by its makefile
target into a temporary directory and run in a fresh `python -I -S` (tests/support/lambda_packages.py) whose
path holds only that package, core/ as the layer copies it, and this interpreter's installed packages in
place of the layer's pip-installed runtime (building that with manylinux wheels takes about a minute: the
slow test in test_sam_events.py does it). Nothing of the repository is on the path, so a handler that
imports another handler fails here.

The functions come from template.yaml: a function added there fails until it gets an event in `CASES`.
Its environment is the deployed one (DynamoDB and S3 on a loopback moto server, the RunPod engine pointed
at a closed port, so synthesis answers 503 `RunPod is unreachable`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.support.events import http_event
from tests.support.lambda_packages import (
    FUNCTIONS,
    aws_backend,
    build_function,
    copy_core,
    handler_path,
    routes,
    run_package,
    site_packages,
)

USERNAME = "packaged_user"
PASSWORD = "s3cret-password"
REGISTER = {"username": USERNAME, "email": "packaged@example.com", "password": PASSWORD, "full_name": None}


@dataclass(frozen=True)
class Case:
    """One request to one of a function's routes (`route`: as template.yaml spells it) and its answer."""

    method: str
    path: str
    status: int
    check: Callable[[Any], object]  # called with the decoded body; asserts on it
    route: str = ""  # defaults to path
    json_body: Any = None
    authenticated: bool = True
    sample: str = "http_api_v2.json"
    headers: dict[str, str] = field(default_factory=dict)


def runpod_unreachable(body: Any) -> None:
    assert body["error"]["code"] == "engine_unavailable", body
    assert body["error"]["message"].startswith("RunPod is unreachable"), body


def _key_created(body: Any) -> None:
    assert body["name"] == "packaged" and body["key"].startswith(body["prefix"]), body


def _profile(body: Any) -> None:
    assert body["username"] == USERNAME and body["quota"]["used"] == 0, body


def _voices(body: Any) -> None:
    assert body["engine"] == "runpod" and body["can_clone"] is True, body
    assert [v["id"] for v in body["voices"]] == ["chatterbox-default"], body


def _logged_in(body: Any) -> None:
    assert body["token_type"] == "bearer" and body["access_token"] and body["refresh_token"], body


def _page(body: Any) -> None:
    assert "<!doctype html>" in body.lower() and 'src="/app/static/app.js"' in body, body[:300]


CASES: dict[str, Case] = {
    "StatusFunction": Case(
        "GET", "/health", 200, lambda b: b == {"status": "ok", "checks": {"store": "ok", "blobs": "ok"}}
    ),
    "AuthFunction": Case(
        "POST", "/auth/login", 200, _logged_in, json_body={"username": USERNAME, "password": PASSWORD}
    ),
    "ApiKeysFunction": Case("POST", "/api-keys", 201, _key_created, json_body={"name": "packaged"}),
    "AccountFunction": Case("GET", "/profile", 200, _profile),
    "VoicesFunction": Case("GET", "/voices", 200, _voices),
    "SynthesizeFunction": Case(
        "POST", "/synthesize", 503, runpod_unreachable, json_body={"text": "Hello."}, sample="function_url.json"
    ),
    "OpenaiSpeechFunction": Case(
        "POST",
        "/v1/audio/speech",
        503,
        runpod_unreachable,
        json_body={"model": "tts-1", "input": "Hello.", "voice": "alloy"},
        sample="function_url.json",
    ),
    "AudioFunction": Case("GET", "/audio", 200, lambda b: b == {"items": [], "next_cursor": None}),
    "WebFunction": Case("GET", "/app", 200, _page, authenticated=False),
}


def decoded(response: dict[str, Any]) -> Any:
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    content_type = {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get("content-type", "")
    return json.loads(body) if content_type.startswith("application/json") else body.decode()


@dataclass(frozen=True)
class Packages:
    root: Path
    layer: Path  # the layer's python/ directory (core/ only)
    paths: list[Path]  # what a function sees after its own directory: the layer, then the runtime
    env: dict[str, str]
    token: str

    def run(self, name: str, events: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
        function_dir = self.root / name
        if not function_dir.exists():
            build_function(name, function_dir)
        assert not (function_dir / "core").exists()  # core ships once, in the layer
        run = run_package(function_dir, handler_path(name), events, self.env, cwd=tmp, paths=self.paths)
        assert run.heavy == [], f"{name} imports {run.heavy}"
        for module, origin in run.origins.items():
            home = function_dir if module.split(".")[0] == "handlers" else self.layer
            if module.split(".")[0] != "runpod":
                assert origin.startswith(f"{home.resolve()}{os.sep}"), (name, module, origin)
        return run.responses


@pytest.fixture(scope="module")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packages]:
    root = tmp_path_factory.mktemp("functions")
    layer = copy_core(root / "CoreLayer")
    with aws_backend() as env:
        bootstrap = Packages(root, layer, [layer, *site_packages()], env, token="")
        events = [
            http_event("POST", "/auth/register", json_body=REGISTER),
            http_event("POST", "/auth/login", json_body={"username": USERNAME, "password": PASSWORD}),
        ]
        registered, logged_in = bootstrap.run("AuthFunction", events, root)
        assert registered["statusCode"] == 201, registered
        yield Packages(root, layer, bootstrap.paths, env, token=decoded(logged_in)["access_token"])


def test_cases_cover_the_template() -> None:
    assert len(FUNCTIONS) >= 9
    assert set(CASES) <= set(FUNCTIONS), f"cases for functions not in template.yaml: {set(CASES) - set(FUNCTIONS)}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_answers_from_its_own_package(name: str, packages: Packages, tmp_path: Path) -> None:
    case = CASES.get(name)
    assert case is not None, f"{name} (template.yaml) has no event here: add a Case for one of {sorted(routes(name))}"
    assert (case.method, case.route or case.path) in routes(name), f"{name} does not route {case.method} {case.path}"
    headers = {"authorization": f"Bearer {packages.token}"} if case.authenticated else {}
    event = http_event(
        case.method, case.path, headers={**headers, **case.headers}, json_body=case.json_body, sample=case.sample
    )
    (response,) = packages.run(name, [event], tmp_path)
    body = decoded(response)
    assert response["statusCode"] == case.status, body
    assert case.check(body) is not False, body
