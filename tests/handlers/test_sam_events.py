"""Lambda events as AWS sends them: a function-URL event to the synthesis handler, the stored HTTP API
sample against what `sam local generate-event` makes, and (slow) the packages that `sam build` makes
from template.yaml, run in a bare interpreter that sees only the function and its layer.

`sam local invoke` needs Docker, which no machine here has: the slow test stands in for it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers import auth, synthesize
from tests.support.events import EVENTS, http_event, invoke
from tests.support.servers import moto_server
from tests.support.template import load_template, table_create_args

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "s3cret-password"


def sam_binary() -> str | None:
    for candidate in (BIN / "sam", BIN.parent / "sam" / "bin" / "sam"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("sam")


def login(handler: Any, username: str, sample: str = "http_api_v2.json") -> str:
    body = {"username": username, "email": f"{username}@example.com", "password": PASSWORD, "full_name": None}
    code, _, payload = invoke(handler, http_event("POST", "/auth/register", json_body=body, sample=sample))
    assert code == 201, payload
    login_body = {"username": username, "password": PASSWORD}
    code, _, payload = invoke(handler, http_event("POST", "/auth/login", json_body=login_body, sample=sample))
    assert code == 200, payload
    return str(json.loads(payload)["access_token"])


def test_synthesis_answers_a_function_url_event() -> None:
    token = login(auth.handler, "url_user")
    event = http_event(
        "POST",
        "/synthesize",
        headers={"authorization": f"Bearer {token}"},
        json_body={"text": "Hello from a function URL.", "format": "wav"},
        sample="function_url.json",
    )
    assert event["requestContext"]["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    code, _, payload = invoke(synthesize.handler, event)
    assert code == 201, payload
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


# -- the built packages ---------------------------------------------------------------------------
DRIVER = """
import json, sys
function_dir, layer_dir = sys.argv[1], sys.argv[2]
sys.path[:0] = [function_dir, layer_dir]
import importlib
module_name, attr = sys.argv[3].rsplit('.', 1)
handler = getattr(importlib.import_module(module_name), attr)
class Context:
    function_name = 'built'; memory_limit_in_mb = 512; aws_request_id = 'req'
    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:built'
    def get_remaining_time_in_millis(self): return 30000
out = [handler(event, Context()) for event in json.load(sys.stdin)]
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'chatterbox', 'onnxruntime', 'piper', 'scipy'})
runpod_file = importlib.import_module('runpod').__file__
print(json.dumps({'responses': out, 'heavy': heavy, 'runpod': runpod_file}))
"""


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """template.yaml built into a temporary directory: `sam build` if installed, else the same Makefile targets."""
    out = tmp_path_factory.mktemp("sam-build")
    sam = sam_binary()
    if sam is not None:
        env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
        run = subprocess.run([sam, "build", "--build-dir", str(out)], cwd=ROOT, capture_output=True, text=True, env=env)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        return out
    targets = [name for name, r in load_template()["Resources"].items() if "Metadata" in r]
    for target in targets:
        run = subprocess.run(
            [
                "make",
                "-C",
                "infra/lambda",
                f"build-{target}",
                f"ARTIFACTS_DIR={out / target}",
                f"PYTHON={sys.executable}",
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, str]]:
    """A loopback DynamoDB + S3 with the table from template.yaml; the functions' environment for it."""
    import boto3

    with moto_server() as url:
        kwargs: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1"}
        kwargs |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        create, ttl = table_create_args("tts-built")
        dynamodb = boto3.client("dynamodb", **kwargs)
        dynamodb.create_table(**create)
        dynamodb.update_time_to_live(**ttl)
        boto3.client("s3", **kwargs).create_bucket(Bucket="tts-built-blobs")
        yield {
            "APP_ENV": "production",
            "SECRET_KEY": "k" * 48,
            "STORAGE_BACKEND": "dynamodb",
            "DYNAMODB_TABLE": "tts-built",
            "DYNAMODB_ENDPOINT_URL": url,
            "BLOB_BACKEND": "s3",
            "S3_BUCKET": "tts-built-blobs",
            "S3_ENDPOINT_URL": url,
            "TTS_ENGINE": "runpod",
            "RUNPOD_ENDPOINT_ID": "ep-built",
            "RUNPOD_API_KEY": "rp-key",
            "RUNPOD_BASE_URL": "http://127.0.0.1:9/v2",  # nothing listens: the engine must say so
            "RUNPOD_TIMEOUT_S": "5",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
        }


def run_built(built: Path, function: str, events: list[dict[str, Any]], env: dict[str, str], tmp: Path) -> Any:
    handler = load_template()["Resources"][function]["Properties"]["Handler"]
    command = [sys.executable, "-I", "-S", "-c", DRIVER, str(built / function), str(built / "CoreLayer" / "python")]
    bare_env = {"PATH": os.environ.get("PATH", ""), "DATA_DIR": str(tmp / "data"), **env}
    run = subprocess.run(
        [*command, handler], input=json.dumps(events), capture_output=True, text=True, env=bare_env, cwd=tmp
    )
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["runpod"].startswith(str(built / "CoreLayer"))  # from the layer, not from .venv
    return result["responses"]


def decoded(response: dict[str, Any]) -> Any:
    import base64

    body = response.get("body") or ""
    return json.loads(base64.b64decode(body) if response.get("isBase64Encoded") else body)


@pytest.mark.slow
def test_built_packages_answer_sam_events(built: Path, aws: dict[str, str], tmp_path: Path) -> None:
    assert not (built / "AuthFunction" / "core").exists()  # core ships once, in the layer
    health = run_built(built, "StatusFunction", [http_event("GET", "/health")], aws, tmp_path)
    assert health[0]["statusCode"] == 200, health
    assert decoded(health[0]) == {"status": "ok", "checks": {"store": "ok", "blobs": "ok"}}

    body = {"username": "built_user", "email": "b@example.com", "password": PASSWORD, "full_name": None}
    auth_events = [
        http_event("POST", "/auth/register", json_body=body),
        http_event("POST", "/auth/login", json_body={"username": "built_user", "password": PASSWORD}),
    ]
    registered, logged_in = run_built(built, "AuthFunction", auth_events, aws, tmp_path)
    assert registered["statusCode"] == 201, registered
    token = decoded(logged_in)["access_token"]

    bearer = {"authorization": f"Bearer {token}"}
    synth = http_event("POST", "/synthesize", headers=bearer, json_body={"text": "Hello."}, sample="function_url.json")
    (answer,) = run_built(built, "SynthesizeFunction", [synth], aws, tmp_path)
    assert answer["statusCode"] == 503, answer
    assert decoded(answer)["error"]["message"].startswith("RunPod is unreachable")

    (page,) = run_built(built, "WebFunction", [http_event("GET", "/app")], aws, tmp_path)
    assert page["statusCode"] == 200, page
