"""Lambda packages as `sam build` makes them, run in a bare interpreter (the stand-in for `sam local invoke`,
which needs Docker).

Contract:
- `FUNCTIONS`: the logical ids of template.yaml's AWS::Serverless::Function resources, in template order;
  `handler_path(name)` their Handler; `routes(name)` their HttpApi (METHOD, path) pairs.
- `sam_build(out)` builds all of template.yaml into `out` (out/<LogicalId>/): with `sam build` where the SAM CLI
  is installed (`sam_binary()`), else with the same makefile targets, the CoreLayer's manylinux wheels included.
- `build_function(name, out)` runs `make -C infra/lambda build-<name> ARTIFACTS_DIR=<out>` (the makefile
  target that `sam build` runs) and returns `out`.
- `copy_core(out)` makes `out/python/core`, a copy of core/ as the Makefile's CoreLayer target copies it
  (without the layer's pip-installed runtime); `site_packages()` is this interpreter's installed packages
  (resolved; they hold no `core` or `handlers`), the stand-in for that runtime.
- `run_package(function_dir, handler, events, env, cwd=..., paths=...)` starts a fresh `python -I -S` whose
  sys.path is the function's directory, then `paths` (layer and runtime), then the standard library: the
  repository and the caller's environment are not on it. It imports `handler` (any ImportError, e.g. a
  ModuleNotFoundError for a module the package lacks, fails the run), calls it with each event and a
  Lambda context, and returns a `PackageRun`. AssertionError (with the child's stderr) when the child fails.
- `aws_backend()` starts a moto server holding template.yaml's table and a bucket and yields `aws_env(url)`:
  the deployed functions' environment (DynamoDB + S3 on the moto server at `url`, the
  RunPod engine pointed at a closed port) with literal secrets instead of SSM parameter names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.servers import moto_server
from tests.support.template import load_template, table_create_args

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
HEAVY = ("torch", "chatterbox", "onnxruntime", "piper", "scipy")
_RESOURCES: dict[str, Any] = load_template()["Resources"]
FUNCTIONS: list[str] = [n for n, r in _RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"]

DRIVER = """
import importlib, json, os, sys
function_dir, handler_path, paths = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sys.path[:0] = [function_dir, *paths]
module_name, attr = handler_path.rsplit('.', 1)
handler = getattr(importlib.import_module(module_name), attr)
class Context:
    function_name = 'built'; memory_limit_in_mb = 512; aws_request_id = 'req'
    invoked_function_arn = 'arn:aws:lambda:us-east-1:123456789012:function:built'
    def get_remaining_time_in_millis(self): return 30000
out = [handler(event, Context()) for event in json.load(sys.stdin)]
origins = {
    name: os.path.realpath(getattr(module, '__file__', None) or '')
    for name, module in sorted(sys.modules.items()) if name.split('.')[0] in ('core', 'handlers', 'runpod')
}
heavy = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.argv[4])))
print(json.dumps({'responses': out, 'heavy': heavy, 'origins': origins, 'sys_path': sys.path}))
"""


@dataclass(frozen=True)
class PackageRun:
    responses: list[dict[str, Any]]
    heavy: list[str]  # heavy top-level modules the function imported (must stay empty)
    origins: dict[str, str]  # module name -> resolved file, for core.*, handlers.* and runpod.*
    sys_path: list[str]


def handler_path(name: str) -> str:
    return str(_RESOURCES[name]["Properties"]["Handler"])


def routes(name: str) -> set[tuple[str, str]]:
    events = _RESOURCES[name]["Properties"].get("Events", {}).values()
    return {(e["Properties"]["Method"].upper(), e["Properties"]["Path"]) for e in events if e["Type"] == "HttpApi"}


def sam_binary() -> str | None:
    for candidate in (BIN / "sam", BIN.parent / "sam" / "bin" / "sam"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("sam")


def sam_build(out: Path) -> Path:
    sam = sam_binary()
    if sam is None:
        for name, resource in _RESOURCES.items():
            if resource.get("Metadata", {}).get("BuildMethod") == "makefile":
                build_function(name, out / name)
        return out
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0"}
    run = subprocess.run([sam, "build", "--build-dir", str(out)], cwd=ROOT, capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


def build_function(name: str, out: Path) -> Path:
    """`make build-<name>` (a function or CoreLayer) into `out`."""
    command = ["make", "-s", "-C", "infra/lambda", f"build-{name}", f"ARTIFACTS_DIR={out}", f"PYTHON={sys.executable}"]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return out


def copy_core(out: Path) -> Path:
    """out/python/core: the part of CoreLayer that is this repository's code."""
    shutil.copytree(ROOT / "core", out / "python" / "core", ignore=shutil.ignore_patterns("__pycache__"))
    return out / "python"


def site_packages() -> list[Path]:
    found = {Path(sysconfig.get_paths()[k]).resolve() for k in ("purelib", "platlib")}
    for path in found:
        assert not (path / "core").exists(), path
        assert not (path / "handlers").exists(), path
    return sorted(found)


def run_package(
    function_dir: Path,
    handler: str,
    events: list[dict[str, Any]],
    env: dict[str, str],
    *,
    cwd: Path,
    paths: list[Path],
) -> PackageRun:
    command = [sys.executable, "-I", "-S", "-c", DRIVER, str(function_dir), handler]
    command += [json.dumps([str(p) for p in paths]), json.dumps(HEAVY)]
    bare_env = {"PATH": "/usr/bin:/bin", "DATA_DIR": str(cwd / "data"), **env}
    run = subprocess.run(command, input=json.dumps(events), capture_output=True, text=True, env=bare_env, cwd=cwd)
    assert run.returncode == 0, f"{handler} failed in its own package:\n{run.stderr[-4000:]}"
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert str(ROOT) not in result["sys_path"]
    assert str(ROOT.resolve()) not in result["sys_path"]
    return PackageRun(result["responses"], result["heavy"], result["origins"], result["sys_path"])


@contextmanager
def aws_backend() -> Iterator[dict[str, str]]:
    """A moto server with template.yaml's table and a bucket; yields the functions' environment for it."""
    import boto3

    with moto_server() as url:
        kwargs: dict[str, Any] = {"endpoint_url": url, "region_name": "us-east-1"}
        kwargs |= {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
        create, ttl = table_create_args("tts-built")
        dynamodb = boto3.client("dynamodb", **kwargs)
        dynamodb.create_table(**create)
        dynamodb.update_time_to_live(**ttl)
        boto3.client("s3", **kwargs).create_bucket(Bucket="tts-built-blobs")
        yield aws_env(url)


def aws_env(url: str) -> dict[str, str]:
    return {
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
        "RUNPOD_TIMEOUT_S": "1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
