"""`bot health` (is a worker running, when did it last post) and `bot check`'s state-path check
(could a worker running as this user keep its SQLite state there)."""
import os
import pwd
import re
import sys
import tempfile
from pathlib import Path

import pytest

from bot import cli
from bot.store import open_store


def _posted(store, slot: int, text: str, at: int) -> None:
    assert store.record_intent(slot, text, text.lower(), f"key-{slot}", at)
    store.mark_posted(f"key-{slot}", f"status-{slot}", None, at + 1)


def test_health_says_whether_a_worker_holds_the_database_and_what_it_last_posted(database_url, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", database_url)
    store = open_store(database_url)
    _posted(store, 1_700_000_000, "Older (Recognition Mix)", 1_700_000_000)
    _posted(store, 1_700_003_600, "Warriors (Generative Models Remix)", 1_700_003_600)
    assert store.record_intent(1_700_007_200, "Unsent", "unsent", "key-unsent", 1_700_007_200)

    assert cli.main(["health"]) == 1  # nothing holds the lock: no worker runs
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"worker: NOT running (no worker holds {store.description})"
    assert out[1].startswith("last post: 2023-11-14 23:13:21 UTC (") and out[1].endswith("Warriors (Generative Models Remix)")
    assert out[2].startswith("unfinished: 1 ")

    assert store.try_lead()  # as a worker does at its start, for as long as it runs: the probe took nothing
    try:
        assert cli.main(["health"]) == 0
        assert capsys.readouterr().out.startswith("worker: running (")
    finally:
        store.close()
    assert cli.main(["health"]) == 1  # the worker's lock went with it


def test_health_before_any_worker_started_creates_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.sqlite3'}")
    assert cli.main(["health"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"worker: NOT running (no worker has started here: sqlite {tmp_path / 'state.sqlite3'} "
                               "does not exist yet")
    assert lines[1:] == ["last post: none yet"]
    assert list(tmp_path.iterdir()) == []


# --- bot check: the state path -------------------------------------------------------------------

def _check_as_another_user(directory: Path, monkeypatch, mastodon_server) -> tuple[int, str]:
    """`bot check` run by a user who cannot write directory: 'nobody' in a forked child when the
    tests run as root (root may write anywhere), else this user with the directory made read-only."""
    from fake_mastodon import TOKEN

    monkeypatch.setenv("MASTODON_API_BASE_URL", mastodon_server.url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{directory / 'state.sqlite3'}")
    if os.geteuid() != 0:
        directory.chmod(0o555)
        try:
            import contextlib
            import io

            err = io.StringIO()
            with contextlib.redirect_stderr(err):
                code = cli.main(["check"])
            return code, err.getvalue()
        finally:
            directory.chmod(0o755)
    cli.main(["check"])  # as root first: every module the check needs is loaded before the fork
    nobody = pwd.getpwnam("nobody")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (runs in the child)
        code = 99
        try:
            os.close(read)
            os.setgroups([])
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
            sys.stderr = open(write, "w", closefd=False)  # pytest's capture object stays in the parent
            code = cli.main(["check"])
            sys.stderr.flush()
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read) as pipe:
        err = pipe.read()
    _, status = os.waitpid(child, 0)
    return os.waitstatus_to_exitcode(status), err


def test_check_fails_when_the_worker_could_not_write_its_state_directory(mastodon_server, monkeypatch, capsys):
    directory = Path(tempfile.mkdtemp(prefix="bot-state-"))  # not under pytest's 0700 tree: 'nobody' must enter it
    try:
        directory.chmod(0o755)
        code, err = _check_as_another_user(directory, monkeypatch, mastodon_server)
        assert code == 1, err
        assert re.fullmatch(rf"bot: error: user \w+ cannot create files in {directory} \(owner \w+\), where the worker "
                            r"keeps state\.sqlite3 and its -wal, -shm and \.lock files; .*\n", err), err
        assert not (directory / "state.sqlite3").exists()
    finally:
        for p in directory.iterdir():
            p.unlink()
        directory.rmdir()


def test_check_passes_where_the_worker_can_write(mastodon_server, monkeypatch, capsys, tmp_path):
    from fake_mastodon import TOKEN

    monkeypatch.setenv("MASTODON_API_BASE_URL", mastodon_server.url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'state.sqlite3'}")
    assert cli.main(["check"]) == 0
    assert f"state: sqlite {tmp_path / 'state.sqlite3'} does not exist yet" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []


def test_check_names_the_absolute_path_of_a_relative_sqlite_url(mastodon_server, monkeypatch, capsys, tmp_path):
    from fake_mastodon import TOKEN

    (tmp_path / "var").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MASTODON_API_BASE_URL", mastodon_server.url)
    monkeypatch.setenv("MASTODON_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/state.sqlite3")  # three slashes: relative
    assert cli.main(["check"]) == 0
    assert f"state: sqlite {tmp_path}/var/state.sqlite3 does not exist yet" in capsys.readouterr().out
    open_store("sqlite:///var/state.sqlite3").close()  # as the worker's first start leaves it
    assert cli.main(["check"]) == 0
    assert f"state: sqlite {tmp_path}/var/state.sqlite3, 0 posts, 0 unfinished" in capsys.readouterr().out
