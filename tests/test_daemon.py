"""The `bot` worker as a real process: killed, stopped and restarted against a local server."""
import os
import signal
import subprocess
import sys
import time

import pytest

from bot.store import open_store
from fake_mastodon import TOKEN


def _env(server, database_url, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTODON_", "POST_", "DATABASE_URL"))}
    env.update({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN, "DATABASE_URL": database_url,
                "POST_INTERVAL": "1h", "CHECK_EVERY": "0.2s", "RETRY_BASE": "0.1s", "RETRY_MAX": "0.3s",
                "POOL_SIZE": "60", "PYTHONUNBUFFERED": "1", **extra})
    return env


def _start(server, database_url, tmp_path, **extra):
    log = open(tmp_path / f"bot-{time.monotonic_ns()}.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=_env(server, database_url, **extra),
                            stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def _output(proc) -> str:
    proc.log.seek(0)
    return proc.log.read()


def _wait_for(condition, timeout=300.0, proc=None):
    """Wait for condition (a guard against a hang, not a time budget: start-up and pool building
    take what the machine's load makes them take)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"bot exited early with {proc.returncode}:\n{_output(proc)}")
        time.sleep(0.05)
    pytest.fail(f"timed out{':' + chr(10) + _output(proc) if proc else ''}")


def _stop(proc, timeout=60.0) -> float:
    """SIGTERM, then wait for the exit (how fast it exits is measured in bench/shutdown.py)."""
    began = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout)
    return time.monotonic() - began


def _posted(database_url) -> list:
    store = open_store(database_url)
    try:
        return [p for p in store.posts() if p.state == "posted"]
    finally:
        store.close()


def test_killed_after_the_server_accepted_then_restarted_posts_exactly_once(mastodon_server, database_url, tmp_path):
    mastodon_server.faults = [("stall", 60)]
    first = _start(mastodon_server, database_url, tmp_path)
    _wait_for(mastodon_server.accepted.is_set, proc=first)
    first.kill()  # SIGKILL: the server has the status, the bot never heard back
    first.wait(10)
    mastodon_server.release.set()
    store = open_store(database_url)
    assert [p.state for p in store.posts()] == ["pending"]
    store.close()

    second = _start(mastodon_server, database_url, tmp_path)
    _wait_for(lambda: _posted(database_url), proc=second)
    time.sleep(0.6)  # a few more post checks: nothing new may happen
    _stop(second)
    assert second.returncode == 0
    assert len(mastodon_server.statuses) == 1
    assert _posted(database_url)[0].status_id == mastodon_server.statuses[0]["id"]
    assert "settled unfinished post" in _output(second)


def test_sigterm_during_retries_exits_cleanly_and_the_restart_posts_once(mastodon_server, database_url, tmp_path):
    mastodon_server.faults = [("status", 503)] * 10_000
    first = _start(mastodon_server, database_url, tmp_path, RETRY_BASE="1s", RETRY_MAX="2s")
    _wait_for(lambda: mastodon_server.post_attempts >= 2, proc=first)
    _stop(first)
    assert first.returncode == 0, _output(first)
    store = open_store(database_url)
    [intent] = store.posts()
    store.close()
    assert intent.state == "pending" and not mastodon_server.statuses

    mastodon_server.faults = []
    second = _start(mastodon_server, database_url, tmp_path)
    _wait_for(lambda: _posted(database_url), proc=second)
    _stop(second)
    assert mastodon_server.texts() == [intent.text]
    store = open_store(database_url)
    delivery = store.delivery("post", str(intent.slot), "mastodon")
    store.close()
    assert set(mastodon_server.keys_seen) == {delivery.key} and delivery.state == "sent"


def test_bad_token_stops_with_one_clear_line(mastodon_server, database_url, tmp_path):
    mastodon_server.valid_tokens.clear()
    proc = _start(mastodon_server, database_url, tmp_path)
    proc.wait(30)
    out = _output(proc)
    assert proc.returncode == 1
    errors = [line for line in out.splitlines() if line.startswith("bot: error:")]
    assert len(errors) == 1 and "refused the access token (401)" in errors[0] and "bot register" in errors[0]
    assert "Traceback" not in out and TOKEN not in out
    assert mastodon_server.post_attempts == 0


def test_second_signal_forces_the_exit(mastodon_server, database_url, tmp_path):
    mastodon_server.faults = [("stall", 60)]
    proc = _start(mastodon_server, database_url, tmp_path)
    _wait_for(mastodon_server.accepted.is_set, proc=proc)
    proc.send_signal(signal.SIGTERM)
    _wait_for(lambda: "finishing the current job" in _output(proc), proc=proc)  # the first one was handled
    proc.send_signal(signal.SIGTERM)
    proc.wait(5)
    assert proc.returncode == 1 and "exiting now" in _output(proc)


def test_logs_one_line_per_event_and_never_the_token(mastodon_server, database_url, tmp_path):
    mastodon_server.faults = [("status", 503)]
    proc = _start(mastodon_server, database_url, tmp_path)
    _wait_for(lambda: _posted(database_url), proc=proc)
    _stop(proc)
    out = _output(proc)
    assert TOKEN not in out
    assert "pool regenerated in" in out and "candidates passed every filter" in out
    assert "song halves: " in out and "paper phrases: " in out  # each stage's counts
    assert "server error 503; retry 1" in out
    posted = [line for line in out.splitlines() if " posted " in line]
    assert len(posted) == 1 and mastodon_server.statuses[0]["url"] in posted[0]


def test_register_writes_the_token_to_a_private_env_file(mastodon_server, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("POST_INTERVAL=2h\nMASTODON_ACCESS_TOKEN=old\n")
    done = subprocess.run([sys.executable, "-m", "bot", "register", "--server", mastodon_server.url, "--code",
                           "good-code", "--env-file", str(env_file)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "/oauth/authorize" in done.stdout and "response_type=code" in done.stdout
    assert env_file.stat().st_mode & 0o777 == 0o600
    lines = env_file.read_text().splitlines()
    assert lines == ["POST_INTERVAL=2h", "MASTODON_ACCESS_TOKEN=token-from-code",
                     f"MASTODON_API_BASE_URL={mastodon_server.url}"]


def test_register_with_a_wrong_code_fails_cleanly(mastodon_server, tmp_path):
    done = subprocess.run([sys.executable, "-m", "bot", "register", "--server", mastodon_server.url, "--code",
                           "wrong", "--env-file", str(tmp_path / ".env")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.startswith("bot: error: exchanging the code")
    assert "Traceback" not in done.stderr and not (tmp_path / ".env").exists()


def test_check_reports_account_bot_flag_and_limits(mastodon_server, tmp_path):
    env = _env(mastodon_server, f"sqlite:///{tmp_path / 's.sqlite3'}")
    done = subprocess.run([sys.executable, "-m", "bot", "check"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "@mashups" in done.stdout and "bot flag: set" in done.stdout and "500 characters" in done.stdout


def test_unreachable_server_is_waited_out_not_fatal(database_url, tmp_path):
    import socket


    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()

    class Down:
        url = f"http://127.0.0.1:{port}"

    proc = _start(Down, database_url, tmp_path)
    # Two retries logged and the process still there: it waits the outage out (however long the
    # start takes on a loaded machine), it does not give up.
    _wait_for(lambda: _output(proc).count("; retry ") >= 2, proc=proc)
    _stop(proc)
    assert proc.returncode == 0
    assert "connection refused" in _output(proc) and "Traceback" not in _output(proc)


def _catches_sigterm(pid: int) -> bool:
    """Whether the process has a SIGTERM handler in place (SigCgt in /proc/<pid>/status)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            mask = next(line.split()[1] for line in f if line.startswith("SigCgt:"))
    except (OSError, StopIteration):
        return False
    return bool(int(mask, 16) & (1 << (signal.SIGTERM - 1)))


def _loaded(pid: int, library: str) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as f:
            return library in f.read()
    except OSError:
        return False


def test_sigterm_during_start_up_exits_0_and_posts_nothing(mastodon_server, database_url, tmp_path):
    proc = _start(mastodon_server, database_url, tmp_path)
    # The worker is still importing its heavy modules (numpy comes first): a supervisor's stop
    # request now must not kill it with 143.
    _wait_for(lambda: _loaded(proc.pid, "numpy"), proc=proc)
    assert _catches_sigterm(proc.pid)
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)
    assert proc.returncode == 0, _output(proc)
    assert mastodon_server.post_attempts == 0 and "Traceback" not in _output(proc)
