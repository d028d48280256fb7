"""Settings: the corpus every command serves by default, and those of `irbot run`, from the environment or
`.env` (see `.env.example`, which lists every one)."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


def _shipped_corpus() -> Path:
    """The sample corpus: bot/shipped_corpus/ in an installed package (pyproject.toml puts corpus/ there),
    corpus/ beside bot/ in a checkout or an editable install."""
    here = Path(__file__).resolve().parent
    installed = here / "shipped_corpus"
    return installed if installed.is_dir() else here.parent / "corpus"


SHIPPED_CORPUS = _shipped_corpus()


def default_corpus() -> str:
    """The corpus a command serves when given none: $IRBOT_CORPUS, else the shipped corpus/."""
    return os.environ.get("IRBOT_CORPUS") or str(SHIPPED_CORPUS)


TOKEN_SHAPE = re.compile(r"\d{1,20}:[A-Za-z0-9_-]{30,64}")


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one line and never contains the token."""


def _id_list(value) -> list[int]:
    if value is None or value == "":
        return []
    if isinstance(value, (int, str)):
        value = [v for v in re.split(r"[,\s]+", str(value).strip()) if v]
    return [int(v) for v in value]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      case_sensitive=False)

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_base_file_url: str = "https://api.telegram.org/file/bot"
    # The secret Telegram sends with every webhook call (irbot run --webhook URL); --secret-token overrides.
    telegram_webhook_secret: SecretStr | None = None
    irbot_corpus: str | None = None
    irbot_cache: str | None = None
    irbot_state: str = "irbot-state.sqlite3"   # a SQLite file, or postgresql://... (bot.conversation.open_store)
    # Days a conversation's context, and an answer's buttons, are kept after they were last written.
    irbot_keep_days: float = Field(30.0, gt=0)
    # Users who may use /reload and /stats (comma-separated Telegram user ids).
    irbot_admin_ids: Annotated[list[int], NoDecode] = []
    # If set, the only group chats the bot stays in (comma-separated chat ids); it leaves any other group.
    irbot_allowed_chats: Annotated[list[int], NoDecode] = []
    # Questions a user may ask, and a chat may receive, per window (seconds); 0 turns a limit off.
    irbot_user_questions: int = Field(20, ge=0)
    irbot_chat_questions: int = Field(60, ge=0)
    irbot_rate_window: float = Field(60.0, gt=0)
    # Telegram's flood limits, enforced by python-telegram-bot's AIORateLimiter.
    irbot_flood_per_second: float = Field(30.0, gt=0)
    irbot_flood_group_per_minute: float = Field(20.0, gt=0)
    irbot_flood_retries: int = Field(3, ge=0)
    # When the Bot API fails (5xx, dropped connection): retries, and the first pause (doubling each time).
    irbot_network_retries: int = Field(4, ge=0)
    irbot_retry_backoff: float = Field(0.5, ge=0)
    # Seconds to wait for the Bot API (connect, read, write); long polling adds its own timeout on top.
    telegram_timeout: float = Field(10.0, gt=0)
    # Updates processed at once (one chat's updates always one after another, in order).
    irbot_concurrency: int = Field(16, ge=1)
    # The trained reader chooses the quote and decides whether any answers; off: the hand rules alone.
    irbot_reader: bool = True
    # Seconds between looks at the corpus for changed release files (then served, and alerts sent); 0: never.
    irbot_watch_seconds: float = Field(30.0, ge=0)

    @field_validator("irbot_state", mode="before")
    @classmethod
    def _state(cls, value):
        return str(value) if isinstance(value, Path) else value

    @field_validator("irbot_admin_ids", "irbot_allowed_chats", mode="before")
    @classmethod
    def _ids(cls, value):
        return _id_list(value)

    def token(self) -> str:
        """The bot token, checked for the shape BotFather gives it; raises SettingsError otherwise."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value().strip():
            raise SettingsError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and put it in the "
                                "environment or .env")
        token = self.telegram_bot_token.get_secret_value().strip()
        if not TOKEN_SHAPE.fullmatch(token):
            raise SettingsError("TELEGRAM_BOT_TOKEN is malformed: expected '<digits>:<secret>' as @BotFather gives it")
        return token


def load_settings(**overrides) -> Settings:
    """Settings from the environment and .env (overrides win); a bad value is a one-line SettingsError."""
    try:
        return Settings(**overrides)
    except ValidationError as e:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']).upper()}: {err['msg']}" for err in e.errors())
        raise SettingsError(f"bad setting: {problems}") from None
