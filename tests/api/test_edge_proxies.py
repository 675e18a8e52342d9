"""Client addresses: forwarded headers count only from trusted proxies, and then from the right.

Issue 10's reproductions: behind Render's proxy every visitor was one IP (one rate-limit bucket for the
whole service), and on loopback any X-Forwarded-For got a fresh bucket (uvicorn trusts 127.0.0.1).
The limits' clock is pinned (tests.support.clock), so each test's logins share one fixed minute.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from core import runtime
from core.config import Settings
from tests.support import servers, users
from tests.support.clock import PinnedClock, fresh_window_start


def login(client: users.Client, n: int, xff: str | None) -> int:
    """A failed login as `nobody<n>`, with `xff` as X-Forwarded-For when given; its status."""
    headers = {"X-Forwarded-For": xff} if xff is not None else {}
    return users.login(client, f"nobody{n}", password="not the password", headers=headers).status_code


@pytest.fixture
def behind_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    """The app as a proxy at 10.0.0.5 reaches it, with 10.0.0.0/8 trusted and 3 logins a minute per IP."""
    import local_server

    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "10.0.0.0/8")
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_MINUTE", "3")
    runtime.reset()
    with TestClient(local_server.app, raise_server_exceptions=False, client=("10.0.0.5", 40000)) as client:
        yield client


def test_spoofed_forwarded_for_on_loopback_gets_no_fresh_bucket(tmp_path: Path) -> None:
    """A live server on 127.0.0.1 and a client that rotates X-Forwarded-For: one bucket all the same."""
    env = {"DATA_DIR": str(tmp_path / "data"), "RATE_LIMIT_LOGIN_PER_MINUTE": "3"}
    with servers.api_server(env, pinned_at=fresh_window_start()) as url, httpx.Client(base_url=url) as client:
        codes = [login(client, n, f"198.51.100.{n}") for n in range(5)]
    assert codes == [401, 401, 401, 429, 429]


def test_untrusted_peer_forwarded_headers_are_ignored(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, pinned_clock: PinnedClock
) -> None:
    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_MINUTE", "3")
    runtime.reset()
    spoofs = ["198.51.100.1", "198.51.100.2", "for=198.51.100.3", "198.51.100.4"]
    codes = [login(client, n, xff) for n, xff in enumerate(spoofs)]
    assert codes == [401, 401, 401, 429]


def test_trusted_proxy_gives_the_right_most_untrusted_address(
    behind_proxy: TestClient, pinned_clock: PinnedClock
) -> None:
    # The client controls everything left of what the proxy appended: rotating it changes nothing.
    codes = [login(behind_proxy, n, f"6.6.6.{n}, 203.0.113.7") for n in range(4)]
    assert codes == [401, 401, 401, 429]
    # Another client behind the same proxy has its own bucket.
    assert login(behind_proxy, 9, "203.0.113.8") == 401
    # A chain through a second trusted hop (10.1.2.3) still ends at the real client.
    assert login(behind_proxy, 10, "203.0.113.7, 10.1.2.3") == 429


def test_chains_and_header_forms() -> None:
    from core.edge.proxies import client_address, forwarded_for, parse_trusted

    trusted = parse_trusted("10.0.0.0/8, 2001:db8::/32, cloudflare")
    assert client_address("10.0.0.1", ["1.1.1.1", "203.0.113.7", "162.158.1.2"], trusted) == "203.0.113.7"
    assert client_address("10.0.0.1", ["203.0.113.7:5555"], trusted) == "203.0.113.7"
    assert client_address("10.0.0.1", ['"[2001:db9::1]:443"'], trusted) == "2001:db9::1"
    assert client_address("10.0.0.1", ["10.0.0.2", "10.0.0.3"], trusted) == "10.0.0.2"  # all trusted: left-most
    assert client_address("10.0.0.1", ["203.0.113.7", "garbage"], trusted) == "10.0.0.1"
    assert client_address("10.0.0.1", [], trusted) == "10.0.0.1"
    assert client_address("198.51.100.9", ["203.0.113.7"], trusted) == "198.51.100.9"  # untrusted peer
    assert client_address("::ffff:10.0.0.1", ["203.0.113.7"], trusted) == "203.0.113.7"  # v4-mapped peer
    headers = [(b"x-forwarded-for", b"1.1.1.1, 2.2.2.2"), (b"x-forwarded-for", b"3.3.3.3")]
    assert forwarded_for(headers) == ["1.1.1.1", "2.2.2.2", "3.3.3.3"]
    rfc7239 = [(b"forwarded", b'for=192.0.2.60;proto=http;by=203.0.113.43, for="[2001:db8:cafe::17]:4711"')]
    assert forwarded_for(rfc7239) == ["192.0.2.60", '"[2001:db8:cafe::17]:4711"']


def test_the_setting_is_checked_at_start_up() -> None:
    from core.edge.proxies import parse_trusted

    assert parse_trusted("") == ()
    assert len(parse_trusted("private")) == 7
    for bad in ("*", "10.0.0.0/33", "proxy.example.com"):
        with pytest.raises(ValueError, match="FORWARDED_ALLOW_IPS"):
            Settings(forwarded_allow_ips=bad)


def test_forwarded_proto_from_a_trusted_proxy_sets_https(behind_proxy: TestClient) -> None:
    response = behind_proxy.get("/health", headers={"X-Forwarded-Proto": "https"})
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in behind_proxy.get("/health").headers


def test_lambda_keys_on_api_gateways_source_ip(monkeypatch: pytest.MonkeyPatch, pinned_clock: PinnedClock) -> None:
    """Through Mangum the peer is API Gateway's `sourceIp`; a client's X-Forwarded-For changes nothing."""
    from handlers import auth
    from tests.support.events import http_event, invoke

    monkeypatch.setenv("RATE_LIMIT_LOGIN_PER_MINUTE", "2")
    runtime.reset()

    def lambda_login(n: int, source_ip: str) -> int:
        body = {"username": f"nobody{n}", "password": "not the password"}
        event = http_event("POST", "/auth/login", json_body=body, headers={"X-Forwarded-For": f"198.51.100.{n}"})
        event["requestContext"]["http"]["sourceIp"] = source_ip
        return invoke(auth.handler, event)[0]

    assert [lambda_login(n, "203.0.113.20") for n in range(3)] == [401, 401, 429]
    assert lambda_login(9, "203.0.113.21") == 401
