"""Every synthesis option's documented range, end to end through the API (Piper, the default engine):
both bounds are accepted, the values just outside are refused with 422 in the one error shape naming the
bound, and the OpenAPI schema shows exactly the table's bounds (core.tts.options is the only source)."""

from __future__ import annotations

import math
from typing import Any

from fastapi.testclient import TestClient

from core.schemas.openai import OPENAI_SPEED_RANGE
from core.tts.options import OPTIONS, Option
from tests.conftest import Users


def shown(bound: float) -> str:
    """A bound as pydantic's messages write it (2.0 -> '2', 0.05 -> '0.05')."""
    return str(int(bound)) if float(bound).is_integer() else str(bound)


def outside(option: Option) -> tuple[float, float]:
    """The closest values below `low` and above `high` that a client can send."""
    if option.kind == "int":
        return option.low - 1, option.high + 1
    return math.nextafter(option.low, -math.inf), math.nextafter(option.high, math.inf)


def test_each_bound_is_accepted_and_just_outside_refused(client: TestClient, users: Users) -> None:
    headers = users.create()["headers"]
    for name, option in OPTIONS.items():
        check_option(client, headers, name, option)


def check_option(client: TestClient, headers: dict[str, str], name: str, option: Option) -> None:
    for value in (option.low, option.high):
        made = client.post("/synthesize", headers=headers, json={"text": "Hi.", name: value})
        assert made.status_code == 200, (value, made.text)
        ignored = [] if option.engines is None else [name]  # Piper honours speed and pitch only
        assert made.json()["options_ignored"] == ignored
    for value, bound in zip(outside(option), (option.low, option.high), strict=True):
        refused = client.post("/synthesize", headers=headers, json={"text": "Hi.", name: value})
        assert refused.status_code == 422, (value, refused.text)
        error = refused.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] == "validation_error"
        assert error["message"].startswith(f"{name}: Input should be")
        assert error["message"].endswith(shown(bound)), error["message"]


def test_openapi_bounds_are_the_tables(client: TestClient) -> None:
    properties = client.get("/openapi.json").json()["components"]["schemas"]["SynthesizeBody"]["properties"]
    for name, option in OPTIONS.items():
        schema = properties[name]
        typed = next((s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"), schema)
        assert (typed["minimum"], typed["maximum"]) == (option.low, option.high), name
        assert typed["type"] == ("integer" if option.kind == "int" else "number")
        assert option.bounds() in schema["description"]


def test_openai_speed_follows_the_table(client: TestClient, users: Users) -> None:
    headers: dict[str, Any] = users.create()["headers"]
    option = OPTIONS["speed"]
    for speed in (option.low, option.high, *outside(option)):
        body = {"model": "tts-1", "input": "Hi.", "voice": "alloy", "speed": speed, "response_format": "wav"}
        response = client.post("/v1/audio/speech", headers=headers, json=body)
        if option.low <= speed <= option.high:
            assert response.status_code == 200, response.text
            continue
        assert response.status_code == 422
        message = response.json()["error"]["message"]
        assert f"outside {option.low}..{option.high}" in message  # the honoured range: the table's
        assert f"OpenAI accepts {OPENAI_SPEED_RANGE[0]}..{OPENAI_SPEED_RANGE[1]}" in message
