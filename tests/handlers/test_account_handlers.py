"""Handlers invoked as AWS Lambda would: HTTP API v2 events through each module's Mangum `handler`."""

from __future__ import annotations

import json

from handlers import account, auth, status
from tests.support.events import http_event, invoke
from tests.support.users import create_via_lambda


def test_status_and_health_answer_through_lambda() -> None:
    code, headers, payload = invoke(status.handler, http_event("GET", "/"))
    assert code == 200
    assert headers["content-type"] == "application/json"
    assert json.loads(payload)["engine"] == "piper"
    code, _, payload = invoke(status.handler, http_event("GET", "/health"))
    assert code == 200
    assert json.loads(payload) == {"status": "ok", "checks": {"store": "ok", "blobs": "ok"}}


def test_register_login_profile_refresh_logout_through_lambda() -> None:
    tokens = create_via_lambda(auth.handler, "lambda_user")["tokens"]
    bearer = {"authorization": f"Bearer {tokens['access_token']}"}
    code, _, payload = invoke(account.handler, http_event("GET", "/profile", headers=bearer))
    assert code == 200
    assert json.loads(payload)["username"] == "lambda_user"

    code, _, payload = invoke(
        auth.handler, http_event("POST", "/auth/refresh", json_body={"refresh_token": tokens["refresh_token"]})
    )
    assert code == 200
    rotated = json.loads(payload)
    assert rotated["refresh_token"] != tokens["refresh_token"]

    code, _, _ = invoke(
        auth.handler, http_event("POST", "/auth/logout", json_body={"refresh_token": rotated["refresh_token"]})
    )
    assert code == 200
    code, headers, payload = invoke(
        account.handler, http_event("GET", "/profile", headers={"authorization": f"Bearer {rotated['access_token']}"})
    )
    assert code == 401
    assert headers["www-authenticate"].startswith("Bearer")
    assert json.loads(payload)["error"]["code"] == "session_revoked"


def test_lambda_errors_keep_the_error_shape() -> None:
    code, _, payload = invoke(account.handler, http_event("GET", "/profile"))
    assert code == 401
    assert json.loads(payload)["error"]["code"] == "not_authenticated"
    code, _, payload = invoke(auth.handler, http_event("POST", "/auth/login", body=b"{}"))
    assert code == 415
    assert json.loads(payload)["error"]["code"] == "unsupported_media_type"
    json_type = {"content-type": "application/json"}
    code, _, payload = invoke(auth.handler, http_event("POST", "/auth/login", body=b"{not json", headers=json_type))
    assert code == 400
    assert json.loads(payload)["error"]["code"] == "malformed_json"
    code, _, payload = invoke(auth.handler, http_event("POST", "/auth/login", body=b"x" * 70_000, headers=json_type))
    assert code == 413
    assert json.loads(payload)["error"]["code"] == "payload_too_large"
    # A route of another function is not served by this one.
    code, _, payload = invoke(auth.handler, http_event("GET", "/profile"))
    assert code == 404
    assert json.loads(payload)["error"]["code"] == "not_found"


def test_data_written_by_one_function_is_read_by_another() -> None:
    tokens = create_via_lambda(auth.handler, "shared_store")["tokens"]
    code, _, payload = invoke(
        account.handler, http_event("GET", "/profile", headers={"authorization": f"Bearer {tokens['access_token']}"})
    )
    assert code == 200
    assert json.loads(payload)["email"] == "shared_store@example.com"
