"""Secrets from AWS SSM Parameter Store, read once when Settings are built (a Lambda cold start).

Contract:
- For each NAME in SECRET_NAMES: when the environment names a SecureString parameter in
  `NAME_SSM_PARAMETER` and NAME itself is unset or empty, `ssm_overrides()` returns the decrypted
  value under the Settings field name (`secret_key`, `runpod_api_key`), to be passed as
  `Settings(**ssm_overrides())`. A value given directly in NAME always wins.
- All parameters are fetched with one GetParameters call (WithDecryption). With no `*_SSM_PARAMETER`
  variable in play nothing is fetched and boto3 is not imported.
- A parameter that does not exist or cannot be read raises `ConfigError` naming it: the process
  refuses to start rather than run without its secret.
- Why not CloudFormation dynamic references: `{{resolve:ssm-secure:...}}` is not supported in Lambda
  environment variables, and a resolved value would sit in the function's configuration in clear.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from core.config import ConfigError

SECRET_NAMES = ("SECRET_KEY", "RUNPOD_API_KEY")
SUFFIX = "_SSM_PARAMETER"


def wanted(environ: Mapping[str, str]) -> dict[str, str]:
    """{secret env name: parameter name} for secrets to fetch from SSM (pure)."""
    return {
        name: environ[name + SUFFIX].strip()
        for name in SECRET_NAMES
        if environ.get(name + SUFFIX, "").strip() and not environ.get(name, "").strip()
    }


def ssm_overrides(environ: Mapping[str, str] | None = None, *, client: Any = None) -> dict[str, Any]:
    """Settings field values fetched from SSM, e.g. {"secret_key": "..."}; {} when none is configured."""
    env = os.environ if environ is None else environ
    names = wanted(env)
    if not names:
        return {}
    if client is None:
        import boto3

        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1"
        client = boto3.client("ssm", region_name=region)
    try:
        answer = client.get_parameters(Names=sorted(set(names.values())), WithDecryption=True)
    except Exception as exc:
        raise ConfigError(f"could not read {', '.join(sorted(names.values()))} from SSM: {exc}") from exc
    missing = answer.get("InvalidParameters") or []
    if missing:
        raise ConfigError(f"SSM parameter(s) {', '.join(missing)} do not exist (check *{SUFFIX} variables)")
    values = {p["Name"]: p["Value"] for p in answer.get("Parameters", [])}
    return {name.lower(): values[parameter] for name, parameter in names.items() if parameter in values}
