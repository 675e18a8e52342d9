"""The original contract (issue 12): an unchanged client of the published "Chatterbox TTS API with JWT
authentication" works against our server, and our own, richer fields are still there beside its fields.

Each test sends the requests that design's README and demo client send, byte for byte where it matters: JSON
bodies as its README shows them, the refresh token as a query parameter (its server's signature), and voice
uploads the way Python's requests builds them (`voice_name`, `voice_description`, an `audio_file` part with no
content type). The engine is the default one (Piper), real: no test double.
"""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.original import ORIGINAL_REGISTER
from tests.support.speech import error_code
from tests.support.users import bearer

OURS_AUDIO = {"audio_id", "duration", "sample_rate", "format", "characters", "engine", "voice_id", "created_at"}
OURS_AUDIO |= {"size_bytes", "text", "speed", "pitch", "options_ignored", "url"}
ORIGINAL_AUDIO_INFO = {"audio_id", "user_id", "voice_id", "text", "created_at", "duration", "sample_rate"}


def test_register_answers_200_with_message_and_username_beside_the_account(client: TestClient) -> None:
    response = client.post("/auth/register", json=ORIGINAL_REGISTER)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"] == "User registered successfully"
    assert body["username"] == "johndoe"
    assert body["email"] == "john@example.com"
    assert body["full_name"] == "John Doe"
    assert body["id"]
    assert body["created_at"]
    assert "password" not in response.text
    assert "hash" not in response.text


def test_the_demo_clients_null_full_name_registers(client: TestClient) -> None:
    body = {**ORIGINAL_REGISTER, "full_name": None}
    response = client.post("/auth/register", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] is None


def test_refresh_takes_the_token_as_a_query_parameter_or_in_the_body(client: TestClient, john: dict[str, Any]) -> None:
    by_query = client.post("/auth/refresh", params={"refresh_token": john["tokens"]["refresh_token"]})
    assert by_query.status_code == 200, by_query.text
    pair = by_query.json()
    assert pair["token_type"] == "bearer"
    assert pair["expires_in"] > 0
    assert pair["refresh_expires_in"] > 0
    assert client.get("/profile", headers=bearer(pair["access_token"])).status_code == 200
    by_body = client.post("/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert by_body.status_code == 200, by_body.text
    newest = by_body.json()["refresh_token"]
    both = client.post("/auth/refresh", params={"refresh_token": "not.a.token"}, json={"refresh_token": newest})
    assert both.status_code == 200, both.text  # the body's token is used when both are sent


def test_refresh_without_a_token_or_with_a_forged_one_is_401(client: TestClient, john: dict[str, Any]) -> None:
    missing = client.post("/auth/refresh")
    assert missing.status_code == 401, missing.text
    assert error_code(missing) == "not_authenticated"
    assert "refresh_token" in missing.json()["error"]["message"]
    empty_body = client.post("/auth/refresh", json={})  # a body without its field stays a validation error
    assert empty_body.status_code == 422
    assert error_code(empty_body) == "validation_error"
    forged = client.post("/auth/refresh", params={"refresh_token": "not-a-token"})
    assert forged.status_code == 401
    assert set(forged.json()) == {"error"}


def test_profile_has_is_active_beside_our_fields(client: TestClient, john: dict[str, Any]) -> None:
    profile = client.get("/profile", headers=john["headers"]).json()
    assert profile["is_active"] is True
    assert {"username", "email", "full_name", "created_at"} <= set(profile)  # the original's
    assert {"id", "quota"} <= set(profile)  # ours


def test_synthesize_answers_200_with_the_original_fields_and_info_has_user_id(
    client: TestClient, john: dict[str, Any]
) -> None:
    voice = client.get("/voices", headers=john["headers"]).json()["voices"][0]["voice_id"]
    body = {"text": "Hello! This is a test of the TTS API.", "voice_id": voice, "speed": 1.0, "pitch": 1.0}
    response = client.post("/synthesize", headers=john["headers"], json=body)
    assert response.status_code == 200, response.text
    made = response.json()
    assert made["success"] is True
    assert made["message"] == f"Speech synthesized successfully using voice '{voice}'"
    assert made["sample_rate"] > 0
    assert made["duration"] > 0.5
    assert set(made) >= OURS_AUDIO  # ours, beside
    assert made["user_id"] == john["id"]
    info = client.get(f"/audio/{made['audio_id']}/info", headers=john["headers"])
    assert info.status_code == 200
    assert set(info.json()) >= ORIGINAL_AUDIO_INFO | OURS_AUDIO
    assert info.json()["user_id"] == john["id"]
    assert info.json()["voice_id"] == voice
    assert info.json()["text"] == body["text"]
    audio = client.get(f"/audio/{made['audio_id']}", headers=john["headers"])
    assert audio.status_code == 200
    assert audio.content[:4] == b"RIFF"
    history = client.get("/audio", headers=john["headers"]).json()["items"]
    assert [item["user_id"] for item in history] == [john["id"]]


def test_synthesize_without_a_voice_id_answers_200(client: TestClient, john: dict[str, Any]) -> None:
    response = client.post("/synthesize", headers=john["headers"], json={"text": "Short and sweet."})
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True


def test_openapi_documents_200_for_the_original_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    routes = [
        ("/auth/register", "post"),
        ("/auth/refresh", "post"),
        ("/voices", "get"),
        ("/voices", "post"),
        ("/voices/{voice_id}", "delete"),
        ("/synthesize", "post"),
        ("/audio/{audio_id}/info", "get"),
    ]
    for path, method in routes:
        responses = paths[path][method]["responses"]
        assert "200" in responses, (path, method, responses)
        assert not {"201", "204"} & set(responses), (path, method)
    refresh = {p["name"]: p["in"] for p in paths["/auth/refresh"]["post"]["parameters"]}
    assert refresh == {"refresh_token": "query"}
    synth = paths["/synthesize"]["post"]["responses"]["200"]["content"]
    assert {"application/json", "audio/wav", "audio/mpeg"} <= set(synth)


def test_a_refresh_token_in_the_query_never_reaches_the_access_log() -> None:
    """The query form puts a credential in the URL: the access log handler `serve` configures hides it."""
    import logging

    from core.edge.server import RedactSecretsFilter, log_config

    config = log_config()
    assert "redact_secrets" in config["handlers"]["access"]["filters"]
    assert config["filters"]["redact_secrets"]["()"] is RedactSecretsFilter
    path = "/auth/refresh?refresh_token=eyJ.secret.sig&x=1"
    args = ("127.0.0.1:5000", "POST", path, "1.1", 200)
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None)
    assert RedactSecretsFilter().filter(record) is True
    assert record.getMessage() == '127.0.0.1:5000 - "POST /auth/refresh?refresh_token=[redacted]&x=1 HTTP/1.1" 200'
