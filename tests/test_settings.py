import os
import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from bot.errors import ConfigError
from bot.posting import settings
from bot.posting.settings import load, parse_duration, require_server

ROOT = Path(__file__).resolve().parent.parent

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
    ("POST_INTERVAL", "0s", "POST_INTERVAL='0s' must be at least 1 second"),
    ("POST_VISIBILITY", "loud", "POST_VISIBILITY='loud' must be one of"),
    ("POST_LANGUAGE", "English", "POST_LANGUAGE='English'"),
    ("MASTODON_API_BASE_URL", "example.social", "must be a server URL like https://mastodon.example"),
    ("BLUESKY_SERVICE", "bsky.social", "BLUESKY_SERVICE='bsky.social' must be a server URL like https://bsky.social"),
    ("DATABASE_URL", "mysql://x", "DATABASE_URL must start with"),
    ("POOL_SIZE", "many", "POOL_SIZE='many' is not an integer"),
    ("POOL_SIZE", "0", "POOL_SIZE='0' must be at least 2"),
    ("POOL_SIZE", "1", "POOL_SIZE='1' must be at least 2"),
    ("POOL_SIZE", "100000000", "POOL_SIZE='100000000' must be at most 20000"),
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


def test_env_example_is_the_table_and_its_values_are_the_defaults():
    from dotenv import dotenv_values

    text = (ROOT / ".env.example").read_text(encoding="utf8")
    assert text == settings.env_example(), "run: python -m bot.posting.settings"
    example = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    assert list(example) == [s.name for s in settings.SETTINGS]
    assert load(example) == settings.defaults()


def test_readme_settings_table_is_the_table():
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    assert settings.readme_with_table(readme) == readme, "run: python -m bot.posting.settings"
    assert all(f"| `{s.name}` |" in readme for s in settings.SETTINGS)


def test_settings_fields_come_from_the_table():
    import dataclasses

    assert [f.name for f in dataclasses.fields(settings.Settings)] == [s.field for s in settings.SETTINGS]
    assert all(s.help and s.default == s.default.strip() for s in settings.SETTINGS)


def test_worker_defaults_live_in_settings_not_in_the_sampling_modules():
    from bot.curation import candidates

    assert not hasattr(candidates, "DEFAULT_POOL_SIZE") and not hasattr(candidates, "DEFAULT_TEMPERATURES")
    assert (settings.defaults().pool_size, settings.defaults().temperatures) == (300, (0.5, 0.7, 0.9))


@pytest.fixture
def in_empty_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for s in settings.SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    return tmp_path


def test_dotenv_is_read_without_changing_the_environment(in_empty_dir):
    (in_empty_dir / ".env").write_text("MASTODON_API_BASE_URL=https://example.social\nPOST_INTERVAL=2h\n")
    s = load()
    assert (s.api_base_url, s.interval) == ("https://example.social", 7200)
    assert "MASTODON_API_BASE_URL" not in os.environ and "POST_INTERVAL" not in os.environ


def test_environment_wins_over_dotenv_but_an_empty_variable_does_not_hide_it(in_empty_dir, monkeypatch):
    (in_empty_dir / ".env").write_text("MASTODON_ACCESS_TOKEN=from-dotenv\nPOST_INTERVAL=2h\n")
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", "")
    monkeypatch.setenv("POST_INTERVAL", "3h")
    s = load()
    assert (s.access_token, s.interval) == ("from-dotenv", 3 * 3600)


def test_dotenv_with_a_byte_order_mark_keeps_its_first_line(in_empty_dir):
    (in_empty_dir / ".env").write_bytes("MASTODON_API_BASE_URL=https://example.social\r\nPOST_INTERVAL=2h\r\n"
                                        .encode("utf-8-sig"))
    s = load()
    assert (s.api_base_url, s.interval) == ("https://example.social", 7200)


def test_shipped_model_is_found_wherever_the_bot_runs(in_empty_dir):
    assert (settings.defaults().model_dir / "mashup_config.json").is_file()
    example = {k: v or "" for k, v in dotenv_values(ROOT / ".env.example").items()}
    (in_empty_dir / ".env").write_text((ROOT / ".env.example").read_text())
    assert (load().model_dir / "mashup_config.json").is_file() and load(example) == settings.defaults()


@pytest.mark.parametrize("text", ["nan", "inf", "100", "0", "-1", "0.5,nan", ""])
def test_temperatures_must_be_finite_and_usable(text):
    env = {**BASE, "TEMPERATURES": text}
    if text == "":  # empty: the default
        assert load(env).temperatures == (0.5, 0.7, 0.9)
        return
    with pytest.raises(ConfigError, match=re.escape(f"TEMPERATURES={text!r} must be numbers above 0 and at most 3")):
        load(env)


def test_jitter_must_be_shorter_than_the_interval():
    with pytest.raises(ConfigError, match=re.escape("POST_JITTER (25200 s) must be shorter than POST_INTERVAL (21600 s)")):
        load({**BASE, "POST_JITTER": "7h"})
    assert load({**BASE, "POST_JITTER": "1h"}).jitter == 3600


def test_retry_base_must_not_exceed_retry_max():
    with pytest.raises(ConfigError, match=re.escape("RETRY_BASE (60 s) must not be longer than RETRY_MAX (30 s)")):
        load({**BASE, "RETRY_BASE": "1m", "RETRY_MAX": "30s"})


def test_etiquette_settings():
    s = load({**BASE, "POST_HASHTAGS": "#bots, mashup_2", "QUIET_HOURS": "23:00-07:30 Europe/Berlin",
              "MAX_POSTS_PER_DAY": "4"})
    assert s.post_hashtags == ("#bots", "#mashup_2") and s.max_posts_per_day == 4
    assert (s.quiet_hours.start, s.quiet_hours.end, s.quiet_hours.zone) == (23 * 60, 7 * 60 + 30, "Europe/Berlin")
    assert settings.defaults().post_hashtags == () and settings.defaults().quiet_hours is None


@pytest.mark.parametrize("name, value, message", [
    ("POST_HASHTAGS", "#bots #123", "POST_HASHTAGS: '#123' is not a hashtag"),
    ("POST_HASHTAGS", "c++", "POST_HASHTAGS: 'c++' is not a hashtag"),
    ("QUIET_HOURS", "night", "QUIET_HOURS='night' is not a time window"),
    ("QUIET_HOURS", "23:00-25:00", "QUIET_HOURS='23:00-25:00' has a time that does not exist"),
    ("QUIET_HOURS", "07:00-07:00", "QUIET_HOURS='07:00-07:00' is empty or the whole day"),
    ("QUIET_HOURS", "23:00-07:00 Mars/Olympus", "QUIET_HOURS='23:00-07:00 Mars/Olympus': 'Mars/Olympus' is not a known time zone"),
    ("MAX_POSTS_PER_DAY", "-1", "MAX_POSTS_PER_DAY='-1' must be at least 0"),
    ("BLAS_THREADS", "0", "BLAS_THREADS='0' must be at least 1"),
])
def test_bad_etiquette_values_are_named(name, value, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        load({**BASE, name: value})


@pytest.mark.parametrize("text, secret, expected", [
    ("Max retries exceeded", "x", "Max retries exceeded"),  # a short token must not mangle words
    ("GET /api?access_token=abc-123&x=1 failed", "abc-123", "GET /api?access_token=[token]&x=1 failed"),
    ("Authorization: Bearer abc-123", "abc-123", "Authorization: Bearer [token]"),
    ("abc-1234 is another token", "abc-123", "abc-1234 is another token"),
])
def test_redaction_replaces_the_whole_token_only(text, secret, expected):
    assert settings.redact(text, secret) == expected


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


def test_a_misspelled_setting_is_named_with_the_closest_known_one(tmp_path):
    import subprocess
    import sys

    (tmp_path / ".env").write_text("POST_INTERVALL=2h\nPOOL_SIZE=30\n")
    env = {k: v for k, v in os.environ.items() if k not in ("POST_INTERVAL", "POOL_SIZE")}
    env["POST_VISIBILTY"] = "public"  # in the environment, a near miss is named too
    done = subprocess.run([sys.executable, "-m", "bot", "--dry-run", "--seed", "1"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    warnings = [line for line in done.stderr.splitlines() if line.startswith("bot: warning:")]
    assert "bot: warning: POST_INTERVALL is not a setting; did you mean POST_INTERVAL?" in warnings
    assert "bot: warning: POST_VISIBILTY is not a setting; did you mean POST_VISIBILITY?" in warnings
    assert len(warnings) == 2
