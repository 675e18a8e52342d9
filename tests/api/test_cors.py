"""CORS from CORS_ORIGINS: none by default, listed origins (with credentials), `*` (never with credentials).

Reproduction (issue 12): a browser page on another origin could not use the API with a token: no response
carried Access-Control-Allow-Origin and a preflight was answered 405. Now, with CORS_ORIGINS set, a listed
origin's preflight is answered and its requests get the headers; other origins get none, and without the
setting nothing changes. Through the combined app and through a Lambda handler (Mangum), on real routes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from core import runtime
from core.config import Settings
from core.edge.cors import EXPOSED
from tests.conftest import Users
from tests.support.events import http_event, invoke

APP = "https://app.example.com"
OTHER = "https://evil.example.net"
SetOrigins = Callable[[str], None]
PREFLIGHT = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization,content-type"}


def cors_headers(response: Any) -> dict[str, str]:
    headers = response.headers
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


@pytest.fixture
def origins(monkeypatch: pytest.MonkeyPatch) -> SetOrigins:
    def use(value: str) -> None:
        monkeypatch.setenv("CORS_ORIGINS", value)
        runtime.reset()

    return use


def test_no_origins_no_cors_headers(client: TestClient, users: Users) -> None:
    alice = users.create("alice")
    response = client.get("/profile", headers={**alice["headers"], "Origin": APP})
    assert response.status_code == 200
    assert cors_headers(response) == {}
    assert "vary" not in response.headers
    preflight = client.options("/synthesize", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.status_code == 405
    assert cors_headers(preflight) == {}


def test_listed_origin_gets_preflight_and_headers(client: TestClient, users: Users, origins: SetOrigins) -> None:
    origins(f"{APP}/, https://other-app.example.com:8443")
    preflight = client.options("/synthesize", headers={"Origin": APP, **PREFLIGHT})
    assert preflight.status_code == 204
    got = cors_headers(preflight)
    assert got["access-control-allow-origin"] == APP
    assert got["access-control-allow-credentials"] == "true"
    methods = {m.strip() for m in got["access-control-allow-methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods
    assert {h.strip().lower() for h in got["access-control-allow-headers"].split(",")} >= {
        "authorization",
        "content-type",
    }
    assert int(got["access-control-max-age"]) > 0
    assert "origin" in preflight.headers["vary"].lower()
    assert preflight.headers["x-content-type-options"] == "nosniff"  # the edge's security headers too

    alice = users.create("alice")
    response = client.get("/profile", headers={**alice["headers"], "Origin": APP})
    assert response.status_code == 200
    got = cors_headers(response)
    assert got["access-control-allow-origin"] == APP
    assert got["access-control-allow-credentials"] == "true"
    exposed = {h.strip().lower() for h in got["access-control-expose-headers"].split(",")}
    required = ("X-Audio-Id", "X-Audio-Url", "X-Sample-Rate", "X-Options-Ignored", "Retry-After", "Content-Disposition")
    assert {h.lower() for h in required} <= exposed
    assert set(EXPOSED) >= set(required)
    assert "origin" in response.headers["vary"].lower()

    refused = client.get("/profile", headers={"Origin": APP})  # errors are readable by the page too
    assert refused.status_code == 401
    assert cors_headers(refused)["access-control-allow-origin"] == APP
    too_big = client.post("/auth/login", content=b"{" + b" " * 200_000, headers={"Origin": APP})
    assert too_big.status_code == 413  # answered by the body guard, inside CORS
    assert cors_headers(too_big)["access-control-allow-origin"] == APP


def test_unlisted_origin_gets_nothing(client: TestClient, users: Users, origins: SetOrigins) -> None:
    origins(APP)
    preflight = client.options("/synthesize", headers={"Origin": OTHER, **PREFLIGHT})
    assert preflight.status_code == 405
    assert cors_headers(preflight) == {}
    alice = users.create("alice")
    response = client.get("/profile", headers={**alice["headers"], "Origin": OTHER})
    assert response.status_code == 200  # served as without CORS: the browser withholds it from the page
    assert cors_headers(response) == {}
    assert "origin" in response.headers["vary"].lower()  # a cache keeps the origins apart
    same_site_lookalike = client.get("/health", headers={"Origin": f"{APP}.evil.example.net"})
    assert cors_headers(same_site_lookalike) == {}


def test_star_allows_every_origin_never_with_credentials(client: TestClient, origins: SetOrigins) -> None:
    origins("*")
    preflight = client.options("/auth/login", headers={"Origin": OTHER, **PREFLIGHT})
    assert preflight.status_code == 204
    assert cors_headers(preflight)["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in cors_headers(preflight)
    response = client.get("/health", headers={"Origin": OTHER})
    assert cors_headers(response)["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in cors_headers(response)
    assert "access-control-expose-headers" in cors_headers(response)


@pytest.mark.parametrize(
    "value", ["*, https://app.example.com", "null", "https://app.example.com/path", "ftp://x.example", "app.example"]
)
def test_bad_origin_settings_are_refused_at_start_up(value: str) -> None:
    with pytest.raises(ValidationError, match="CORS_ORIGINS"):
        Settings(cors_origins=value)


def test_lambda_handlers_answer_cors_too(monkeypatch: pytest.MonkeyPatch, origins: SetOrigins) -> None:
    from handlers import account

    origins(APP)
    event = http_event(
        "OPTIONS", "/profile/export", headers={"origin": APP, **{k.lower(): v for k, v in PREFLIGHT.items()}}
    )
    status, headers, _ = invoke(account.handler, event)
    assert status == 204
    assert headers["access-control-allow-origin"] == APP
    status, headers, _ = invoke(account.handler, http_event("GET", "/profile", headers={"origin": APP}))
    assert status == 401
    assert headers["access-control-allow-origin"] == APP
