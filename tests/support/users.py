"""The one user factory for tests and benchmarks: register and log in over any transport.

Contract:
- `register_body(username, ...)` is the JSON body of POST /auth/register (email `<username>@example.com`
  unless given, password `PASSWORD` unless given).
- `register(client, ...)` and `login(client, ...)` send one request each and return the response as it
  came, whatever its status: tests of refusals (a bad password, a taken email, a rate limit) call them
  with the parameters they need instead of building requests by hand.
- `create(client, username, ...)` registers and logs in, asserting 200 and 200, and returns the user:
  the register response's fields plus "password", "tokens" (the login body) and "headers" (the bearer
  header for the access token). `client` is anything httpx-shaped (`Client`): a FastAPI TestClient or
  an httpx.Client on a live server's base URL; `create_at(url, ...)` opens one.
- `create_via_lambda(handler, username, ...)` does the same through a Mangum handler with API Gateway
  HTTP API v2 events (or another stored sample), as Lambda would invoke it.
- `Users(client)` (the `users` fixture of tests/conftest.py) numbers default usernames per client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from tests.support.events import http_event, invoke

PASSWORD = "correct horse battery"
User = dict[str, Any]


class Response(Protocol):
    """What the factory reads of a response (httpx's, or the TestClient's httpx2 one)."""

    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


class Client(Protocol):
    """An httpx-shaped client with a base URL: a FastAPI TestClient or an httpx.Client."""

    def post(self, url: str, *, json: Any = None, headers: dict[str, str] | None = None) -> Response: ...


def register_body(
    username: str, *, email: str | None = None, password: str = PASSWORD, full_name: str | None = None
) -> dict[str, Any]:
    return {
        "username": username,
        "email": email if email is not None else f"{username}@example.com",
        "password": password,
        "full_name": full_name,
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def register(
    client: Client,
    username: str,
    *,
    email: str | None = None,
    password: str = PASSWORD,
    headers: dict[str, str] | None = None,
) -> Response:
    body = register_body(username, email=email, password=password)
    return client.post("/auth/register", json=body, headers=headers)


def login(
    client: Client, username: str, *, password: str = PASSWORD, headers: dict[str, str] | None = None
) -> Response:
    return client.post("/auth/login", json={"username": username, "password": password}, headers=headers)


def _user(registered: dict[str, Any], password: str, tokens: dict[str, Any]) -> User:
    return {**registered, "password": password, "tokens": tokens, "headers": bearer(tokens["access_token"])}


def create(client: Client, username: str, *, email: str | None = None, password: str = PASSWORD) -> User:
    """A registered, logged-in user (asserts each step succeeded)."""
    registered = register(client, username, email=email, password=password)
    assert registered.status_code == 200, registered.text
    tokens = login(client, username, password=password)
    assert tokens.status_code == 200, tokens.text
    return _user(registered.json(), password, tokens.json())


def create_at(url: str, username: str, *, email: str | None = None, password: str = PASSWORD) -> User:
    """`create` against a live server at `url`."""
    with httpx.Client(base_url=url, timeout=60) as client:
        return create(client, username, email=email, password=password)


def create_via_lambda(
    handler: Any, username: str, *, password: str = PASSWORD, sample: str = "http_api_v2.json"
) -> User:
    """`create` through a Lambda handler (Mangum), with events shaped like `sample`."""
    body = register_body(username, password=password)
    code, _, registered = invoke(handler, http_event("POST", "/auth/register", json_body=body, sample=sample))
    assert code == 200, registered
    login_body = {"username": username, "password": password}
    code, _, tokens = invoke(handler, http_event("POST", "/auth/login", json_body=login_body, sample=sample))
    assert code == 200, tokens
    return _user(json.loads(registered), password, json.loads(tokens))


class Users:
    """Registered, logged-in users on one client; default usernames are user1, user2, ..."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.count = 0

    def create(self, username: str | None = None, password: str = PASSWORD) -> User:
        self.count += 1
        return create(self.client, username or f"user{self.count}", password=password)
