import pytest

from bot.errors import ConfigError
from bot.posting.settings import load, parse_duration, require_server

BASE = {"MASTODON_API_BASE_URL": "https://example.social", "MASTODON_ACCESS_TOKEN": "secret-token"}


def test_defaults_are_sensible():
    s = load(dict(BASE))
    assert (s.interval, s.visibility, s.language) == (6 * 3600, "unlisted", "en")
    assert s.database_url.startswith("sqlite:///") and s.temperatures == (0.5, 0.7, 0.9)


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("6h", 21600), ("1d", 86400), ("2.5", 2.5)])
def test_durations(text, seconds):
    assert parse_duration("X", text) == seconds


@pytest.mark.parametrize("name, value, message", [
    ("POST_INTERVAL", "soon", "POST_INTERVAL='soon' is not a duration"),
    ("POST_INTERVAL", "0s", "POST_INTERVAL must be at least"),
    ("POST_VISIBILITY", "loud", "POST_VISIBILITY='loud' must be one of"),
    ("POST_LANGUAGE", "English", "POST_LANGUAGE='English'"),
    ("MASTODON_API_BASE_URL", "example.social", "must be a server URL"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
    ("POOL_SIZE", "many", "POOL_SIZE='many' is not an integer"),
    ("POOL_SIZE", "0", "POOL_SIZE='0' must be at least 1"),
    ("TEMPERATURES", "warm", "TEMPERATURES='warm'"),
    ("LOG_LEVEL", "chatty", "LOG_LEVEL='CHATTY'"),
])
def test_bad_values_are_named_with_a_hint(name, value, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load({**BASE, name: value})


def test_missing_server_or_token_says_how_to_fix_it():
    with pytest.raises(ConfigError, match="MASTODON_ACCESS_TOKEN is not set; run `bot register`"):
        require_server(load({"MASTODON_API_BASE_URL": "https://example.social"}))
    with pytest.raises(ConfigError, match="MASTODON_API_BASE_URL is not set"):
        require_server(load({}))


def test_description_for_logs_hides_the_token():
    text = load(dict(BASE)).describe()
    assert "secret-token" not in text and "access_token=set" in text


def test_env_example_documents_every_setting_with_its_default():
    from pathlib import Path

    from dotenv import dotenv_values

    example = {k: v or "" for k, v in dotenv_values(Path(__file__).resolve().parent.parent / ".env.example").items()}
    documented = load(example)
    defaults = load({"MASTODON_API_BASE_URL": example["MASTODON_API_BASE_URL"]})
    assert documented == defaults
    import dataclasses

    assert len(example) == len(dataclasses.fields(documented))


def test_reply_settings_defaults_and_errors():
    s = load(dict(BASE))
    assert (s.replies, s.reply_check, s.reply_max_age) == (True, 60, 86400)
    assert (s.reply_per_account, s.reply_per_hour, s.reply_bot_limit, s.reply_max_depth) == (3, 30, 1, 3)
    off = load({**BASE, "REPLIES": "off", "REPLY_CHECK": "5s", "REPLY_BOT_LIMIT": "0"})
    assert (off.replies, off.reply_check, off.reply_bot_limit) == (False, 5, 0)
    with pytest.raises(ConfigError, match="REPLIES='maybe' must be on or off"):
        load({**BASE, "REPLIES": "maybe"})
    with pytest.raises(ConfigError, match="REPLY_PER_HOUR='-1' must be at least 0"):
        load({**BASE, "REPLY_PER_HOUR": "-1"})
