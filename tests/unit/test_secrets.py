"""Secrets from SSM Parameter Store (moto's in-process AWS): what template.yaml's functions rely on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from core.config import ConfigError, Settings
from core.secrets import ssm_overrides, wanted

KEY = "k" * 48


@pytest.fixture
def ssm() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("ssm", region_name="us-east-1")
        client.put_parameter(Name="/tts/secret-key", Value=KEY, Type="SecureString")
        client.put_parameter(Name="/tts/runpod-api-key", Value="rp-secret", Type="SecureString")
        yield client


def test_nothing_to_fetch_without_parameter_names() -> None:
    assert ssm_overrides({"SECRET_KEY": KEY}) == {}
    assert wanted({"SECRET_KEY": KEY, "SECRET_KEY_SSM_PARAMETER": "/tts/secret-key"}) == {}
    assert wanted({"SECRET_KEY_SSM_PARAMETER": "  "}) == {}


def test_fetches_and_decrypts_every_named_secret(ssm: Any) -> None:
    env = {"SECRET_KEY_SSM_PARAMETER": "/tts/secret-key", "RUNPOD_API_KEY_SSM_PARAMETER": "/tts/runpod-api-key"}
    assert ssm_overrides(env, client=ssm) == {"secret_key": KEY, "runpod_api_key": "rp-secret"}


def test_a_value_set_directly_wins(ssm: Any) -> None:
    env = {"SECRET_KEY": "direct", "SECRET_KEY_SSM_PARAMETER": "/tts/secret-key"}
    assert ssm_overrides(env, client=ssm) == {}


def test_missing_parameter_stops_startup(ssm: Any) -> None:
    with pytest.raises(ConfigError, match="/tts/nope"):
        ssm_overrides({"SECRET_KEY_SSM_PARAMETER": "/tts/nope"}, client=ssm)


def test_settings_accept_the_overrides_in_production(ssm: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY_SSM_PARAMETER", "/tts/secret-key")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    settings = Settings(**ssm_overrides())  # the hook core.config.get_settings() uses
    assert settings.signing_key() == KEY
    with pytest.raises(ConfigError):
        Settings()
