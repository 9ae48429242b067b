"""Settings from the environment (secrets only ever here), validated at start-up.

Each `KIEMDIEM_X` may instead be given as `KIEMDIEM_X_FILE`, a path to read it from (the
Docker-secrets convention). Secrets are `SecretStr`, so they never print in a log or a repr.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from config.errors import ConfigError

PREFIX = "KIEMDIEM_"
CHANNELS = ("file", "email", "zalo_zns", "zalo_oa", "webhook")


class Settings(BaseModel):
    """Everything the service reads from its environment; defaults run on a laptop."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    database_url: str = "sqlite:///kiemdiem.db"
    hierarchy: str = "2025"
    channels: tuple[str, ...] = ("file",)
    outbox_dir: Path = Path("var/outbox")
    templates_dir: Path | None = None
    public_url: str = "http://127.0.0.1:8080"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    smtp_timeout: float = 30.0
    smtp_connections: int = Field(default=4, ge=1, le=64)
    mail_from: str = "kiemdiem@localhost"

    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None

    http_timeout: float = Field(default=10.0, gt=0)

    zalo_base_url: str = "https://business.openapi.zalo.me"
    zalo_oa_url: str = "https://openapi.zalo.me"
    zalo_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_app_id: str | None = None
    zalo_secret_key: SecretStr | None = None
    zalo_refresh_token: SecretStr | None = None
    zalo_template_id: str | None = None

    dispatch_batch: int = Field(default=200, ge=1, le=10_000)
    dispatch_concurrency: int = Field(default=16, ge=1, le=1_000)
    dispatch_max_attempts: int = Field(default=8, ge=1)
    dispatch_lease_seconds: float = Field(default=300.0, gt=0)
    dispatch_backoff_seconds: float = Field(default=60.0, ge=0)
    dispatch_backoff_max_seconds: float = Field(default=3600.0, ge=0)
    dispatch_idle_seconds: float = Field(default=5.0, gt=0)

    @field_validator("channels", mode="before")
    @classmethod
    def _split_channels(cls, value: object) -> object:
        if isinstance(value, str):
            value = tuple(part.strip() for part in value.split(",") if part.strip())
        for channel in value:  # type: ignore[union-attr]
            if channel not in CHANNELS:
                raise ValueError(f"unknown channel '{channel}' (channels: {', '.join(CHANNELS)})")
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from `KIEMDIEM_*` variables (or `*_FILE`), then explicit overrides."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            key = PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
            elif key + "_FILE" in env:
                path = Path(env[key + "_FILE"])
                try:
                    values[name] = path.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError(f"{key}_FILE: cannot read {path} ({exc.strerror})") from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{PREFIX}{'.'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
                for e in exc.errors()
            )
            raise ConfigError(f"bad setting: {problems}") from exc
