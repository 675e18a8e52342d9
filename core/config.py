"""One Settings object for every entry point (local server, Lambda handlers, RunPod worker).

Contract:
- Every field reads the environment variable of the same name (upper case); the same names are
  used in template.yaml (AWS) and render.yaml (Render).
- `get_settings()` builds the Settings once per process (cached), with secrets named by
  `*_SSM_PARAMETER` variables read from SSM Parameter Store (core.secrets); `reset_settings()` drops
  the cache (tests).
- SECRET_KEY: in production a missing key, one shorter than 32 bytes or a known placeholder stops
  start-up with `ConfigError`. In development a random key is generated once and kept in
  DATA_DIR/secret_key, so tokens survive restarts.
- FORWARDED_ALLOW_IPS is parsed at load (`core.edge.proxies.parse_trusted`): a bad entry stops start-up.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PLACEHOLDER_SECRETS = frozenset(
    {"", "changeme", "change-me", "secret", "your-secret-key", "please-change-me", "placeholder", "dev"}
)
MIN_SECRET_BYTES = 32


class ConfigError(RuntimeError):
    """The configuration cannot be used; the message says what to change."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    app_name: str = "Chatterbox TTS API"
    app_env: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    host: str = "127.0.0.1"
    port: int = 8000

    # Auth
    secret_key: SecretStr | None = None
    jwt_issuer: str = "chatterbox-tts-api"
    jwt_audience: str = "chatterbox-tts-api"
    access_token_expire_minutes: int = Field(default=30, ge=1)
    refresh_token_expire_days: int = Field(default=7, ge=1)
    admin_usernames: str = Field(
        default="", description="comma-separated usernames promoted to admin at start-up and when they next sign in"
    )
    refresh_reuse_grace_seconds: int = Field(
        default=10, ge=0, le=60, description="how long the previous refresh token still returns the same new pair"
    )

    # Storage
    storage_backend: Literal["sqlite", "dynamodb"] = "sqlite"
    sqlite_path: Path | None = None  # default: DATA_DIR/app.db
    dynamodb_table: str = "chatterbox-tts"
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    blob_backend: Literal["local", "s3"] = "local"
    blob_dir: Path | None = None  # default: DATA_DIR/blobs
    s3_bucket: str = "chatterbox-tts-blobs"
    s3_endpoint_url: str | None = None

    # Requests
    max_request_bytes: int = Field(default=64 * 1024, ge=1024)
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    max_text_chars: int = Field(default=5000, ge=1)
    # Estimated seconds of audio one synthesis may give (engine.estimate_seconds); 5,000 characters of
    # ordinary English prose measure 266-278 s with Piper at speed 1.0.
    max_audio_seconds_per_request: float = Field(default=360.0, gt=0)
    max_upload_decoded_samples: int = Field(
        default=24_000_000, ge=1_000_000, description="channels x frames an uploaded clip may decode to"
    )
    max_parallel_decodes: int = Field(default=2, ge=0, description="audio decodes at a time per process; 0 = any")

    # HTTP edge (core.edge): client addresses behind proxies, slow clients, docs
    forwarded_allow_ips: str = Field(
        default="", description="trusted proxies: IPs, CIDR ranges, 'private', 'cloudflare'; empty: none"
    )
    cors_origins: str = Field(
        default="", description="origins whose pages may call the API: scheme://host[:port], comma-separated, or *"
    )
    header_timeout_s: float = Field(default=20.0, gt=0, description="request line and headers must arrive within")
    body_timeout_s: float = Field(default=20.0, gt=0, description="request body must arrive within (plus min rate)")
    body_min_rate: int = Field(default=500, ge=0, description="bytes/s: each BODY_MIN_RATE bytes add 1 s; 0: none")
    keep_alive_timeout_s: int = Field(default=5, ge=1, description="idle keep-alive connections close after")
    docs_enabled: bool | None = Field(default=None, description="/docs and /redoc; default: on in development only")

    # Abuse limits (0 disables a limit). Counters live in the store, so they hold across processes.
    rate_limit_register_per_hour: int = Field(default=20, ge=0, description="per client IP")
    rate_limit_login_per_minute: int = Field(default=30, ge=0, description="per client IP")
    rate_limit_synthesis_per_minute: int = Field(default=30, ge=0, description="per user")
    rate_limit_uploads_per_hour: int = Field(default=30, ge=0, description="per user")
    login_lockout_failures: int = Field(default=5, ge=0, description="login attempts per account per window")
    login_lockout_minutes: int = Field(default=15, ge=1)
    rate_limit_conversions_per_hour: int = Field(default=60, ge=0, description="per user: ?format= conversions")
    rate_limit_exports_per_hour: int = Field(default=6, ge=0, description="per user: GET /profile/export")
    quota_chars_per_day: int = Field(default=100_000, ge=0, description="synthesized characters per user per day")
    quota_audio_seconds_per_day: int = Field(
        default=7200, ge=0, description="synthesized audio seconds per user per day"
    )
    quota_hold_grace_s: int = Field(
        default=900, ge=1, description="a job's quota hold stops counting this long after its last sign of life"
    )

    # Maintenance (core.maintenance): the sweep of orphaned items and blobs
    sweep_interval_minutes: int = Field(default=60, ge=0, description="local server: sweep every N minutes; 0 = off")
    sweep_grace_minutes: int = Field(default=60, ge=1, description="blobs younger than this are never swept")

    # Engines
    tts_engine: Literal["piper", "chatterbox", "runpod"] = "piper"
    piper_voices_dir: Path | None = None
    chatterbox_checkpoint_dir: Path | None = None
    chatterbox_device: str = "auto"
    runpod_endpoint_id: str | None = None
    runpod_api_key: SecretStr | None = None
    runpod_base_url: str = "https://api.runpod.ai/v2"
    runpod_timeout_s: float = Field(default=300.0, gt=0)

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def admin_username_set(self) -> frozenset[str]:
        """ADMIN_USERNAMES as lower-cased names (usernames are unique case-insensitively)."""
        return frozenset(n.strip().lower() for n in self.admin_usernames.split(",") if n.strip())

    @property
    def docs_on(self) -> bool:
        return self.docs_enabled if self.docs_enabled is not None else not self.is_production

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _check_proxies(cls, value: str) -> str:
        from core.edge.proxies import parse_trusted  # lazily: core.edge reads these settings

        parse_trusted(value)
        return value

    @field_validator("cors_origins")
    @classmethod
    def _check_origins(cls, value: str) -> str:
        from core.edge.cors import parse_origins  # lazily: core.edge reads these settings

        parse_origins(value)
        return value

    @property
    def resolved_sqlite_path(self) -> Path:
        return self.sqlite_path or self.data_dir / "app.db"

    @property
    def resolved_blob_dir(self) -> Path:
        return self.blob_dir or self.data_dir / "blobs"

    @model_validator(mode="after")
    def _check_secret(self) -> Settings:
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if self.is_production:
            if key.strip().lower() in PLACEHOLDER_SECRETS:
                raise ConfigError(
                    "SECRET_KEY is missing or a placeholder; set a random value of at least "
                    f"{MIN_SECRET_BYTES} bytes (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
                )
            if len(key.encode()) < MIN_SECRET_BYTES:
                raise ConfigError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes in production")
        return self

    def signing_key(self) -> str:
        """The JWT signing key: SECRET_KEY, or in development a random key kept under DATA_DIR."""
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value()
        return _development_key(self.data_dir)


@lru_cache(maxsize=4)
def _development_key(data_dir: Path) -> str:
    path = data_dir / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # Written aside, then linked into place: link fails if another process won the race,
    # and a reader never sees a half-written file.
    tmp = data_dir / f".secret_key.{os.getpid()}.{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    from core.secrets import ssm_overrides  # SECRET_KEY_SSM_PARAMETER etc. (AWS); a no-op elsewhere

    return Settings(**ssm_overrides())


def reset_settings() -> None:
    get_settings.cache_clear()
    _development_key.cache_clear()
