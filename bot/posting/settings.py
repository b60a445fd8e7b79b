"""Settings from the environment (and `.env`), parsed and checked once at start-up.

SETTINGS below is the one table of settings: each row is the variable's name, its default (as
written in `.env`), the parser that turns the text into the value, and what it is for. `load()`,
the `Settings` fields, the check of `.env.example` and the README's settings table all derive from
it, so adding a setting is one row here (and a line in `.env.example`, which a test checks).
"""
from __future__ import annotations

import io
import math
import os
import re
from dataclasses import dataclass, fields, make_dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from ..errors import ConfigError

VISIBILITIES = ("public", "unlisted", "private", "direct")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
MAX_TEMPERATURE = 3.0  # above this the samples are noise; `bot evaluate` shows the pass rates
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


# --- parsers: (name, text) -> value; each raises ConfigError naming the variable and the value ---

def parse_duration(name: str, text: str) -> float:
    """'90s', '15m', '6h', '1d' or plain seconds."""
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{name}={text!r} is not a duration; write it like 90s, 15m, 6h or 1d")
    return float(m.group(1)) * _UNITS[m.group(2)]


def duration(minimum: float = 0.0) -> Callable[[str, str], float]:
    def parse(name: str, text: str) -> float:
        value = parse_duration(name, text)
        if value < minimum:
            raise ConfigError(f"{name}={text!r} must be at least {minimum:g} second{'' if minimum == 1 else 's'}")
        return value
    return parse


def integer(minimum: int = 0, maximum: int | None = None) -> Callable[[str, str], int]:
    def parse(name: str, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r} is not an integer") from None
        if value < minimum:
            raise ConfigError(f"{name}={text!r} must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise ConfigError(f"{name}={text!r} must be at most {maximum}")
        return value
    return parse


# Halves in one pool at most: about 90 CPU seconds a refresh and some hundreds of MB (a 1,000-half
# pool takes 4.4 CPU s, bench/README.md); far past any use, short of running a machine out of memory.
POOL_SIZE_MIN = 2  # one song half and one paper phrase
POOL_SIZE_MAX = 20_000


def choice(options: tuple[str, ...], upper: bool = False) -> Callable[[str, str], str]:
    def parse(name: str, text: str) -> str:
        value = text.upper() if upper else text
        if value not in options:
            raise ConfigError(f"{name}={value!r} must be one of {', '.join(options)}")
        return value
    return parse


def switch(name: str, text: str) -> bool:
    value = text.lower()
    if value in ("on", "true", "yes", "1"):
        return True
    if value in ("off", "false", "no", "0"):
        return False
    raise ConfigError(f"{name}={value!r} must be on or off")


def share(name: str, text: str) -> float:
    """A fraction from 0 to 1: '0.15' or '15%'."""
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        value = float("nan")
    if not 0 <= value <= 1:
        raise ConfigError(f"{name}={text!r} must be a share from 0 to 1, e.g. 0.15 or 15%")
    return value


def optional_seed(name: str, text: str) -> int | None:
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ConfigError(f"{name}={text!r} must be a whole number from 0, or empty for a random seed")
    return value


def optional_text(name: str, text: str) -> str | None:
    return text or None


def server_url(name: str, text: str) -> str | None:
    """A server's address: scheme and host, no path (the API lives under /api at the root; a
    profile's or a page's address is refused, naming the server's)."""
    if not text:
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        example = "https://bsky.social" if name.startswith("BLUESKY") else "https://mastodon.example"
        raise ConfigError(f"{name}={text!r} must be a server URL like {example}")
    if parsed.path.strip("/") or parsed.query or parsed.fragment:
        origin = f"{parsed.scheme}://{parsed.netloc}"
        raise ConfigError(f"{name}={text} is the address of a page on {origin}, not of the server: use {origin}")
    return text.rstrip("/")


def language(name: str, text: str) -> str:
    if not re.fullmatch(r"[a-z]{2,3}", text):
        raise ConfigError(f"{name}={text!r} must be an ISO 639 code such as en")
    return text


def sqlite_path(url: str) -> Path | None:
    """The absolute path of an SQLite URL's file, None for other URLs and sqlite:///:memory:.
    After `sqlite:///` comes the file's path: sqlite:///bot.sqlite3 is relative to the working
    directory, sqlite:////var/lib/bot/bot.sqlite3 (four slashes) is absolute."""
    if not url.startswith("sqlite:///") or url == "sqlite:///:memory:":
        return None
    return Path(os.path.abspath(url[len("sqlite:///"):]))


def database_url(name: str, text: str) -> str:
    """An SQLite URL whose directory exists (the bot creates the file, never directories), or a
    PostgreSQL URL."""
    if not text.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise ConfigError(f"{name} must start with sqlite:///, postgres:// or postgresql://")
    path = sqlite_path(text)
    if path is not None and not path.parent.is_dir():
        written = text[len("sqlite:///"):]
        relative = "" if written.startswith("/") else (
            f"; a path after three slashes is relative to the working directory: for /{written} write "
            f"sqlite:////{written}")
        raise ConfigError(f"{name}={text} is the file {path}, and its directory {path.parent} does not exist "
                          f"(create it; the bot does not){relative}")
    return text


def temperatures(name: str, text: str) -> tuple[float, ...]:
    """Comma-separated sampling temperatures, each finite, above 0 and at most MAX_TEMPERATURE."""
    try:
        values = tuple(float(t) for t in text.split(",") if t.strip())
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(t) and 0 < t <= MAX_TEMPERATURE for t in values):
        raise ConfigError(f"{name}={text!r} must be numbers above 0 and at most {MAX_TEMPERATURE:g}, "
                          "separated by commas, e.g. 0.5,0.7,0.9")
    return values


def shipped_model_dir() -> Path:
    """The model that ships with the bot, from any working directory: bot/shipped_model/ when the
    package is installed (pip install ., a wheel, pipx, requirements.txt), else model_weights/
    beside the package's source (a checkout, an editable install). setup.py installs the one as
    the other."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "shipped_model"
    return installed if installed.is_dir() else package.parent / "model_weights"


default_model_dir = shipped_model_dir  # the name the rest of the code knew


def model_dir(name: str, text: str) -> Path:
    return Path(text).expanduser() if text else shipped_model_dir()


_TAG = re.compile(r"#?(\w*[^\W\d_]\w*)")


def hashtags(name: str, text: str) -> tuple[str, ...]:
    """'#bots #mashups' or 'bots,mashups' -> ('#bots', '#mashups')."""
    tags = []
    for part in re.split(r"[\s,]+", text.strip()):
        if not part:
            continue
        m = _TAG.fullmatch(part)
        if not m:
            raise ConfigError(f"{name}: {part!r} is not a hashtag; write letters, digits and _ "
                              "(at least one letter), e.g. #bots #mashups")
        tags.append("#" + m.group(1))
    return tuple(tags)


NETWORKS = ("mastodon", "bluesky")


def networks(name: str, text: str) -> tuple[str, ...]:
    """'mastodon', 'bluesky' or 'mastodon,bluesky' -> the networks named, in NETWORKS' order."""
    names = [n.lower() for n in re.split(r"[\s,]+", text.strip()) if n]
    if not names or any(n not in NETWORKS for n in names):
        raise ConfigError(f"{name}={text!r} must name mastodon, bluesky or both, e.g. mastodon,bluesky")
    return tuple(n for n in NETWORKS if n in names)


_HANDLE = re.compile(r"([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?")


def bluesky_handle(name: str, text: str) -> str | None:
    """A handle (mashups.bsky.social; a leading @ is dropped; case does not matter) or a DID."""
    if not text:
        return None
    value = text.strip().removeprefix("@")
    if re.fullmatch(r"did:[a-z]+:[A-Za-z0-9._:%-]+", value):
        return value
    if _HANDLE.fullmatch(value.lower()):
        return value.lower()
    raise ConfigError(f"{name}={text!r} is not a Bluesky handle; write it like mashups.bsky.social (without the @)")


def app_password(name: str, text: str) -> str | None:
    """A Bluesky app password: four groups of four base32 characters (abcd-efgh-ijkl-mnop), the
    form every atproto PDS makes them in (@atproto/pds: account-manager/helpers/password)."""
    if not text:
        return None
    if not re.fullmatch(r"[a-z2-7]{4}(-[a-z2-7]{4}){3}", text, re.IGNORECASE):
        raise ConfigError(f"{name} is not an app password (like abcd-efgh-ijkl-mnop); make one in Bluesky's "
                          "Settings > Privacy and security > App passwords: the bot never needs the account's own password")
    return text


@dataclass(frozen=True)
class QuietHours:
    """A daily window of local time (start <= t < end, wrapping past midnight) with no posts."""

    start: int  # minutes after midnight
    end: int
    zone: str | None  # IANA time zone; None: the host's local time

    def __str__(self) -> str:
        hm = lambda m: f"{m // 60:02d}:{m % 60:02d}"  # noqa: E731
        return f"{hm(self.start)}-{hm(self.end)}" + (f" {self.zone}" if self.zone else "")


def quiet_hours(name: str, text: str) -> QuietHours | None:
    """'23:00-07:00' (host's local time) or '23:00-07:00 Europe/Berlin'; empty: none."""
    if not text:
        return None
    m = re.fullmatch(r"(\d{1,2}):(\d\d)\s*-\s*(\d{1,2}):(\d\d)(?:\s+(\S+))?", text.strip())
    hint = "write it like 23:00-07:00, optionally followed by a time zone such as Europe/Berlin"
    if not m:
        raise ConfigError(f"{name}={text!r} is not a time window; {hint}")
    h1, m1, h2, m2 = (int(g) for g in m.groups()[:4])
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ConfigError(f"{name}={text!r} has a time that does not exist; {hint}")
    if (h1, m1) == (h2, m2):
        raise ConfigError(f"{name}={text!r} is empty or the whole day; {hint}")
    zone = m.group(5)
    if zone:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{name}={text!r}: {zone!r} is not a known time zone (e.g. Europe/Berlin)") from None
    return QuietHours(h1 * 60 + m1, h2 * 60 + m2, zone)


_OWNER = re.compile(r"@?([A-Za-z0-9_]+(?:@[A-Za-z0-9.-]+\.[A-Za-z]{2,})?)")


def owner_handle(name: str, text: str) -> str | None:
    """A Mastodon handle: alice (an account on the bot's server) or alice@their.server; a leading
    @ is dropped."""
    if not text:
        return None
    m = _OWNER.fullmatch(text.strip())
    if not m:
        raise ConfigError(f"{name}={text!r} is not a Mastodon handle; write it like alice or alice@mastodon.example")
    return m.group(1)


# --- the table ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    default: str  # as written in .env; "" means unset
    parse: Callable[[str, str], Any]  # (name, text) -> value, raising ConfigError
    help: str  # one line, for .env.example and the README

    @property
    def field(self) -> str:
        return FIELD_NAMES.get(self.name, self.name.lower())


SETTINGS: tuple[Setting, ...] = (
    Setting("MASTODON_API_BASE_URL", "", server_url, "the server's URL, e.g. https://mastodon.example (`bot register` sets it)"),
    Setting("MASTODON_ACCESS_TOKEN", "", optional_text, "the bot account's access token (`bot register` sets it)"),
    Setting("NETWORKS", "mastodon", networks, "where the bot posts: mastodon, or mastodon,bluesky (bluesky alone: `bot check` and the dry run only; the worker needs Mastodon too for now)"),
    Setting("BLUESKY_SERVICE", "https://bsky.social", server_url, "the Bluesky account's server: https://bsky.social for accounts made in the app"),
    Setting("BLUESKY_HANDLE", "", bluesky_handle, "the bot's Bluesky handle, e.g. mashups.bsky.social (`bot register --bluesky` sets it)"),
    Setting("BLUESKY_APP_PASSWORD", "", app_password, "an app password of that account, never its own password (`bot register --bluesky` sets it)"),
    Setting("POST_INTERVAL", "6h", duration(1), "time between posts: 90s, 15m, 6h, 1d"),
    Setting("POST_JITTER", "0s", duration(), "each slot's post moves later by up to this much (fixed per slot); less than POST_INTERVAL"),
    Setting("POST_VISIBILITY", "unlisted", choice(VISIBILITIES), "public, unlisted, private or direct"),
    Setting("POST_CONTENT_WARNING", "", optional_text, "content warning (spoiler text) on every post; empty: none"),
    Setting("POST_LANGUAGE", "en", language, "ISO 639 code of the posts' language"),
    Setting("POST_HASHTAGS", "", hashtags, "hashtags appended to every post, e.g. #bots (some servers ask for one); empty: none"),
    Setting("QUIET_HOURS", "", quiet_hours, "no posts in this daily window of local time, e.g. 23:00-07:00 or 23:00-07:00 Europe/Berlin; empty: none"),
    Setting("MAX_POSTS_PER_DAY", "0", integer(0), "at most this many posts in any 24 hours (some servers set a cap); 0: no cap"),
    Setting("DATABASE_URL", "sqlite:///bot.sqlite3", database_url, "state: sqlite:///path or postgresql://... (Heroku's Postgres add-on sets it)"),
    Setting("ALLOW_SQLITE_ON_HEROKU", "off", switch, "on: run on a Heroku dyno with SQLite anyway (its disk, and the bot's memory of what it posted, is wiped at every restart)"),
    Setting("BOT_MODEL_DIR", "", model_dir, "the model and its evidence files; empty: the shipped model, wherever the bot runs"),
    Setting("POOL_SIZE", "300", integer(POOL_SIZE_MIN, POOL_SIZE_MAX), "halves sampled per pool refresh: half song titles, half paper phrases (each of those kept from several sampled)"),
    Setting("TEMPERATURES", "0.5,0.7,0.9", temperatures, "sampling temperatures, comma-separated (chosen by `bot evaluate`: bench/README.md)"),
    Setting("SEED", "", optional_seed, "random seed of the pools and choices, for reproducible runs (`bot --dry-run --seed` shows what such a worker posts next); empty: random"),
    Setting("POOL_REFRESH", "1h", duration(1), "how often the pool is regenerated"),
    Setting("BLAS_THREADS", "1", integer(1), "threads numpy's BLAS may use; 1 is fastest for this model (bench/README.md)"),
    Setting("CHECK_EVERY", "30s", duration(0.05), "how often the worker checks whether a post is due"),
    Setting("RETRY_BASE", "2s", duration(0.01), "first retry delay; doubles each attempt, with jitter; at most RETRY_MAX"),
    Setting("RETRY_MAX", "10m", duration(0.01), "longest delay between retries"),
    Setting("REQUEST_TIMEOUT", "30s", duration(0.1), "HTTP timeout for each call to the server"),
    Setting("LOG_LEVEL", "INFO", choice(LOG_LEVELS, upper=True), "DEBUG, INFO, WARNING or ERROR"),
    # Learning from the audience (bot/posting/learner.py; README "Learning from the audience").
    Setting("LEARNING", "on", switch, "learn from favourites, boosts and replies which posts the audience likes: on, or off to freeze what was learned"),
    Setting("ENGAGEMENT_AFTER", "24h", duration(1), "a post's engagement counts are read this long after it was posted"),
    Setting("ENGAGEMENT_FINAL", "72h", duration(1), "and read again, for the last time, this long after"),
    Setting("ENGAGEMENT_CHECK", "1h", duration(0.05), "how often the engagement job looks for posts to read"),
    Setting("EXPLORATION", "0.15", share, "share of posts that are a random candidate the variety rule allows, so the bot keeps learning"),
    # Replies to mentions (bot/posting/replies.py; README "Replies").
    Setting("REPLIES", "on", switch, "replies to mentions: on or off"),
    Setting("REPLY_CHECK", "60s", duration(0.05), "how often mentions are fetched"),
    Setting("REPLY_MAX_AGE", "1d", duration(), "older mentions (e.g. from while the bot was down) get no reply"),
    Setting("REPLY_PER_ACCOUNT", "3", integer(0), "replies to one account per hour"),
    Setting("REPLY_PER_HOUR", "30", integer(0), "replies to everyone per hour"),
    Setting("REPLY_BOT_LIMIT", "1", integer(0), "replies per day to an account with the bot flag"),
    Setting("REPLY_MAX_DEPTH", "3", integer(0), "no reply in a thread that holds this many of the bot's own replies"),
    # The owner's approval queue (bot/posting/approval.py; README "Approval mode").
    Setting("APPROVAL", "off", switch, "on: before each slot the owner gets the top candidates as direct messages and picks what is posted"),
    Setting("APPROVAL_OWNER", "", owner_handle, "the owner's handle (alice, or alice@their.server): the only account whose answers count"),
    Setting("APPROVAL_CANDIDATES", "3", integer(1), "candidates sent to the owner before each slot, one direct message each (at most 9)"),
    Setting("APPROVAL_AHEAD", "2h", duration(1), "how long before a slot its candidates are sent; shorter than POST_INTERVAL"),
    Setting("APPROVAL_TIMEOUT_ACTION", "post", choice(("post", "skip")), "no answer by the slot: post the worker's own pick (said in the log and bot stats), or skip the slot"),
)
# Fields whose names are not the variable's in lower case.
FIELD_NAMES = {"MASTODON_API_BASE_URL": "api_base_url", "MASTODON_ACCESS_TOKEN": "access_token",
               "POST_INTERVAL": "interval", "POST_JITTER": "jitter", "POST_VISIBILITY": "visibility",
               "POST_CONTENT_WARNING": "content_warning", "POST_LANGUAGE": "language",
               "BOT_MODEL_DIR": "model_dir"}
SECRETS = frozenset({"MASTODON_ACCESS_TOKEN", "BLUESKY_APP_PASSWORD"})


def _describe(self) -> str:
    """The settings for logs: the secrets only as set or unset."""
    hidden = {s.field for s in SETTINGS if s.name in SECRETS}
    shown = {f.name: getattr(self, f.name) for f in fields(self)}
    return ", ".join(f"{k}={('set' if v else 'unset') if k in hidden else v}" for k, v in shown.items())


def _annotation(setting: Setting):
    return getattr(setting.parse, "__annotations__", {}).get("return", Any)


Settings = make_dataclass("Settings", [(s.field, _annotation(s)) for s in SETTINGS], frozen=True,
                          namespace={"describe": _describe, "__doc__": "Parsed settings, one field per row of SETTINGS."})


def _check_together(s) -> None:
    """Checks that involve more than one setting."""
    if s.jitter >= s.interval:
        raise ConfigError(f"POST_JITTER ({s.jitter:g} s) must be shorter than POST_INTERVAL ({s.interval:g} s); "
                          "a longer jitter pushes posts past their slot and most are dropped")
    if s.engagement_final <= s.engagement_after:
        raise ConfigError(f"ENGAGEMENT_FINAL ({s.engagement_final:g} s) must be later than ENGAGEMENT_AFTER "
                          f"({s.engagement_after:g} s)")
    if s.approval and not s.approval_owner:
        raise ConfigError("APPROVAL=on needs APPROVAL_OWNER, the handle of the account that picks the posts "
                          "(e.g. alice or alice@mastodon.example)")
    if s.approval and s.approval_ahead >= s.interval:
        raise ConfigError(f"APPROVAL_AHEAD ({s.approval_ahead:g} s) must be shorter than POST_INTERVAL "
                          f"({s.interval:g} s): the owner is asked about one slot at a time")
    if s.approval_candidates > 9:
        raise ConfigError(f"APPROVAL_CANDIDATES={s.approval_candidates} must be at most 9 (one direct message each)")
    if s.retry_base > s.retry_max:
        raise ConfigError(f"RETRY_BASE ({s.retry_base:g} s) must not be longer than RETRY_MAX ({s.retry_max:g} s)")


def read_dotenv(path: Path) -> dict[str, str]:
    """A .env file's values, without touching os.environ; a byte-order mark is ignored (Windows
    editors write one). A missing file is empty."""
    from dotenv import dotenv_values

    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"cannot read {path}: {e}") from None
    return {k: v or "" for k, v in dotenv_values(stream=io.StringIO(text)).items()}


def merged_environment(environ: dict[str, str] | None = None, dotenv_path: Path | None = None) -> dict[str, str]:
    """The environment over ./.env: a variable set in the environment wins, unless it is empty
    (an empty `MASTODON_ACCESS_TOKEN=` exported by a shell or a unit file does not hide .env's)."""
    merged = read_dotenv(dotenv_path if dotenv_path is not None else Path.cwd() / ".env")
    for name, value in (os.environ if environ is None else environ).items():
        if value.strip():
            merged[name] = value
    return merged


def load(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Settings from env; by default from the environment over ./.env (see merged_environment).
    Raises ConfigError naming the first bad setting."""
    if env is None:
        env = merged_environment() if dotenv else dict(os.environ)
    values = {s.field: s.parse(s.name, (env.get(s.name) or "").strip() or s.default) for s in SETTINGS}
    settings = Settings(**values)
    _check_together(settings)
    return settings


def misspelled(env: dict[str, str], known_only: bool = False) -> list[str]:
    """Warnings for variables in env that look like a setting's name but are not one
    ("POST_INTERVALL: not a setting; did you mean POST_INTERVAL?"). known_only: env is a .env
    file, where every name is meant for the bot, so an unknown one is named even when nothing is
    close."""
    import difflib

    names = [s.name for s in SETTINGS]
    out = []
    for key in sorted(env):
        if key in names:
            continue
        close = difflib.get_close_matches(key.upper(), names, n=1, cutoff=0.8)
        if close:
            out.append(f"{key} is not a setting; did you mean {close[0]}?")
        elif known_only:
            out.append(f"{key} is not a setting (see .env.example); it is ignored")
    return out


def defaults() -> Settings:
    """Every setting at its default (no environment, no .env)."""
    return load({})


def markdown_table() -> str:
    """The README's settings table."""
    rows = ["| variable | default | what it is for |", "| --- | --- | --- |"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "(empty)"
        rows.append(f"| `{s.name}` | {default} | {s.help.replace('|', '/')} |")
    return "\n".join(rows)


def redact(text: str, secret: str | None) -> str:
    """text with the secret replaced by [token], where it stands as a whole token (not inside
    another word: a short secret must not mangle unrelated words)."""
    if not secret:
        return text
    return re.sub(rf"(?<![\w.~+/-]){re.escape(secret)}(?![\w.~+/=-])", "[token]", text)


def with_hashtags(title: str, hashtags: tuple[str, ...]) -> str:
    """The status text: the title, then the operator's POST_HASHTAGS (exempt from the no-hashtag
    filter, which screens what the model wrote)."""
    return " ".join((title, *hashtags))


def require_server(settings: Settings) -> None:
    """The daemon and `bot check` need a server and a token."""
    if not settings.api_base_url:
        raise ConfigError("MASTODON_API_BASE_URL is not set; run `bot register --server https://your.server` "
                          "(it writes .env), or put your server's URL in .env (see .env.example)")
    if not settings.access_token:
        raise ConfigError("MASTODON_ACCESS_TOKEN is not set; run `bot register` to get one (see README)")


def require_mastodon(settings: Settings) -> None:
    """The worker needs Mastodon too for now: it reads its history, engagement and mentions there."""
    if "mastodon" not in settings.networks:
        raise ConfigError(f"NETWORKS={','.join(settings.networks)}: the worker needs Mastodon too for now (it reads "
                          "its history, engagement and mentions there); set NETWORKS=mastodon,bluesky")


def require_bluesky(settings: Settings) -> None:
    """The Bluesky outlet and `bot check` need a handle and an app password."""
    if not settings.bluesky_handle:
        raise ConfigError("BLUESKY_HANDLE is not set; run `bot register --bluesky --handle ...` (see README)")
    if not settings.bluesky_app_password:
        raise ConfigError("BLUESKY_APP_PASSWORD is not set; run `bot register --bluesky --handle ...` (see README)")


def require_durable_state(settings: Settings, environ=None) -> None:
    """On a Heroku dyno (DYNO set), SQLite lives on a disk wiped at every restart: refuse it."""
    dyno = (os.environ if environ is None else environ).get("DYNO")
    if dyno and settings.database_url.startswith("sqlite:") and not settings.allow_sqlite_on_heroku:
        raise ConfigError(f"this is a Heroku dyno ({dyno}) and DATABASE_URL is SQLite, which every restart wipes; "
                          "add the Postgres add-on (heroku addons:create heroku-postgresql), or set "
                          "ALLOW_SQLITE_ON_HEROKU=on to run anyway")


# --- the documents that derive from the table -----------------------------------------------------

ENV_EXAMPLE_HEADER = """\
# Copy to .env (never commit it) or set these in the environment; a variable set (non-empty) in
# the environment wins over .env. `bot register` fills in the first two. Every value shown is the
# default; an empty value means unset. Generated from bot/posting/settings.py:
# python -m bot.posting.settings rewrites this file and the README's settings table.
"""
README_START = "<!-- settings table: generated from bot/posting/settings.py -->"
README_END = "<!-- end of settings table -->"


def env_example() -> str:
    """.env.example's text: each setting's help as a comment, then NAME=default."""
    return ENV_EXAMPLE_HEADER + "".join(f"\n# {s.help}\n{s.name}={s.default}\n" for s in SETTINGS)


def readme_with_table(readme: str) -> str:
    """The README with the text between its settings-table markers replaced by markdown_table()."""
    start, end = readme.index(README_START) + len(README_START), readme.index(README_END)
    return readme[:start] + "\n" + markdown_table() + "\n" + readme[end:]


if __name__ == "__main__":
    root = Path(__file__).resolve().parent.parent.parent
    (root / ".env.example").write_text(env_example(), encoding="utf8")
    readme = root / "README.md"
    readme.write_text(readme_with_table(readme.read_text(encoding="utf8")), encoding="utf8")
    print(f"wrote {root / '.env.example'} and the settings table in {readme}")
