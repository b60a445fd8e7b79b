"""`bot register` against the local server: the bot flag, and one line for every way it can fail."""
import os
import subprocess
import sys

import pytest


def _register(server, *args, stdin=subprocess.DEVNULL, cwd=None):
    return subprocess.run([sys.executable, "-m", "bot", "register", "--server", server.url, *args],
                          capture_output=True, text=True, timeout=60, stdin=stdin, cwd=cwd)


def _one_error_line(done, message):
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [f"bot: error: {message}"]


def test_register_sets_the_bot_flag_asking_for_its_scope(mastodon_server, tmp_path):
    mastodon_server.bot = False
    done = _register(mastodon_server, "--code", "good-code", "--env-file", str(tmp_path / ".env"))
    assert done.returncode == 0, done.stderr
    assert "write%3Aaccounts" in done.stdout or "write:accounts" in done.stdout
    assert mastodon_server.bot is True and "marked the account as a bot" in done.stdout
    assert "write:accounts" in mastodon_server.token_scopes["token-from-code"]


def test_register_can_leave_the_bot_flag_alone(mastodon_server, tmp_path):
    mastodon_server.bot = False
    done = _register(mastodon_server, "--code", "good-code", "--env-file", str(tmp_path / ".env"), "--no-bot-flag")
    assert done.returncode == 0, done.stderr
    assert mastodon_server.bot is False and "write:accounts" not in mastodon_server.token_scopes["token-from-code"]
    assert "MASTODON_ACCESS_TOKEN=token-from-code" in (tmp_path / ".env").read_text()


def test_register_keeps_the_token_when_the_server_refuses_the_flag(mastodon_server, tmp_path):
    mastodon_server.bot = False
    mastodon_server.refuse_profile_update = True
    done = _register(mastodon_server, "--code", "good-code", "--env-file", str(tmp_path / ".env"))
    assert done.returncode == 0, done.stderr
    assert "warning: setting the bot flag: the server said no" in done.stdout
    assert "MASTODON_ACCESS_TOKEN=token-from-code" in (tmp_path / ".env").read_text()


def test_register_with_stdin_closed_is_one_line(mastodon_server, tmp_path):
    done = _register(mastodon_server, "--env-file", str(tmp_path / ".env"))
    _one_error_line(done, "no code was entered (end of input); run `bot register` again, or pass the code with --code")


def test_register_with_an_empty_code_is_one_line(mastodon_server, tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "register", "--server", mastodon_server.url,
                           "--env-file", str(tmp_path / ".env")], input="\n", capture_output=True, text=True,
                          timeout=60)
    _one_error_line(done, "no code was entered; run `bot register` again and paste the code it shows")


def test_register_into_a_missing_directory_fails_before_the_code_is_spent(mastodon_server, tmp_path):
    target = tmp_path / "nowhere" / ".env"
    done = _register(mastodon_server, "--code", "good-code", "--env-file", str(target))
    _one_error_line(done, f"cannot write {target}: directory {target.parent} does not exist; "
                          "create it or pass another --env-file")
    assert "token-from-code" not in mastodon_server.valid_tokens  # the code was not exchanged


def test_register_with_a_bad_server_url_is_one_line(tmp_path):
    class Server:
        url = "mastodon.example"
    done = _register(Server, "--code", "x", "--env-file", str(tmp_path / ".env"))
    _one_error_line(done, "--server='mastodon.example' must be a server URL like https://mastodon.example")


def test_register_help_names_no_real_server():
    done = subprocess.run([sys.executable, "-m", "bot", "register", "--help"], capture_output=True, text=True)
    assert "botsin.space" not in done.stdout and "mastodon.example" in done.stdout and "--no-bot-flag" in done.stdout
