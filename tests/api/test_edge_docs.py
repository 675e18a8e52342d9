"""/docs: self-hosted (no CDN), not framable, off in production; security headers on every response.

Issue 10's reproduction: /docs was framable, loaded its assets from a CDN, and was on in production.
"""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core import runtime
from core.api import create_app
from handlers import status

SECRET = "a-production-signing-key-" + "x" * 40


def app_with(monkeypatch: pytest.MonkeyPatch, **env: str) -> FastAPI:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    runtime.reset()
    return create_app(status.router)


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", SECRET)
    runtime.reset()


def test_every_response_carries_the_security_headers(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/no-such-route"), client.post("/auth/login", json={})):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    page = client.get("/app")  # the web page keeps its own, stricter policy (one CSP header, not two)
    assert page.headers.get_list("content-security-policy") == [page.headers["content-security-policy"]]
    assert "script-src 'self'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_load_nothing_from_elsewhere_and_cannot_be_framed(client: TestClient, path: str) -> None:
    page = client.get(path)
    assert page.status_code == 200
    csp = page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    assert "script-src 'self';" in csp
    assert page.headers["x-frame-options"] == "DENY"
    assert "//" not in page.text  # no http://, https:// or protocol-relative URL: every asset is ours
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    for src in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert asset.content, src


def test_swagger_ui_is_a_build_that_reads_openapi_3_1(client: TestClient) -> None:
    bundle = client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert b"SwaggerUIBundle" in bundle.content
    assert client.get("/openapi.json").json()["openapi"].startswith("3.1")
    assert b"isOAS31" in bundle.content  # Swagger UI 5: the 4.x builds cannot render FastAPI's 3.1 schema


def test_only_named_assets_are_served(client: TestClient) -> None:
    for name in ("core.py", "..%2F__init__.py", "static", "LICENSE"):
        assert client.get(f"/docs/assets/{name}").status_code == 404


def test_docs_are_off_in_production_unless_enabled(monkeypatch: pytest.MonkeyPatch, production: None) -> None:
    with TestClient(app_with(monkeypatch)) as client:
        for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js"):
            assert client.get(path).status_code == 404, path
        assert client.get("/openapi.json").status_code == 200  # the schema stays for client generators
    with TestClient(app_with(monkeypatch, DOCS_ENABLED="true")) as client:
        assert client.get("/docs").status_code == 200


def test_docs_can_be_turned_off_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    with TestClient(app_with(monkeypatch, DOCS_ENABLED="false")) as client:
        assert client.get("/docs").status_code == 404
