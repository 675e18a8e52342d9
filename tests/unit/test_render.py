"""render.yaml (Render blueprint) against the code and template.yaml: same variable names, a server that starts."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path
from typing import Any

import yaml

from core.config import Settings
from tests.support.template import load_template

ROOT = Path(__file__).resolve().parents[2]
RENDER: dict[str, Any] = yaml.safe_load((ROOT / "render.yaml").read_text())
(SERVICE,) = RENDER["services"]
ENV = {v["key"]: v for v in SERVICE["envVars"]}
RENDER_ONLY = {"PYTHON_VERSION"}  # read by Render's build, not by the app


def test_web_service_runs_the_combined_server_on_port() -> None:
    assert SERVICE["type"] == "web"
    assert SERVICE["startCommand"] == "python local_server.py"  # core.edge.server: header timeout, no proxy trust
    assert ENV["HOST"]["value"] == "0.0.0.0"  # noqa: S104 - Render routes to the instance
    assert SERVICE["healthCheckPath"] == "/health"
    assert SERVICE["buildCommand"] == "pip install -r requirements.txt"


def test_variable_names_are_settings_fields_shared_with_template() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    assert set(ENV) - RENDER_ONLY <= fields, set(ENV) - RENDER_ONLY - fields
    template_vars = set(load_template()["Globals"]["Function"]["Environment"]["Variables"])
    shared = {"APP_ENV", "DATA_DIR", "STORAGE_BACKEND", "BLOB_BACKEND", "TTS_ENGINE", "RUNPOD_ENDPOINT_ID"}
    assert shared <= set(ENV) & template_vars


def test_secret_is_generated_and_data_lives_on_the_disk() -> None:
    assert ENV["SECRET_KEY"] == {"key": "SECRET_KEY", "generateValue": True}
    assert ENV["APP_ENV"]["value"] == "production"
    assert SERVICE["disk"]["mountPath"] == ENV["DATA_DIR"]["value"]
    assert ENV["RUNPOD_API_KEY"].get("sync") is False  # never a value in the repository


def test_client_addresses_come_through_renders_proxies() -> None:
    from core.edge.proxies import client_address, parse_trusted

    trusted = parse_trusted(ENV["FORWARDED_ALLOW_IPS"]["value"])
    # what reaches the app on Render: the client's own (spoofed) entry, Cloudflare's append of the client,
    # the Render proxy's append of the Cloudflare edge; the peer is the Render proxy
    chain = ["6.6.6.6", "203.0.113.7", "104.22.17.40"]
    assert client_address("10.21.157.68", chain, trusted) == "203.0.113.7"


def test_small_instance_gets_the_cpu_engine() -> None:
    assert SERVICE["plan"] == "starter"
    assert ENV["TTS_ENGINE"]["value"] == "piper"
    values: dict[str, Any] = {k.lower(): v["value"] for k, v in ENV.items() if "value" in v and k not in RENDER_ONLY}
    generated = base64.b64encode(secrets.token_bytes(32)).decode()  # what generateValue gives: 44 chars
    settings = Settings(**values, secret_key=generated)
    assert (settings.tts_engine, settings.storage_backend, settings.app_env) == ("piper", "sqlite", "production")
