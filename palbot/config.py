"""Every setting of palbot in one place (environment variables, and a `.env` file)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class ConfigError(Exception):
    """A setting is missing, malformed or in conflict; the message says which and how to fix it."""


class SlackMode(StrEnum):
    OAUTH = "oauth"
    SINGLE = "single"
    NONE = "none"


HOW_TO_GET = {
    "SLACK_SIGNING_SECRET": "api.slack.com/apps -> your app -> Basic Information -> Signing Secret",
    "SLACK_BOT_TOKEN": "api.slack.com/apps -> your app -> OAuth & Permissions -> Bot User OAuth "
    "Token (xoxb-...)",
    "SLACK_APP_TOKEN": "api.slack.com/apps -> your app -> Basic Information -> App-Level Tokens, "
    "with the connections:write scope (xapp-...)",
    "SLACK_CLIENT_ID": "api.slack.com/apps -> your app -> Basic Information -> App Credentials",
    "SLACK_CLIENT_SECRET": "api.slack.com/apps -> your app -> Basic Information -> App Credentials",
}


def _csv(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [part.strip() for part in str(value).split(",") if part.strip()]


class Settings(BaseSettings):
    """Settings read from the environment (names as in design.md) and from `.env`."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    pal_api_url: str = "https://tavusapi.com"
    palbot_database: Path = Path("palbot.db")
    database_url: SecretStr | None = None  # postgres://… or postgresql://…: use PostgreSQL
    palbot_secret_key: SecretStr | None = None
    palbot_public_url: str | None = None
    palbot_admin_users: Annotated[list[str], NoDecode] = Field(default_factory=list)
    port: int = Field(default=3000, ge=1, le=65535)
    # seconds in-flight PAL API work may finish after SIGTERM (inside Heroku's 30 s)
    palbot_shutdown_grace: float = Field(default=25.0, ge=0, le=600)

    # Tunables beyond design.md's table (all optional).
    pal_api_connect_timeout: float = Field(default=3.0, gt=0, le=60)
    pal_api_read_timeout: float = Field(default=10.0, gt=0, le=300)
    pal_api_deadline: float = Field(default=20.0, gt=0, le=600)
    pal_api_max_retries: int = Field(default=3, ge=0, le=10)
    palbot_poll_interval: float = Field(default=30.0, gt=0, le=3600)
    # Reconciliation: how often open starts are matched against the PAL API, and how long a
    # start must have been open first (longer than any create can take upstream).
    palbot_reconcile_interval: float = Field(default=30.0, gt=0, le=3600)
    palbot_reconcile_grace: float = Field(default=30.0, ge=0, le=3600)
    # Where the PAL account records calls (a JSON object, sent as properties.recording_storage):
    # only when it is set does the Start form offer recording.
    palbot_recording_storage: dict[str, Any] | None = None
    # With DATABASE_URL: PostgreSQL connections each process may hold, and how many store
    # threads use them (one: they take turns at the GIL with the event loop; more overlap the
    # round trips to a distant server)
    palbot_db_pool_size: int = Field(default=8, ge=1, le=64)
    palbot_db_threads: int = Field(default=1, ge=1, le=64)

    @model_validator(mode="after")
    def _threads_within_the_pool(self) -> Settings:
        if self.palbot_db_threads > self.palbot_db_pool_size:
            raise ValueError(
                f"PALBOT_DB_THREADS ({self.palbot_db_threads}) is more than "
                f"PALBOT_DB_POOL_SIZE ({self.palbot_db_pool_size}): each store thread "
                "needs a connection of the pool"
            )
        return self

    @field_validator("palbot_admin_users", mode="before")
    @classmethod
    def _split_admins(cls, value: object) -> list[str]:
        return _csv(value)

    @field_validator("slack_api_url", "pal_api_url", "palbot_public_url", mode="after")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None if value == "" else value
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("database_url", mode="after")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        if not value.get_secret_value().startswith(("postgres://", "postgresql://")):
            raise ValueError("must start with postgres:// or postgresql://")
        return value

    @field_validator("slack_api_url", mode="after")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

    @field_validator("pal_api_url", "palbot_public_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return value.rstrip("/") if value else value

    @model_validator(mode="after")
    def _modes_do_not_conflict(self) -> Settings:
        oauth = bool(self.slack_client_id or self.slack_client_secret)
        if oauth and self.slack_bot_token:
            raise ValueError(
                "SLACK_CLIENT_ID/SLACK_CLIENT_SECRET (multi-workspace OAuth) and SLACK_BOT_TOKEN "
                "(one workspace) are both set: unset one of them"
            )
        if oauth and not (self.slack_client_id and self.slack_client_secret):
            missing = "SLACK_CLIENT_SECRET" if self.slack_client_id else "SLACK_CLIENT_ID"
            raise ValueError(
                f"OAuth mode needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET: "
                f"{missing} is missing"
            )
        return self

    @property
    def mode(self) -> SlackMode:
        if self.slack_client_id and self.slack_client_secret:
            return SlackMode.OAUTH
        if self.slack_bot_token:
            return SlackMode.SINGLE
        return SlackMode.NONE

    @property
    def secret_key_file(self) -> Path:
        return Path(str(self.palbot_database) + ".key")

    def missing_for_http(self) -> list[str]:
        missing = []
        if self.slack_signing_secret is None:
            missing.append("SLACK_SIGNING_SECRET")
        if self.mode is SlackMode.NONE:
            missing.append("SLACK_BOT_TOKEN")
        return missing

    def missing_for_socket(self) -> list[str]:
        missing = []
        if self.slack_app_token is None:
            missing.append("SLACK_APP_TOKEN")
        if self.slack_bot_token is None:
            missing.append("SLACK_BOT_TOKEN")
        return missing


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's errors into one readable ConfigError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]).upper()
            msg = err["msg"].removeprefix("Value error, ")
            lines.append(f"  {loc}: {msg}" if loc else f"  {msg}")
        raise ConfigError("palbot's configuration is invalid:\n" + "\n".join(lines)) from None


def explain_missing(missing: list[str]) -> str:
    lines = ["palbot cannot talk to Slack yet; these variables are missing:"]
    for name in missing:
        lines.append(f"  {name}: {HOW_TO_GET.get(name, '')}")
    lines.append(
        "Set them in the environment or in a .env file in this folder "
        "(see README.md, 'Run it'). For multi-workspace installs set SLACK_CLIENT_ID and "
        "SLACK_CLIENT_SECRET instead of SLACK_BOT_TOKEN."
    )
    lines.append(
        "To try palbot without Slack or a Tavus account, start the local PAL API emulator: "
        "`palbot sandbox` (a development tool only)."
    )
    return "\n".join(lines)
