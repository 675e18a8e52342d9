"""Settings: production refuses weak secrets; development keeps a generated key across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import ConfigError, Settings


@pytest.mark.parametrize("key", [None, "", "changeme", "secret", "short-but-real-key"])
def test_production_refuses_missing_placeholder_or_short_secret(key: str | None) -> None:
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings(app_env="production", secret_key=key)


def test_production_accepts_a_long_secret() -> None:
    settings = Settings(app_env="production", secret_key="p" * 32)
    assert settings.signing_key() == "p" * 32


def test_development_generates_a_key_once_and_keeps_it(tmp_path: Path) -> None:
    from core.config import reset_settings

    first = Settings(data_dir=tmp_path).signing_key()
    reset_settings()  # as after a restart
    second = Settings(data_dir=tmp_path).signing_key()
    assert first == second
    assert len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_defaults_and_env_names(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings()
    assert (defaults.access_token_expire_minutes, defaults.refresh_token_expire_days, defaults.port) == (30, 7, 8000)
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "5")
    monkeypatch.setenv("PORT", "9001")
    monkeypatch.setenv("STORAGE_BACKEND", "dynamodb")
    settings = Settings()
    assert (settings.access_token_expire_minutes, settings.port, settings.storage_backend) == (5, 9001, "dynamodb")
    assert "SECRET" not in repr(Settings(secret_key="z" * 40))
    assert "zzzz" not in repr(Settings(secret_key="z" * 40))
