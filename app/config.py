"""Settings, read once from the environment (prefix ``FABRIQUE_``) and validated at start."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[1]
PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "placeholder", "dev", "development"}


def default_base_url(host: str, port: int) -> str:
    """The address people reach when the server listens on ``host:port`` (all interfaces → loopback)."""
    if host in {"0.0.0.0", "::", ""}:
        host = "127.0.0.1"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FABRIQUE_", env_file=".env", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str | None = None
    # Unset: `fabrique serve` derives it from --host/--port (see app.cli._follow_port).
    base_url: str = "http://127.0.0.1:8000"
    default_locale: Literal["fr", "en"] = "fr"
    default_timezone: str = "Europe/Paris"

    # e-mail: written to var/outbox/ when no SMTP host is set
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    mail_from: str = "Fabrique <no-reply@fabrique.local>"

    session_days: int = Field(default=30, ge=1)
    # login throttle (app.account.throttle): failures before a growing delay, per account and
    # address (or known browser), per account from anywhere, per address whatever the account.
    login_max_failures: int = 10
    login_account_max_failures: int = 50
    login_address_max_failures: int = 100
    login_window_minutes: int = 15
    password_reset_minutes: int = 60
    # e-mails anyone can trigger (password reset, visitor registration), per window: per recipient,
    # per requesting address (app.account.throttle.allow_mail)
    mail_max_per_recipient: int = 3
    mail_max_per_address: int = 20
    mail_window_minutes: int = 60
    invitation_days: int = 14
    db_pool_size: int = 10
    db_echo: bool = False

    # the job outbox (app.core.jobs): how often the relay looks for jobs not handed over (0: only at
    # start-up), how old a pending job must be before the relay takes it (the request hands its own
    # over), when /readyz and the logs call the queue behind, and how long done jobs are kept.
    outbox_relay_seconds: int = Field(default=30, ge=0)
    outbox_relay_after_seconds: int = Field(default=30, ge=0)
    outbox_behind_seconds: int = Field(default=300, ge=1)
    outbox_retention_days: int = Field(default=7, ge=1)
    # Internal hosts (names or addresses, comma-separated) that calendar imports and CalDAV may reach,
    # e.g. a Radicale on the same machine; every other internal address is refused (app.core.outbound).
    outbound_allow_hosts: str = ""

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'fabrique.db'}"
        if self.env == "production":
            if not self.secret_key or self.secret_key.strip().lower() in PLACEHOLDER_SECRETS or len(
                self.secret_key
            ) < 32:
                raise ValueError(
                    "FABRIQUE_SECRET_KEY must be set to a random value of at least 32 characters in "
                    "production (for example: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def secure_cookies(self) -> bool:
        return self.env == "production" or self.base_url.startswith("https://")

    @property
    def outbox_dir(self) -> Path:
        return self.var_dir / "outbox"

    @property
    def database_host(self) -> str:
        if self.is_sqlite:
            return self.database_url.split("///", 1)[-1]
        parts = urlsplit(self.database_url)
        return f"{parts.hostname}:{parts.port or 5432}"

    def resolved_secret_key(self) -> str:
        """The configured secret, or in development one generated once into var/secret_key."""
        if self.secret_key:
            return self.secret_key
        path = self.var_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.var_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
