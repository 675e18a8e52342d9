"""The original contract's voice routes (issue 12): GET /voices counts and fields, POST /voices with the
original field names and a file part sent as Python's requests sends it (`voice_name`, `voice_description`,
an `audio_file` part with no content type), DELETE /voices/{id} answering 200 with its message; our own
field names and fields keep working beside them. The engine is the default one (Piper), real: no test double.
The README's user (`john`) comes from tests/api/conftest.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from core.tts import codecs
from core.tts.base import Audio
from tests.support.speech import error_code

OURS_VOICE = {"id", "name", "kind", "engine", "created_at", "description", "language", "duration", "available"}
ORIGINAL_VOICE = {"voice_id", "name", "description", "type", "created_at", "user_id", "audio_duration"}


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
