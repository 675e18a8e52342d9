"""The original contract (issue 12): an unchanged client of the published "Chatterbox TTS API with JWT
authentication" works against our server, and our own, richer fields are still there beside its fields.

Each test sends the requests that design's README and demo client send, byte for byte where it matters: JSON
bodies as its README shows them, the refresh token as a query parameter (its server's signature), and voice
uploads the way Python's requests builds them (`voice_name`, `voice_description`, an `audio_file` part with no
content type). The engine is the default one (Piper), real: no test double.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.tts import codecs
from core.tts.base import Audio
from tests.support.speech import error_code
from tests.support.users import bearer

ORIGINAL_REGISTER = {
    "username": "johndoe",
    "email": "john@example.com",
    "password": "securepassword123",
    "full_name": "John Doe",
}
ORIGINAL_LOGIN = {"username": "johndoe", "password": "securepassword123"}
OURS_VOICE = {"id", "name", "kind", "engine", "created_at", "description", "language", "duration", "available"}
ORIGINAL_VOICE = {"voice_id", "name", "description", "type", "created_at", "user_id", "audio_duration"}
OURS_AUDIO = {"audio_id", "duration", "sample_rate", "format", "characters", "engine", "voice_id", "created_at"}
OURS_AUDIO |= {"size_bytes", "text", "speed", "pitch", "options_ignored", "url"}
ORIGINAL_AUDIO_INFO = {"audio_id", "user_id", "voice_id", "text", "created_at", "duration", "sample_rate"}


@pytest.fixture
def john(client: TestClient) -> dict[str, Any]:
    """The README's user, registered and logged in with its exact requests."""
    assert client.post("/auth/register", json=ORIGINAL_REGISTER).status_code == 200
    tokens = client.post("/auth/login", json=ORIGINAL_LOGIN).json()
    profile = client.get("/profile", headers=bearer(tokens["access_token"])).json()
    return {"tokens": tokens, "headers": bearer(tokens["access_token"]), "id": profile["id"]}


@pytest.fixture
def clip(speech_clip: Audio) -> bytes:
    return codecs.encode(speech_clip, "wav")


def multipart_without_content_type(fields: dict[str, str], file_field: str, filename: str, data: bytes) -> bytes:
    """A multipart body whose file part has a Content-Disposition header and no Content-Type header at all."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n\r\n'
    return b"".join([*parts, head.encode(), data, f"\r\n--{BOUNDARY}--\r\n".encode()])


BOUNDARY = "original-client-boundary-7f3a"


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


def test_voices_lists_counts_and_original_fields(client: TestClient, john: dict[str, Any], clip: bytes) -> None:
    before = client.get("/voices", headers=john["headers"])
    assert before.status_code == 200
    listing = before.json()
    builtins = len(listing["voices"])
    assert builtins >= 1
    assert (listing["total"], listing["builtin"], listing["custom"]) == (builtins, builtins, 0)
    assert listing["engine"] == "piper"
    assert listing["can_clone"] is False
    for voice in listing["voices"]:
        assert set(voice) >= ORIGINAL_VOICE | OURS_VOICE, voice
        assert voice["voice_id"] == voice["id"]
        assert voice["type"] == voice["kind"] == "builtin"
        assert voice["user_id"] == "system"
        assert voice["audio_duration"] is None
    made = client.post(
        "/voices",
        headers=john["headers"],
        data={"voice_name": "Narrator", "voice_description": "my reading voice"},
        files={"audio_file": ("clip.wav", clip)},
    )
    assert made.status_code == 200, made.text
    listing = client.get("/voices", headers=john["headers"]).json()
    assert (listing["total"], listing["builtin"], listing["custom"]) == (builtins + 1, builtins, 1)
    custom = listing["voices"][-1]
    assert custom["type"] == custom["kind"] == "custom"
    assert custom["user_id"] == john["id"]
    assert custom["name"] == "Narrator"
    assert custom["description"] == "my reading voice"
    assert custom["created_at"]
    assert custom["audio_duration"] == custom["duration"] == pytest.approx(4.9, abs=1.5)


def test_upload_as_requests_sends_it_answers_200_with_the_original_fields(
    client: TestClient, john: dict[str, Any], clip: bytes
) -> None:
    # The demo client's request; httpx labels the part from its file name (audio/x-wav, a non-standard
    # type), where requests sends no Content-Type at all (the raw-body test below sends exactly that).
    request = client.build_request(
        "POST",
        "/voices",
        headers=john["headers"],
        data={"voice_name": "Narrator", "voice_description": "my reading voice"},
        files={"audio_file": ("clip.wav", clip)},
    )
    body = request.read()
    assert b'name="audio_file"; filename="clip.wav"\r\nContent-Type: audio/x-wav\r\n\r\nRIFF' in body
    response = client.send(request)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["success"] is True
    assert created["message"] == "Voice 'Narrator' created successfully"
    assert created["voice_id"] == created["id"]
    info = created["voice_info"]
    assert set(info) >= ORIGINAL_VOICE
    assert info["voice_id"] == created["voice_id"]
    assert (info["name"], info["description"], info["type"], info["user_id"]) == (
        "Narrator",
        "my reading voice",
        "custom",
        john["id"],
    )
    assert info["audio_duration"] == pytest.approx(created["duration"])
    assert set(created) >= OURS_VOICE  # ours, beside
    assert created["kind"] == "custom"
    assert created["name"] == "Narrator"


@pytest.mark.parametrize("content_type", [None, "application/octet-stream"])
def test_a_file_part_with_no_or_a_generic_content_type_is_recognised_from_its_bytes(
    client: TestClient, john: dict[str, Any], speech_clip: Audio, content_type: str | None
) -> None:
    data = codecs.encode(speech_clip, "flac")
    if content_type is None:
        body = multipart_without_content_type({"voice_name": "Raw", "voice_description": "d"}, "audio_file", "x", data)
        headers = {**john["headers"], "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        response = client.post("/voices", headers=headers, content=body)
    else:
        response = client.post(
            "/voices",
            headers=john["headers"],
            data={"voice_name": "Raw", "voice_description": "d"},
            files={"audio_file": ("x", data, content_type)},
        )
    assert response.status_code == 200, response.text
    assert response.json()["duration"] == pytest.approx(speech_clip.duration, abs=0.6)


def test_our_field_names_keep_working(client: TestClient, john: dict[str, Any], clip: bytes) -> None:
    made = client.post(
        "/voices",
        headers=john["headers"],
        data={"name": "Ours", "description": "ours"},
        files={"file": ("me.wav", clip, "audio/wav")},
    )
    assert made.status_code == 200, made.text
    assert (made.json()["name"], made.json()["description"], made.json()["success"]) == ("Ours", "ours", True)


@pytest.mark.parametrize(
    ("data", "file_field", "missing"),
    [
        ({"name": "A", "voice_name": "B"}, "file", "voice_name"),  # both names: refused, not guessed
        ({"voice_name": "A"}, "file", None),
        ({"description": "x", "voice_description": "y", "name": "A"}, "file", "voice_description"),
        ({}, "audio_file", "name"),
    ],
)
def test_an_ambiguous_or_incomplete_form_is_422(
    client: TestClient, john: dict[str, Any], clip: bytes, data: dict[str, str], file_field: str, missing: str | None
) -> None:
    files = {file_field: ("clip.wav", clip)} if missing is not None else {"unrelated": ("clip.wav", clip)}
    response = client.post("/voices", headers=john["headers"], data=data, files=files)
    assert response.status_code == 422, response.text
    assert error_code(response) == "validation_error"
    expected = missing or "file"
    assert any(d["loc"][-1] == expected for d in response.json()["error"]["details"]), response.json()
    assert client.get("/voices", headers=john["headers"]).json()["custom"] == 0


def test_delete_voice_answers_200_with_success_and_message(
    client: TestClient, john: dict[str, Any], clip: bytes
) -> None:
    made = client.post(
        "/voices", headers=john["headers"], data={"voice_name": "Gone"}, files={"audio_file": ("c.wav", clip)}
    ).json()
    deleted = client.delete(f"/voices/{made['voice_id']}", headers=john["headers"])
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {
        "success": True,
        "voice_id": made["voice_id"],
        "message": "Voice 'Gone' deleted successfully",
    }
    assert client.delete(f"/voices/{made['voice_id']}", headers=john["headers"]).status_code == 404
    builtin = client.get("/voices", headers=john["headers"]).json()["voices"][0]["voice_id"]
    refused = client.delete(f"/voices/{builtin}", headers=john["headers"])
    assert refused.status_code == 403
    assert error_code(refused) == "builtin_voice"


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
