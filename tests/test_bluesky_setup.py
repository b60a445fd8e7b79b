"""Setting up Bluesky: the settings, `bot register --bluesky` and `bot check` against the reference
PDS, and one line for every way they can fail."""
from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from bot.errors import ConfigError
from bot.posting.settings import load, read_dotenv, require_bluesky


def bot(*args, cwd, env=None, typed: str | None = None):
    """`bot ARGS` in cwd, typed (or nothing) on its standard input; its own session, so that
    getpass reads that input, not a terminal."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("MASTODON_", "BLUESKY_", "NETWORKS",
                                                                      "DATABASE_URL", "POST_"))}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env={**clean, **(env or {})},
                          capture_output=True, text=True, timeout=120, start_new_session=True,
                          **({"input": typed} if typed is not None else {"stdin": subprocess.DEVNULL}))


def one_error_line(done, message):
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"bot: error: {message}"]


def test_networks_handle_and_app_password_settings():
    s = load({"NETWORKS": "Bluesky, mastodon", "BLUESKY_HANDLE": "@Mashups.bsky.social",
              "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mn2p"})
    assert s.networks == ("mastodon", "bluesky") and s.bluesky_handle == "mashups.bsky.social"
    assert s.bluesky_service == "https://bsky.social"
    assert "abcd-efgh" not in s.describe() and "bluesky_app_password=set" in s.describe()
    assert load({"BLUESKY_HANDLE": "did:plc:abc123"}).bluesky_handle == "did:plc:abc123"
    assert load({}).networks == ("mastodon",)


@pytest.mark.parametrize("name, value, message", [
    ("NETWORKS", "twitter", "must name mastodon, bluesky or both"),
    ("NETWORKS", ",", "must name mastodon, bluesky or both"),
    ("BLUESKY_HANDLE", "not a handle", "is not a Bluesky handle"),
    ("BLUESKY_APP_PASSWORD", "my-own-password", "is not an app password"),
    ("BLUESKY_SERVICE", "bsky.social", "must be a server URL"),
])
def test_bad_bluesky_settings_are_named(name, value, message):
    with pytest.raises(ConfigError, match=message) as e:
        load({name: value})
    assert name in str(e.value) and ("password" not in name.lower() or value not in str(e.value))


def test_bluesky_needs_a_handle_and_an_app_password():
    with pytest.raises(ConfigError, match="BLUESKY_HANDLE is not set; run `bot register --bluesky"):
        require_bluesky(load({"NETWORKS": "bluesky"}))
    with pytest.raises(ConfigError, match="BLUESKY_APP_PASSWORD is not set"):
        require_bluesky(load({"BLUESKY_HANDLE": "bot.test"}))


def test_register_checks_the_app_password_labels_the_profile_and_writes_env(pds, tmp_path):
    account = pds.create_account()
    env_file = tmp_path / ".env"
    env_file.write_text("MASTODON_API_BASE_URL=https://mastodon.example\nMASTODON_ACCESS_TOKEN=tok\n# keep me\n")
    done = bot("register", "--bluesky", "--handle", account.handle, "--service", pds.url, "--env-file", str(env_file),
               cwd=tmp_path, typed=account.app_password + "\n")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr and account.app_password not in done.stdout + done.stderr
    written = read_dotenv(env_file)
    assert written["BLUESKY_HANDLE"] == account.handle and written["BLUESKY_APP_PASSWORD"] == account.app_password
    assert written["BLUESKY_SERVICE"] == pds.url and written["NETWORKS"] == "mastodon,bluesky"
    assert written["MASTODON_ACCESS_TOKEN"] == "tok" and "# keep me" in env_file.read_text()
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    [profile] = pds.records(account.did, "app.bsky.actor.profile")
    assert profile["value"]["labels"]["values"] == [{"val": "bot"}]
    assert "labelled the profile as a bot" in done.stdout

    checked = bot("check", cwd=tmp_path, env={"NETWORKS": "bluesky", "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    # The Bluesky account is checked and reported; Bluesky alone is not a configuration the worker runs.
    assert checked.returncode == 1 and checked.stderr.strip() == (
        "bot: error: NETWORKS=bluesky: the worker needs Mastodon too for now (it reads its history, engagement "
        "and mentions there); set NETWORKS=mastodon,bluesky")
    assert f"replies on Bluesky: on, mentions checked every" in checked.stdout
    assert f"bluesky account: @{account.handle} on {pds.url}, {account.did}" in checked.stdout
    assert "bluesky bot label: set" in checked.stdout and "300 graphemes" in checked.stdout
    assert "30 logins per 5 minutes" in checked.stdout and not (tmp_path / "s.db").exists()


def test_check_says_when_the_label_is_missing(pds, tmp_path):
    account = pds.create_account()
    done = bot("check", cwd=tmp_path, env={"NETWORKS": "bluesky", "BLUESKY_SERVICE": pds.url,
                                           "BLUESKY_HANDLE": account.handle,
                                           "BLUESKY_APP_PASSWORD": account.app_password,
                                           "DATABASE_URL": f"sqlite:///{tmp_path / 's.db'}"})
    assert done.returncode == 1 and "the worker needs Mastodon too" in done.stderr
    assert "bluesky bot label: NOT set (run `bot register --bluesky` again" in done.stdout


def test_register_with_a_wrong_app_password_writes_nothing(pds, tmp_path):
    account = pds.create_account()
    done = bot("register", "--bluesky", "--handle", account.handle, "--service", pds.url,
               "--app-password", "abcd-abcd-abcd-abcd", "--env-file", str(tmp_path / ".env"), cwd=tmp_path)
    one_error_line(done, f"Bluesky refused the login of {account.handle} on {pds.url} (Invalid identifier or "
                         "password); check BLUESKY_HANDLE and BLUESKY_APP_PASSWORD (an app password, from "
                         "Settings > Privacy and security > App passwords)")
    assert not (tmp_path / ".env").exists() and pds.records(account.did, "app.bsky.actor.profile") == []


def test_register_refuses_an_accounts_own_password_before_any_call(tmp_path):
    done = bot("register", "--bluesky", "--handle", "mashups.bsky.social", "--service", "http://127.0.0.1:9",
               "--app-password", "hunter2-my-real-password", "--env-file", str(tmp_path / ".env"), cwd=tmp_path)
    one_error_line(done, "the app password is not an app password (like abcd-efgh-ijkl-mnop); make one in "
                         "Bluesky's Settings > Privacy and security > App passwords: the bot never needs the "
                         "account's own password")


def test_register_without_a_handle_or_an_app_password_is_one_line(tmp_path):
    one_error_line(bot("register", "--bluesky", cwd=tmp_path),
                   "--handle is missing; pass the bot's Bluesky handle, e.g. --handle mashups.bsky.social")
    one_error_line(bot("register", "--bluesky", "--handle", "mashups.bsky.social", "--env-file",
                       str(tmp_path / ".env"), cwd=tmp_path),
                   "no app password was entered (end of input); run `bot register --bluesky --handle "
                   "mashups.bsky.social` again, or pass it with --app-password")


def test_register_needs_a_server_or_bluesky():
    done = subprocess.run([sys.executable, "-m", "bot", "register"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "one of the arguments --server --bluesky is required" in done.stderr
