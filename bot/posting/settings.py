"""Settings from the environment (and `.env`), parsed and checked once at start-up.

Every setting, its default and what it is for lives in SETTINGS below; `.env.example` lists them.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from urllib.parse import urlparse

from ..curation.candidates import DEFAULT_POOL_SIZE, DEFAULT_TEMPERATURES
from ..errors import ConfigError

VISIBILITIES = ("public", "unlisted", "private", "direct")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(name: str, text: str) -> float:
    """'90s', '15m', '6h', '1d' or plain seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{name}={text!r} is not a duration; write it like 90s, 15m, 6h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


@dataclass(frozen=True)
class Settings:
    api_base_url: str | None  # MASTODON_API_BASE_URL: the server, e.g. https://botsin.space
    access_token: str | None  # MASTODON_ACCESS_TOKEN: from `bot register`
    interval: float  # POST_INTERVAL: time between posts
    jitter: float  # POST_JITTER: each slot's post moves later by up to this much (fixed per slot)
    visibility: str  # POST_VISIBILITY: public, unlisted, private or direct
    content_warning: str | None  # POST_CONTENT_WARNING: spoiler text, or empty for none
    language: str  # POST_LANGUAGE: ISO 639 code of the posts
    database_url: str  # DATABASE_URL: sqlite:///path or postgresql://...
    model_dir: Path  # BOT_MODEL_DIR: the model and its evidence files
    pool_size: int  # POOL_SIZE: candidates sampled per pool refresh
    temperatures: tuple[float, ...]  # TEMPERATURES: comma-separated sampling temperatures
    pool_refresh: float  # POOL_REFRESH: how often the pool is regenerated
    check_every: float  # CHECK_EVERY: how often the worker checks whether a post is due
    retry_base: float  # RETRY_BASE: first retry delay; doubles each attempt, with jitter
    retry_max: float  # RETRY_MAX: longest delay between retries
    request_timeout: float  # REQUEST_TIMEOUT: HTTP timeout for each call to the server
    log_level: str  # LOG_LEVEL: DEBUG, INFO, WARNING or ERROR
    # Replies to mentions (bot/posting/replies.py; README "Replies").
    replies: bool = True  # REPLIES: on or off
    reply_check: float = 60.0  # REPLY_CHECK: how often mentions are fetched
    reply_max_age: float = 86400.0  # REPLY_MAX_AGE: older mentions (e.g. from while the bot was down) get no reply
    reply_per_account: int = 3  # REPLY_PER_ACCOUNT: replies to one account per hour
    reply_per_hour: int = 30  # REPLY_PER_HOUR: replies to everyone per hour
    reply_bot_limit: int = 1  # REPLY_BOT_LIMIT: replies per day to an account with the bot flag
    reply_max_depth: int = 3  # REPLY_MAX_DEPTH: no reply in a thread that holds this many of our own replies

    def describe(self) -> str:
        """The settings for logs: everything but the token."""
        shown = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "access_token"}
        shown["access_token"] = "set" if self.access_token else "unset"
        return ", ".join(f"{k}={v}" for k, v in shown.items())


def _number(env, name, default, kind=float, minimum=0.0):
    text = env.get(name, "").strip() or str(default)
    try:
        value = kind(text)
    except ValueError:
        raise ConfigError(f"{name}={text!r} is not a{'n integer' if kind is int else ' number'}") from None
    if value < minimum:
        raise ConfigError(f"{name}={text!r} must be at least {minimum}")
    return value


def _duration(env, name, default, minimum=0.0):
    value = parse_duration(name, env.get(name, "").strip() or default)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum:g} seconds")
    return value


def _switch(env, name, default: bool) -> bool:
    text = (env.get(name) or "").strip().lower()
    if not text:
        return default
    if text in ("on", "true", "yes", "1"):
        return True
    if text in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name}={text!r} must be on or off")


def _reply_settings(env) -> dict:
    return dict(
        replies=_switch(env, "REPLIES", True),
        reply_check=_duration(env, "REPLY_CHECK", "60s", minimum=0.05),
        reply_max_age=_duration(env, "REPLY_MAX_AGE", "1d"),
        reply_per_account=_number(env, "REPLY_PER_ACCOUNT", 3, int, 0),
        reply_per_hour=_number(env, "REPLY_PER_HOUR", 30, int, 0),
        reply_bot_limit=_number(env, "REPLY_BOT_LIMIT", 1, int, 0),
        reply_max_depth=_number(env, "REPLY_MAX_DEPTH", 3, int, 0),
    )


def default_model_dir() -> Path:
    """./model_weights, else the one beside this package's source checkout (an editable install)."""
    here = Path("model_weights")
    return here if here.is_dir() else Path(__file__).resolve().parent.parent.parent / "model_weights"


def load(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Settings from env (default: os.environ, after reading ./.env without overriding it)."""
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    get = lambda name, default="": (env.get(name) or "").strip() or default  # noqa: E731

    url = get("MASTODON_API_BASE_URL") or None
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigError(f"MASTODON_API_BASE_URL={url!r} must be a server URL like https://mastodon.social")
        url = url.rstrip("/")
    visibility = get("POST_VISIBILITY", "unlisted")
    if visibility not in VISIBILITIES:
        raise ConfigError(f"POST_VISIBILITY={visibility!r} must be one of {', '.join(VISIBILITIES)}")
    language = get("POST_LANGUAGE", "en")
    if not re.fullmatch(r"[a-z]{2,3}", language):
        raise ConfigError(f"POST_LANGUAGE={language!r} must be an ISO 639 code such as en")
    database_url = get("DATABASE_URL", "sqlite:///bot.sqlite3")
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigError(f"DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
    temps_text = get("TEMPERATURES", ",".join(map(str, DEFAULT_TEMPERATURES)))
    try:
        temperatures = tuple(float(t) for t in temps_text.split(",") if t.strip())
    except ValueError:
        temperatures = ()
    if not temperatures or any(t <= 0 for t in temperatures):
        raise ConfigError(f"TEMPERATURES={temps_text!r} must be positive numbers separated by commas, e.g. 0.5,0.7,0.9")
    log_level = get("LOG_LEVEL", "INFO").upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError(f"LOG_LEVEL={log_level!r} must be DEBUG, INFO, WARNING or ERROR")
    return Settings(
        api_base_url=url,
        access_token=get("MASTODON_ACCESS_TOKEN") or None,
        interval=_duration(env, "POST_INTERVAL", "6h", minimum=1),
        jitter=_duration(env, "POST_JITTER", "0s"),
        visibility=visibility,
        content_warning=get("POST_CONTENT_WARNING") or None,
        language=language,
        database_url=database_url,
        model_dir=Path(get("BOT_MODEL_DIR")) if get("BOT_MODEL_DIR") else default_model_dir(),
        pool_size=_number(env, "POOL_SIZE", DEFAULT_POOL_SIZE, int, 1),
        temperatures=temperatures,
        pool_refresh=_duration(env, "POOL_REFRESH", "1h", minimum=1),
        check_every=_duration(env, "CHECK_EVERY", "30s", minimum=0.05),
        retry_base=_duration(env, "RETRY_BASE", "2s", minimum=0.01),
        retry_max=_duration(env, "RETRY_MAX", "10m", minimum=0.01),
        request_timeout=_duration(env, "REQUEST_TIMEOUT", "30s", minimum=0.1),
        log_level=log_level,
        **_reply_settings(env),
    )


def require_server(settings: Settings) -> None:
    """The daemon and `bot check` need a server and a token."""
    if not settings.api_base_url:
        raise ConfigError("MASTODON_API_BASE_URL is not set; put your server's URL in .env (see .env.example)")
    if not settings.access_token:
        raise ConfigError("MASTODON_ACCESS_TOKEN is not set; run `bot register` to get one (see README)")
