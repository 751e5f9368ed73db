"""Settings from `VIGIL_*` environment variables and an optional `.env` file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from platformdirs import user_data_path
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from vigil.alerts.smtp import SmtpConfig
from vigil.keys import key_of_secret, short_key_problem
from vigil.storage.database import sqlite_url
from vigil.times import known_zone

#: Addresses only this machine can reach.
LOOPBACK = ("127.0.0.1", "localhost", "::1")
#: Addresses that listen on every interface: they name no host of their own.
ANY_ADDRESS = ("0.0.0.0", "::", "")


class Settings(BaseSettings):
    """Everything Vigil reads from its environment. Secrets never get a default here."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=lambda: user_data_path("vigil", appauthor=False),
        description="Where data sets, models and the database are kept (default: the user's "
        "data directory, such as ~/.local/share/vigil, whatever the current directory).",
    )
    max_upload_mb: float = Field(200.0, gt=0, description="Largest file accepted, in MB.")
    max_rows: int = Field(5_000_000, gt=0, description="Most rows read from one file.")
    host: str = "127.0.0.1"
    port: int = Field(8050, gt=0, lt=65536)
    debug: bool = False
    demo: bool = Field(True, description="Load the built-in demo data set at start.")
    smtp_host: str | None = Field(None, description="SMTP server for email alerts.")
    smtp_port: int = Field(25, gt=0, lt=65536)
    smtp_security: Literal["none", "starttls", "ssl"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    alert_from: str = Field("vigil@localhost", description="Sender address of alert emails.")
    alert_time_zone: str = Field(
        "UTC", description="The IANA time zone every time in alert emails is written in."
    )
    public_url: str = Field("http://127.0.0.1:8050", description="Vigil's address, for links.")
    allowed_hosts: str = Field(
        "",
        description="Host names the server answers to besides 127.0.0.1, localhost, ::1, "
        "VIGIL_HOST and PUBLIC_URL's host, comma-separated ('*': any).",
    )
    api_tokens: SecretStr | None = Field(
        None, description="Bearer tokens of the ingest API, comma-separated."
    )
    api_tokens_file: Path | None = Field(
        None, description="A file of ingest API tokens, one a line ('#' starts a comment)."
    )
    demo_token: SecretStr | None = Field(
        None,
        description="The token of the demo stream `vigil run` starts (made by it, each start).",
    )
    live_late_minutes: float = Field(
        60.0, ge=0, description="How late a live point may come and still be scored."
    )
    live_max_ahead_minutes: float = Field(
        1440.0,
        gt=0,
        description="How far ahead of the server's clock a live point may be (a day).",
    )
    live_stale_minutes: float = Field(
        5.0, gt=0, description="A live series with no point for this long is marked stale."
    )
    live_scoring: bool = Field(
        True, description="Score live series in this process (off: only take points in)."
    )
    scoring_processes: int = Field(
        default_factory=lambda: min(os.cpu_count() or 1, 4),
        gt=0,
        le=64,
        description="Processes that score live series, the series split between them: "
        "'vigil run''s own, or with VIGIL_REDIS_URL as many scoring chains on Celery workers "
        "(default: the CPU count, at most 4; give every worker the same number).",
    )
    max_request_mb: float = Field(5.0, gt=0, description="Largest ingest request body, in MB.")
    max_runs: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        gt=0,
        description="Most detection runs (and evaluations, model fits) going at once on this "
        "machine; one more is refused with 'the server is busy' (default: the CPU count).",
    )
    run_abandoned_seconds: float = Field(
        60.0, gt=0, description="A run no page has asked about for this long is stopped."
    )
    idle_timeout_seconds: int = Field(
        30, gt=0, description="A connection that sends nothing for this long is closed."
    )
    model_key: SecretStr | None = Field(
        None,
        description="Key that signs saved models; without it one is made in the data directory.",
    )
    files_url: str = Field(
        "",
        description="Where uploaded data sets, saved models and results are kept: a directory "
        "or an object store path such as s3://bucket/vigil (default: DATA_DIR).",
    )
    database_url: str = Field(
        "",
        description="Where Vigil keeps its state: a sqlite:/// or postgresql:// URL "
        "(default: DATA_DIR/vigil.sqlite).",
    )
    redis_url: str | None = Field(
        None,
        description="Redis for what workers share (sign-in rate limits); unset: kept per process.",
    )
    auth: Literal["on", "off"] | None = Field(
        None,
        description="Whether pages need a login; on by default unless serving on 127.0.0.1.",
    )
    users_file: Path | None = Field(
        None, description="Users, their roles and password hashes (default DATA_DIR/users.json)."
    )
    secret_key: SecretStr | None = Field(
        None,
        description="Key that signs session cookies; without it one is made in the data directory.",
    )

    webhook_secret: SecretStr | None = Field(
        None,
        description="Key that signs webhook calls (whsec_ and base64, or at least 32 "
        "characters); without it one is made in the data directory (vigil rules "
        "webhook-secret prints it).",
    )

    @property
    def smtp(self) -> SmtpConfig | None:
        """How to send email, or None when no SMTP server is set."""
        if not self.smtp_host:
            return None
        return SmtpConfig(
            self.smtp_host,
            self.smtp_port,
            security=self.smtp_security,
            username=self.smtp_username,
            password=None if self.smtp_password is None else self.smtp_password.get_secret_value(),
            sender=self.alert_from,
        )

    @field_validator("alert_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return known_zone(value)

    @field_validator("model_key", "secret_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None, info) -> SecretStr | None:
        if value is None:
            return None
        problem = short_key_problem(_variable(info.field_name), value.get_secret_value().encode())
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_key(cls, value: SecretStr | None, info) -> SecretStr | None:
        if value is None:
            return None
        problem = short_key_problem(
            _variable(info.field_name), key_of_secret(value.get_secret_value())
        )
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _database_in_data_dir(self) -> Settings:
        if not self.database_url:
            self.database_url = sqlite_url(self.data_dir / "vigil.sqlite")
        if not self.files_url:
            self.files_url = str(self.data_dir)
        return self

    def tokens(self) -> set[str]:
        """The ingest API's bearer tokens, from the setting and the tokens file, and the demo
        stream's."""
        found = set()
        if self.demo_token is not None:
            found.add(self.demo_token.get_secret_value())
        if self.api_tokens is not None:
            found |= {t.strip() for t in self.api_tokens.get_secret_value().split(",")}
        if self.api_tokens_file is not None and self.api_tokens_file.is_file():
            for line in self.api_tokens_file.read_text(encoding="utf-8").splitlines():
                found.add(line.split("#", 1)[0].strip())
        return {token for token in found if token}

    @property
    def auth_required(self) -> bool:
        """Sign-in is needed unless turned off, or by default when only this machine can
        reach the server."""
        if self.auth is not None:
            return self.auth == "on"
        return self.host not in LOOPBACK

    @property
    def served_hosts(self) -> frozenset[str] | None:
        """The host names requests may be addressed to (a page elsewhere that points its own
        name at this server, DNS rebinding, is refused); None when any will do."""
        extra = {name.strip().lower() for name in self.allowed_hosts.split(",") if name.strip()}
        if "*" in extra:
            return None
        names = {*LOOPBACK, urlsplit(self.public_url).hostname or "", *extra}
        if self.host not in ANY_ADDRESS:
            names.add(self.host.strip("[]").lower())
        return frozenset(name for name in names if name)

    @property
    def users_path(self) -> Path:
        return self.users_file or self.data_dir / "users.json"

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)


def _variable(field: str) -> str:
    return f"VIGIL_{field.upper()}"


def settings_problems(error: ValidationError) -> list[str]:
    """One line per setting that is not valid, naming its environment variable."""
    lines = []
    for problem in error.errors():
        field = str(problem["loc"][0]) if problem["loc"] else ""
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(message if message.startswith("VIGIL_") else f"{_variable(field)}: {message}")
    return lines


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment, with explicit overrides (from the CLI) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
