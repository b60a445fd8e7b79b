"""`bot --dry-run` runs the worker's own choice: for the same seed and state it names the post the
worker then makes. And the worker process loads its model once."""
import json
import subprocess
import sys
import threading
import time

import pytest

from fake_mastodon import TOKEN
from test_daemon import _env, _output, _posted as _posts, _start, _stop, _wait_for


def _dry_run(server, database_url, tmp_path, **extra) -> dict:
    done = subprocess.run([sys.executable, "-m", "bot", "--dry-run", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, env=_env(server, database_url, **extra))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_preview_names_the_post_the_worker_makes_for_the_same_seed_and_state(mastodon_server, database_url,
                                                                                 tmp_path):
    # A new worker: the preview samples the pool the worker's first refill samples (seed SEED + 0).
    preview = _dry_run(mastodon_server, database_url, tmp_path, SEED="5", POST_INTERVAL="20s")
    assert preview["pool"] == "sampled" and preview["would_post"]
    assert not (tmp_path / "bot.sqlite3").exists()  # a preview writes no state
    first = _start(mastodon_server, database_url, tmp_path, SEED="5", POST_INTERVAL="20s")
    _wait_for(lambda: _posts(database_url), proc=first)
    _stop(first)
    assert mastodon_server.texts() == [preview["would_post"]]

    # With state: the worker's stored pool, what it posted before (variety) and its learner.
    preview = _dry_run(mastodon_server, database_url, tmp_path, SEED="6", POST_INTERVAL="20s")
    assert preview["pool"] == "stored" and preview["would_post"] not in mastodon_server.texts()
    second = _start(mastodon_server, database_url, tmp_path, SEED="6", POST_INTERVAL="20s")
    _wait_for(lambda: len(_posts(database_url)) == 2, proc=second)
    _stop(second)
    assert mastodon_server.texts()[1] == preview["would_post"], _output(second)


def test_the_worker_loads_its_model_once_for_posts_and_replies(mastodon_server, tmp_path, monkeypatch):
    from bot import runtime
    from bot.posting import daemon
    from bot.posting.settings import load

    loads = []
    real = runtime.load_model
    monkeypatch.setattr(runtime, "load_model", lambda paths: loads.append(paths) or real(paths))
    alice, _ = mastodon_server.add_account("alice")
    mention = mastodon_server.post_as(alice, "@mashups make one about transformers")
    settings = load({"MASTODON_API_BASE_URL": mastodon_server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "DATABASE_URL": f"sqlite:///{tmp_path / 'state.sqlite3'}", "POOL_SIZE": "60",
                     "CHECK_EVERY": "0.2s", "REPLY_CHECK": "0.2s", "REPLIES": "on"})
    stop = threading.Event()
    done = []
    thread = threading.Thread(target=lambda: done.append(daemon.run(settings, stop)))
    thread.start()
    deadline = time.monotonic() + 300  # a guard against a hang, not a time budget
    while not (mastodon_server.replies_to(mention["id"]) and _posts(settings.database_url)):
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("no post and reply")
        time.sleep(0.05)
    stop.set()
    thread.join(60)
    assert done == [True] and len(loads) == 1
