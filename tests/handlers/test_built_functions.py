"""Every function of template.yaml, imported from its own built package, answers a real event.

Reproduction (issue 11): the OpenaiSpeechFunction that `sam build` packages could not be imported
(`ModuleNotFoundError: No module named 'handlers.synthesize'`): infra/lambda/Makefile packages each function
with only its own handler file, and no test ran that package. Here each function is built by its makefile
target into a temporary directory and run in a fresh `python -I -S` (tests/support/lambda_packages.py) whose
path holds only that package, core/ as the layer copies it, and this interpreter's installed packages in
place of the layer's pip-installed runtime. The same cases run (slow) on what `sam build` makes, the layer's
manylinux runtime included (1-3 minutes to build here). Nothing of the repository is on the path, so a handler
that imports another handler fails here.

The functions come from template.yaml: a function added there fails until it gets an event in `CASES`.
Its environment is the deployed one (DynamoDB and S3 on a loopback moto server, the RunPod engine pointed
at a closed port, so synthesis answers 503 `RunPod is unreachable`).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
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
    sam_build,
    site_packages,
)

USERNAME = "packaged_user"
PASSWORD = "s3cret-password"
REGISTER = {"username": USERNAME, "email": "packaged@example.com", "password": PASSWORD, "full_name": None}


@dataclass(frozen=True)
class Case:
    """One request to one of a function's routes (`route`: as template.yaml spells it) and its answer:
    the status, and `summary(body)` (the decoded body, or the part of it that does not vary) == `expected`."""

    method: str
    path: str
    status: int
    summary: Callable[[Any], Any]
    expected: Any
    route: str = ""  # defaults to path
    json_body: Any = None
    authenticated: bool = True
    sample: str = "http_api_v2.json"


def _same(body: Any) -> Any:
    return body


def _error(body: Any) -> tuple[str, bool]:
    return body["error"]["code"], body["error"]["message"].startswith("RunPod is unreachable")


RUNPOD_UNREACHABLE = ("engine_unavailable", True)

CASES: dict[str, Case] = {
    "StatusFunction": Case("GET", "/health", 200, _same, {"status": "ok", "checks": {"store": "ok", "blobs": "ok"}}),
    "AuthFunction": Case(
        "POST",
        "/auth/login",
        200,
        lambda b: (b["token_type"], bool(b["access_token"]), bool(b["refresh_token"])),
        ("bearer", True, True),
        json_body={"username": USERNAME, "password": PASSWORD},
    ),
    "ApiKeysFunction": Case(
        "POST",
        "/api-keys",
        201,
        lambda b: (b["name"], b["key"].startswith(b["prefix"]), b["requests"]),
        ("packaged", True, 0),
        json_body={"name": "packaged"},
    ),
    "AdminFunction": Case("GET", "/admin/users", 403, lambda b: b["error"]["code"], "forbidden"),  # not an admin
    "AccountFunction": Case(
        "GET", "/profile", 200, lambda b: (b["username"], b["quota"]["limit"]), (USERNAME, 100_000)
    ),
    "VoicesFunction": Case(
        "GET",
        "/voices",
        200,
        lambda b: (b["engine"], b["can_clone"], [v["id"] for v in b["voices"]]),
        ("runpod", True, ["default", "female_default", "male_default", "chatterbox-default"]),
    ),
    "SynthesizeFunction": Case(
        "POST", "/synthesize", 503, _error, RUNPOD_UNREACHABLE, json_body={"text": "Hello."}, sample="function_url.json"
    ),
    "OpenaiSpeechFunction": Case(
        "POST",
        "/v1/audio/speech",
        503,
        _error,
        RUNPOD_UNREACHABLE,
        json_body={"model": "tts-1", "input": "Hello.", "voice": "alloy"},
        sample="function_url.json",
    ),
    "AudioFunction": Case("GET", "/audio", 200, _same, {"items": [], "next_cursor": None}),
    "WebFunction": Case(
        "GET",
        "/app",
        200,
        lambda b: (b.lower().startswith("<!doctype html>"), 'src="/app/static/app.js"' in b),
        (True, True),
        authenticated=False,
    ),
}


def decoded(response: dict[str, Any]) -> Any:
    raw = response.get("body") or ""
    body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode()
    content_type = {k.lower(): v for k, v in (response.get("headers") or {}).items()}.get("content-type", "")
    return json.loads(body) if content_type.startswith("application/json") else body.decode()


@dataclass(frozen=True)
class Packages:
    root: Path  # <root>/<LogicalId>/: a function's package (built on first use when missing)
    layer: Path  # the layer's python/ directory
    paths: list[Path]  # what a function sees after its own directory: the layer, then the runtime
    env: dict[str, str]
    token: str = ""

    def run(self, name: str, events: list[dict[str, Any]], tmp: Path) -> list[dict[str, Any]]:
        function_dir = self.root / name
        if not function_dir.exists():
            build_function(name, function_dir)
        assert not (function_dir / "core").exists()  # core ships once, in the layer
        run = run_package(function_dir, handler_path(name), events, self.env, cwd=tmp, paths=self.paths)
        assert run.heavy == [], f"{name} imports {run.heavy}"
        homes = {"handlers": function_dir, "core": self.layer, "runpod": self.paths[-1]}
        for module, origin in run.origins.items():
            home = homes[module.split(".")[0]].resolve()
            assert origin.startswith(f"{home}{os.sep}"), (name, module, origin)
        return run.responses


def _layers(kind: str, root: Path) -> tuple[Path, list[Path]]:
    """(the layer's python/, the path after the function) for core/ copied or for the real built layer."""
    if kind == "core-copy":
        layer = copy_core(root / "CoreLayer")
        return layer, [layer, *site_packages()]
    sam_build(root)
    return root / "CoreLayer" / "python", [root / "CoreLayer" / "python"]


@pytest.fixture(scope="module", params=["core-copy", pytest.param("sam-build", marks=pytest.mark.slow)])
def packages(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Packages]:
    """The functions' packages, their layer, a loopback AWS and a user's access token.

    core-copy: each function's makefile target, core/ copied as the layer, this interpreter's packages as
    the runtime. sam-build (slow: the layer's manylinux wheels): all of `sam build`, the layer's runtime only.
    """
    root = tmp_path_factory.mktemp(request.param)
    layer, paths = _layers(request.param, root)
    with aws_backend() as env:
        events = [
            http_event("POST", "/auth/register", json_body=REGISTER),
            http_event("POST", "/auth/login", json_body={"username": USERNAME, "password": PASSWORD}),
        ]
        registered, logged_in = Packages(root, layer, paths, env).run("AuthFunction", events, root)
        assert registered["statusCode"] == 200, registered
        yield Packages(root, layer, paths, env, token=decoded(logged_in)["access_token"])


def test_cases_cover_the_template() -> None:
    assert len(FUNCTIONS) >= 9
    assert set(CASES) <= set(FUNCTIONS), f"cases for functions not in template.yaml: {set(CASES) - set(FUNCTIONS)}"


def event_of(case: Case, token: str) -> dict[str, Any]:
    headers = {"authorization": f"Bearer {token}"} if case.authenticated else {}
    return http_event(case.method, case.path, headers=headers, json_body=case.json_body, sample=case.sample)


@pytest.fixture(scope="module")
def answers(packages: Packages) -> Iterator[dict[str, Future[list[dict[str, Any]]]]]:
    """Each function with a case, all started at once, each in its own interpreter; the tests read the results."""
    with ThreadPoolExecutor(max_workers=len(CASES)) as pool:
        futures = {}
        for name in (n for n in FUNCTIONS if n in CASES):
            cwd = packages.root / f"run-{name}"
            cwd.mkdir()
            futures[name] = pool.submit(packages.run, name, [event_of(CASES[name], packages.token)], cwd)
        yield futures


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_answers_from_its_own_package(name: str, answers: dict[str, Future[list[dict[str, Any]]]]) -> None:
    case = CASES.get(name)
    assert case is not None, f"{name} (template.yaml) has no event here: add a Case for one of {sorted(routes(name))}"
    assert (case.method, case.route or case.path) in routes(name), f"{name} does not route {case.method} {case.path}"
    (response,) = answers[name].result()
    body = decoded(response)
    assert response["statusCode"] == case.status, body
    assert case.summary(body) == case.expected, body
