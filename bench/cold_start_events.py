"""What each handler answers in the cold-start benchmark (bench/cold_start.py): the targets and their events.

Contract: `handler_modules()` lists the light handler modules (all of handlers/ but runpod_worker);
`event_for(target, user)` is the Lambda HTTP API v2 event a target answers: a real request against the
prepared store (see bench/cold_start.py's docstring for each), or for a handler without a known event
its first GET route without path parameters, else its first route with an empty JSON body;
`expected_status(module)` is the status that event must get (None: any answer below 500).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from bench import ROOT
from bench.fixtures import DirectUser
from bench.texts import SENTENCE
from tests.support.events import http_event

BASELINE = "bench.baseline_handler"


REAL_SYNTH = "handlers.synthesize+synthesis"


def handler_modules() -> list[str]:
    return sorted(
        f"handlers.{p.stem}" for p in (ROOT / "handlers").glob("*.py") if p.stem not in ("__init__", "runpod_worker")
    )


@dataclass
class Target:
    label: str
    module: str
    expect: int | None


def event_for(target: Target, user: DirectUser) -> dict[str, Any]:

    auth = user.headers
    if target.label == BASELINE:
        return http_event("GET", "/hello")
    if target.label == REAL_SYNTH:
        return http_event("POST", "/synthesize", headers=auth, json_body={"text": SENTENCE})
    known: dict[str, dict[str, Any]] = {
        "handlers.status": http_event("GET", "/health"),
        "handlers.account": http_event("GET", "/profile", headers=auth),
        "handlers.voices": http_event("GET", "/voices", headers=auth),
        "handlers.audio": http_event("GET", "/audio", headers=auth, query={"limit": "20"}),
        "handlers.synthesize": http_event("POST", "/synthesize", headers=auth, json_body={"text": " "}),
    }
    if target.module == "handlers.auth":
        return http_event("POST", "/auth/refresh", json_body={"refresh_token": user.fresh_refresh_token()})
    if target.module in known:
        return known[target.module]
    method, path = _generic_route(target.module)
    return http_event(method, path, headers=auth, json_body=None if method == "GET" else {})


def _generic_route(module: str) -> tuple[str, str]:
    """A handler without a known event: its first GET route without path parameters, else its first
    route with an empty JSON body (a validation error: still import, routing, auth and validation)."""
    routes = [r for r in importlib.import_module(module).router.routes if hasattr(r, "methods")]
    for route in routes:
        if "GET" in (route.methods or set()) and "{" not in route.path:
            return "GET", str(route.path)
    if routes:
        return sorted(routes[0].methods or {"POST"})[0], str(routes[0].path)
    return "GET", "/"


KNOWN = (
    "handlers.status",
    "handlers.auth",
    "handlers.account",
    "handlers.voices",
    "handlers.audio",
    "handlers.synthesize",
)


def expected_status(module: str) -> int | None:
    """The status the event must get; None: any answer below 500 (generic events)."""
    if module not in KNOWN:
        return None
    return {"handlers.synthesize": 422}.get(module, 200)
