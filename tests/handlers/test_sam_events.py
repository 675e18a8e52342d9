"""Lambda events as AWS sends them: a function-URL event to the synthesis handler, and the stored HTTP API
sample against what `sam local generate-event` makes. The packages that `sam build` makes are run with
such events in test_built_functions.py.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from handlers import auth, synthesize
from tests.support.events import EVENTS, http_event, invoke
from tests.support.lambda_packages import sam_binary
from tests.support.users import create_via_lambda


def test_synthesis_answers_a_function_url_event() -> None:
    token = create_via_lambda(auth.handler, "url_user")["tokens"]["access_token"]
    event = http_event(
        "POST",
        "/synthesize",
        headers={"authorization": f"Bearer {token}"},
        json_body={"text": "Hello from a function URL.", "format": "wav"},
        sample="function_url.json",
    )
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    code, _, payload = invoke(synthesize.handler, event)
    assert code == 200, payload
    assert json.loads(payload)["format"] == "wav"


def test_stored_http_api_sample_has_the_shape_sam_generates() -> None:
    sam = sam_binary()
    if sam is None:
        pytest.skip("SAM CLI not installed (infra/scripts/install_sam.sh)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    out = subprocess.run(
        [sam, "local", "generate-event", "apigateway", "http-api-proxy"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    generated = json.loads(out.stdout)
    stored = json.loads((EVENTS / "http_api_v2.json").read_text())
    assert set(generated) == set(stored)
    assert set(generated["requestContext"]) == set(stored["requestContext"])
    assert generated["version"] == stored["version"] == "2.0"
