"""The permission suite: a disabled account against every authenticated route of the app (access token,
refresh token, API key), and a regular user against every /admin route, on SQLite and on the
DynamoDB-protocol server (moto).

Routes are enumerated from `local_server.app`: a route needs authentication when `current_principal`
is among its dependencies, so a route added later is covered without editing this file. Routes that
need no credentials (status, login, the web page) are skipped by that same rule.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

import local_server
from core import runtime
from core.api import AdminUser, create_app, current_principal
from core.config import reset_settings
from core.services import accounts, users
from tests.support import users as factory
from tests.support.users import User, bearer

_SAMPLE_ID = "01hzzzzzzzzzzzzzzzzzzzzzzz"


def _needs_auth(dependant: Dependant) -> bool:
    return any(d.call is current_principal or _needs_auth(d) for d in dependant.dependencies)


def _api_routes(routes: Sequence[Any], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Every APIRoute with its full path, through included routers (FastAPI >= 0.165 keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _api_routes(inner.routes, prefix + str(getattr(route.include_context, "prefix", "")))


def _routes(app: Any, *, prefix: str = "/") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for path, route in _api_routes(app.routes):
        if path.startswith(prefix) and _needs_auth(route.dependant):
            found.extend((method, path) for method in sorted(route.methods or ()))
    return found


AUTH_ROUTES = _routes(local_server.app)
ADMIN_ROUTES = _routes(local_server.app, prefix="/admin")


def _fill(path: str) -> str:
    parts = path.split("/")
    return "/".join(_SAMPLE_ID if p.startswith("{") else p for p in parts)


@pytest.fixture
def api(backend: str) -> Iterator[TestClient]:
    """The combined app on SQLite, or on a fresh DynamoDB table of the moto server (`backend`)."""
    with TestClient(local_server.app, raise_server_exceptions=False) as client:
        yield client


def _error(response: Any) -> str:
    return str(response.json()["error"]["code"])


def _disabled_user(api: TestClient) -> tuple[User, str]:
    """A logged-in user holding an API key, then disabled (the operator's way: accounts.set_active)."""
    user = factory.create(api, "dora")
    created = api.post("/api-keys", json={"name": "ci"}, headers=user["headers"])
    assert created.status_code == 201, created.text
    accounts.set_active(runtime.store(), user_id=user["id"], active=False)
    return user, str(created.json()["key"])


def test_the_enumeration_finds_every_route_the_schema_marks_as_authenticated() -> None:
    """The walk over the routes agrees with the OpenAPI schema (operations that declare the bearer)."""
    documented = {
        (method.upper(), path)
        for path, operations in local_server.app.openapi()["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    }
    assert documented
    assert documented <= set(AUTH_ROUTES)
    assert {"/profile", "/voices", "/synthesize", "/api-keys", "/auth/password"} <= {p for _, p in AUTH_ROUTES}
    assert ("POST", "/auth/login") not in AUTH_ROUTES


def test_a_disabled_account_is_refused_everywhere(api: TestClient) -> None:
    user, key = _disabled_user(api)
    for method, path in AUTH_ROUTES:
        for credential in (user["tokens"]["access_token"], key):
            response = api.request(method, _fill(path), headers=bearer(credential))
            assert response.status_code == 403, (method, path, response.text)
            assert _error(response) == "account_disabled", (method, path, response.text)
    refreshed = api.post("/auth/refresh", json={"refresh_token": user["tokens"]["refresh_token"]})
    assert refreshed.status_code == 403, refreshed.text
    assert _error(refreshed) == "account_disabled"


def test_login_to_a_disabled_account_is_refused_only_after_the_password(api: TestClient) -> None:
    _disabled_user(api)
    right = factory.login(api, "dora")
    assert right.status_code == 403, right.text
    assert _error(right) == "account_disabled"
    wrong = factory.login(api, "dora", password="not the password")
    assert wrong.status_code == 401, wrong.text
    assert _error(wrong) == "invalid_credentials"


def test_enabling_the_account_again_restores_its_tokens_and_keys(api: TestClient) -> None:
    user, key = _disabled_user(api)
    accounts.set_active(runtime.store(), user_id=user["id"], active=True)
    assert api.get("/profile", headers=user["headers"]).status_code == 200
    assert api.get("/profile", headers=bearer(key)).status_code == 200
    refreshed = api.post("/auth/refresh", json={"refresh_token": user["tokens"]["refresh_token"]})
    assert refreshed.status_code == 200, refreshed.text
    assert factory.login(api, "dora").status_code == 200


# -- admin routes ------------------------------------------------------------------------------
def _probe_app() -> Any:
    """A router guarded by AdminUser, as /admin routes are (handlers/admin.py may not exist yet)."""
    router = APIRouter(prefix="/admin-probe")

    @router.get("")
    def probe(principal: AdminUser) -> dict[str, str]:
        return {"user_id": principal.user_id}

    return create_app(router)


def test_admin_user_dependency(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    regular = factory.create(api, "rita")
    boss = factory.create(api, "boss")
    accounts.set_role(runtime.store(), user_id=boss["id"], role="admin")
    with TestClient(_probe_app(), raise_server_exceptions=False) as probe:
        anonymous = probe.get("/admin-probe")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == "Bearer"
        refused = probe.get("/admin-probe", headers=regular["headers"])
        assert refused.status_code == 403, refused.text
        assert _error(refused) == "forbidden"
        assert probe.get("/admin-probe", headers=boss["headers"]).json() == {"user_id": boss["id"]}
        accounts.set_active(runtime.store(), user_id=boss["id"], active=False)
        disabled = probe.get("/admin-probe", headers=boss["headers"])
        assert disabled.status_code == 403, disabled.text
        assert _error(disabled) == "account_disabled"


def _role(user_id: str) -> str:
    return users.get_user(runtime.store(), user_id=user_id).role


def _list_admins(monkeypatch: pytest.MonkeyPatch, names: str) -> None:
    monkeypatch.setenv("ADMIN_USERNAMES", names)
    reset_settings()  # the store stays: runtime keeps it


def test_admin_usernames_promotes_a_listed_user_on_first_use(api: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """Serverless: no start-up hook runs, so AdminUser promotes a listed user when it first needs to."""
    listed, other = factory.create(api, "Ops"), factory.create(api, "rita")
    _list_admins(monkeypatch, " someone-else , ops ")
    with TestClient(_probe_app(), raise_server_exceptions=False) as probe:
        assert probe.get("/admin-probe", headers=listed["headers"]).status_code == 200
        assert probe.get("/admin-probe", headers=other["headers"]).status_code == 403
    assert (_role(listed["id"]), _role(other["id"])) == ("admin", "user")


def test_admin_usernames_promotes_listed_users_when_the_local_server_starts(
    api: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed, other = factory.create(api, "ops"), factory.create(api, "rita")
    _list_admins(monkeypatch, "OPS,nobody")
    assert _role(listed["id"]) == "user"
    with TestClient(local_server.app):  # the lifespan runs
        pass
    assert (_role(listed["id"]), _role(other["id"])) == ("admin", "user")


@pytest.mark.parametrize(("method", "path"), ADMIN_ROUTES or [pytest.param("GET", "/admin", marks=pytest.mark.skip)])
def test_every_admin_route_refuses_a_regular_user(api: TestClient, method: str, path: str) -> None:
    regular = factory.create(api, "rita")
    anonymous = api.request(method, _fill(path))
    assert anonymous.status_code == 401, anonymous.text
    refused = api.request(method, _fill(path), headers=regular["headers"])
    assert refused.status_code == 403, refused.text
    assert _error(refused) == "forbidden"
