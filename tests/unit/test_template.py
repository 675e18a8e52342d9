"""template.yaml (AWS SAM) against the code: linters, one function per handler module, routes, policies, layer.

cfn-lint runs from .venv/bin; `sam validate --lint` runs where the SAM CLI is installed (it cannot share
.venv: aws-sam-cli pins click < 8.2, runpod 1.12 needs click >= 8.4; see infra/README.md) and is skipped
otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.template import load_template

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
MODULES = sorted(p.stem for p in (ROOT / "handlers").glob("*.py") if p.stem not in ("__init__", "runpod_worker"))
DYNAMODB_ONLY = ("auth", "api_keys")  # account functions: no S3 at all
HEAVY = {"torch", "torchaudio", "onnxruntime", "piper-tts", "piper", "chatterbox-tts", "chatterbox", "scipy"}
SSM_VARIABLES = {"SECRET_KEY_SSM_PARAMETER", "RUNPOD_API_KEY_SSM_PARAMETER"}


def sam_binary() -> str | None:
    for candidate in (BIN / "sam", BIN.parent / "sam" / "bin" / "sam"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("sam")


def module_of(function: dict[str, Any]) -> str:
    handler = function["Properties"]["Handler"]
    assert re.fullmatch(r"handlers\.[a-z_]+\.handler", handler), handler
    return str(handler.split(".")[1])


def snake(camel: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", camel).lower()


def routes_of(router: Any) -> set[tuple[str, str]]:
    """(METHOD, path) of every route of an app or router, through FastAPI's included-router wrappers."""
    found: set[tuple[str, str]] = set()
    for route in router.routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            found |= routes_of(inner)
        else:
            found |= {(m, normalise(route.path)) for m in getattr(route, "methods", None) or () if m != "HEAD"}
    return found


def normalise(path: str) -> str:
    """API Gateway routes /a/ like /a: compare without a trailing slash."""
    return path.rstrip("/") or "/"


def events_of(function: dict[str, Any]) -> set[tuple[str, str]]:
    out = set()
    for event in function["Properties"].get("Events", {}).values():
        assert event["Type"] == "HttpApi"
        props = event["Properties"]
        assert props["ApiId"] == {"Ref": "HttpApi"}
        out.add((props["Method"].upper(), normalise(props["Path"])))
    return out


def test_cfn_lint_passes() -> None:
    out = subprocess.run([str(BIN / "cfn-lint"), "template.yaml"], cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_sam_validate_lint_passes() -> None:
    sam = sam_binary()
    if sam is None:
        pytest.skip("SAM CLI not installed (infra/scripts/install_sam.sh)")
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "us-east-1"}
    out = subprocess.run([sam, "validate", "--lint"], cwd=ROOT, capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "is a valid SAM Template" in out.stdout + out.stderr


def test_one_function_per_handler_module() -> None:
    modules = sorted(module_of(f) for f in FUNCTIONS.values())
    assert modules == MODULES, "every handlers/*.py (but runpod_worker) needs exactly one function"
    for name, function in FUNCTIONS.items():
        # infra/lambda/Makefile builds `build-<Name>Function` from handlers/<snake(Name)>.py
        assert name.endswith("Function")
        assert snake(name.removesuffix("Function")) == module_of(function), name
        assert function["Properties"]["CodeUri"] == "infra/lambda"
        assert function["Metadata"]["BuildMethod"] == "makefile"


def test_every_handler_path_resolves_to_a_callable_handler() -> None:
    paths = [f["Properties"]["Handler"] for f in FUNCTIONS.values()]
    code = (
        "import importlib, json, sys\n"
        "out = {}\n"
        "for path in sys.argv[1:]:\n"
        "    module, attr = path.rsplit('.', 1)\n"
        "    out[path] = callable(getattr(importlib.import_module(module), attr, None))\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "APP_ENV": "development"}
    run = subprocess.run([sys.executable, "-c", code, *paths], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == dict.fromkeys(paths, True)


def test_http_api_routes_match_the_local_server_exactly() -> None:
    import local_server

    routed: set[tuple[str, str]] = set()
    for function in FUNCTIONS.values():
        events = events_of(function)
        assert not routed & events, f"route given twice: {routed & events}"
        routed |= events
    local = {r for r in routes_of(local_server.app) if not r[1].startswith(("/docs", "/openapi.json", "/redoc"))}
    assert routed == local, f"only in template: {routed - local}; only in local_server: {local - routed}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_routes_exactly_its_modules_router(name: str) -> None:
    import importlib

    module = importlib.import_module(f"handlers.{module_of(FUNCTIONS[name])}")
    assert events_of(FUNCTIONS[name]) == routes_of(module.router)


@pytest.mark.parametrize("module", DYNAMODB_ONLY)
def test_account_functions_get_no_s3(module: str) -> None:
    function = next(f for f in FUNCTIONS.values() if module_of(f) == module)
    policies = json.dumps(function["Properties"]["Policies"])
    assert "s3" not in policies.lower()
    assert "BlobBucket" not in policies
    assert "DynamoDBCrudPolicy" in policies


def test_s3_grants_are_scoped_to_prefixes() -> None:
    for name, function in FUNCTIONS.items():
        for policy in function["Properties"]["Policies"]:
            assert not any(k.startswith("S3") for k in policy), f"{name}: use prefix-scoped statements"
            for statement in policy.get("Statement", []):
                actions = statement["Action"]
                object_actions = [a for a in actions if a.startswith("s3:") and a != "s3:ListBucket"]
                if object_actions:
                    resource = json.dumps(statement["Resource"])
                    assert "/audio/*" in resource or "/voices/*" in resource, (name, statement)
                assert "*" not in actions, name


def test_secrets_come_from_ssm_never_literals() -> None:
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert "SECRET_KEY" not in variables
    assert "RUNPOD_API_KEY" not in variables
    assert set(variables) & SSM_VARIABLES == SSM_VARIABLES
    for function in FUNCTIONS.values():
        own = function["Properties"].get("Environment", {}).get("Variables", {})
        assert "SECRET_KEY" not in own
        assert "RUNPOD_API_KEY" not in own
        assert "SSMParameterReadPolicy" in json.dumps(function["Properties"]["Policies"])


def test_environment_names_are_settings_fields() -> None:
    from core.config import Settings

    fields = {name.upper() for name in Settings.model_fields}
    variables = set(TEMPLATE["Globals"]["Function"]["Environment"]["Variables"])
    for function in FUNCTIONS.values():
        variables |= set(function["Properties"].get("Environment", {}).get("Variables", {}))
    assert variables - SSM_VARIABLES <= fields, variables - SSM_VARIABLES - fields
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["TTS_ENGINE"] == "runpod"
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["STORAGE_BACKEND"] == "dynamodb"
    assert TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]["BLOB_BACKEND"] == "s3"


def test_long_running_functions_have_function_urls() -> None:
    for module in ("synthesize", "openai_speech"):
        function = next(f for f in FUNCTIONS.values() if module_of(f) == module)
        assert function["Properties"]["FunctionUrlConfig"]["AuthType"] == "NONE"
        assert function["Properties"]["Timeout"] > 30
    assert TEMPLATE["Globals"]["Function"]["Timeout"] <= 30  # behind API Gateway's 30 s


def test_functions_run_python_311_on_the_core_layer() -> None:
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.11"
    assert TEMPLATE["Globals"]["Function"]["Layers"] == [{"Ref": "CoreLayer"}]
    layer = RESOURCES["CoreLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Metadata"]["BuildMethod"] == "makefile"
    assert layer["Properties"]["ContentUri"] == "infra/lambda"
    makefile = (ROOT / "infra" / "lambda" / "Makefile").read_text()
    assert "build-CoreLayer:" in makefile
    assert "build-%Function:" in makefile


def requirement_names(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            names.add(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0].lower().replace("_", "-"))
    return names


def test_layer_requirements_are_light() -> None:
    layer = ROOT / "infra" / "lambda"
    names = requirement_names(layer / "requirements.txt") | requirement_names(layer / "requirements-nodeps.txt")
    assert not names & HEAVY, names & HEAVY
    needed = {"fastapi", "mangum", "pydantic", "pyjwt", "libpass", "argon2-cffi", "boto3", "numpy", "soundfile"}
    assert needed | {"python-multipart", "email-validator", "runpod", "pydantic-settings"} <= names


def test_bucket_is_private_encrypted_and_expires_generated_audio() -> None:
    bucket = RESOURCES["BlobBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["generated-audio"]["Prefix"] == "audio/"
    assert rules["generated-audio"]["Transitions"]


def test_worker_is_not_a_lambda() -> None:
    assert "runpod_worker" not in {module_of(f) for f in FUNCTIONS.values()}
