"""What real servers do to a poster: older APIs, refusals, answers that say nothing, keys ignored,
rate limits at start-up. Real Mastodon.py over HTTP to the local server; SQLite and PostgreSQL."""
import logging
import threading
import time

import pytest

from bot.posting import daemon
from bot.posting.gateway import Gateway
from bot.posting.settings import load
from bot.posting.worker import MAX_REJECTED
from fake_mastodon import TOKEN
from test_posting import H, Clock, make_pool, start_worker  # noqa: F401  (make_pool is a fixture)


@pytest.mark.parametrize("v1, limit", [
    (None, 321),  # Mastodon 3.x: v1 with configuration.statuses.max_characters
    ({"uri": "x", "title": "pleroma", "version": "2.7.2 (compatible; Pleroma 2.5.0)", "max_toot_chars": 5000}, 5000),
    ({"uri": "x", "title": "old", "version": "3.0.0"}, 500),  # says nothing: Mastodon's default
])
def test_status_limit_falls_back_to_v1_instance_then_500(mastodon_server, v1, limit):
    mastodon_server.instance_v2 = False
    mastodon_server.max_characters = 321
    mastodon_server.instance_v1 = v1
    assert Gateway(mastodon_server.url, TOKEN, 5).status_limit() == limit


def test_reply_that_is_not_json_is_an_unknown_outcome_retried_with_the_same_key(
        mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("nonjson",)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    published = worker.tick()
    assert published is not None
    assert len(mastodon_server.statuses) == 1 and published.status_id == mastodon_server.statuses[0]["id"]
    assert len(set(mastodon_server.keys_seen)) == 1


def test_server_that_ignores_keys_gets_no_duplicate_after_a_lost_answer(mastodon_server, database_url, make_pool):
    mastodon_server.ignore_keys = True
    mastodon_server.faults = [("drop_after_accept",)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    published = worker.tick()
    assert published is not None and len(mastodon_server.statuses) == 1
    assert mastodon_server.post_attempts == 1  # found among the account's statuses, not sent again
    assert worker.store.last_post().status_id == mastodon_server.statuses[0]["id"]


def test_pending_intent_the_server_now_refuses_is_closed_and_the_slot_posts_the_next(
        mastodon_server, database_url, make_pool):
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock)
    refused = worker._candidates()[0]
    slot = worker.due_slot()
    assert worker.store.record_intent(slot, refused.text, refused.canonical, "key-before-stop", int(clock.t))
    mastodon_server.faults = [("status", 422)]
    restarted = start_worker(mastodon_server, database_url, make_pool, clock)
    published = restarted.tick()
    assert published is not None and published.text != refused.text
    assert mastodon_server.texts() == [published.text]
    [post] = restarted.store.posts()
    assert post.slot == slot and post.state == "posted" and post.text == published.text
    assert restarted.tick() is None and mastodon_server.post_attempts == 2


def test_server_refusing_every_post_costs_a_bounded_number_of_tries_with_backoff_across_slots(
        mastodon_server, database_url, make_pool, caplog):
    mastodon_server.faults = [("status", 422)] * 10_000
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="1h")
    attempts = []
    with caplog.at_level(logging.WARNING, logger="bot"):
        for minutes in range(0, 8 * 60, 10):  # a post check every 10 minutes for 8 hours
            clock.t = 1_800_000_000.0 + minutes * 60
            worker.tick()
            attempts.append(mastodon_server.post_attempts)
    tried_at = sorted({i * 10 // 60 for i in range(len(attempts)) if attempts[i] != (attempts[i - 1] if i else 0)})
    assert tried_at == [0, 1, 3, 7]  # slots tried: then wait 1, 2, 4 slots
    assert mastodon_server.post_attempts == 4 * MAX_REJECTED and not mastodon_server.statuses
    skipped = [r.getMessage() for r in caplog.records if "is skipped" in r.getMessage()]
    assert len(skipped) == 4
    assert worker.store.pending() == []

    mastodon_server.faults = []
    clock.t = 1_800_000_000.0 + 15 * H  # after the back-off (8 slots), the next slot posts and resets it
    assert worker.tick() is not None
    assert worker.store.get_meta("refused_slots") == "0"


def test_rate_limit_at_start_up_waits_for_the_reset(mastodon_server):
    mastodon_server.read_faults = [("ratelimit", 2)]
    settings = load({"MASTODON_API_BASE_URL": mastodon_server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s"})
    began = time.monotonic()
    gateway, account, limit = daemon.connect(settings, threading.Event())
    assert time.monotonic() - began >= 0.8  # the reset is 2 s away at second resolution; backoff is 0.05 s
    assert mastodon_server.read_attempts == 2 and account["id"] == "1" and limit == 500


def test_reconciliation_backs_off_exponentially(mastodon_server, database_url, make_pool):
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock, RETRY_BASE="0.01s", RETRY_MAX="10s")
    best = worker._candidates()[0]
    assert worker.store.record_intent(worker.due_slot(), best.text, best.canonical, "key-1", int(clock.t))
    mastodon_server.read_faults = [("status", 503)] * 5
    delays, delay = [], worker.retry.delay
    worker.retry.delay = lambda error, attempt: delays.append(delay(error, attempt)) or delays[-1]
    worker.tick()
    assert len(delays) == 5
    assert delays[-1] >= 0.08  # 0.01 s doubled four times, at least half of it with jitter
    assert mastodon_server.texts() == [best.text] and worker.store.pending() == []


# --- the database under the worker ---------------------------------------------------------------

def test_postgres_restarted_under_the_worker_is_reconnected(mastodon_server, postgres_cluster, pg_ctl, make_pool):
    database_url = _postgres_url(postgres_cluster)
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="1h")
    assert worker.tick() is not None
    pg_ctl("restart", "-m", "fast")  # every connection is cut
    clock.t += H
    assert worker.tick() is not None
    assert len(mastodon_server.statuses) == 2 and [p.state for p in worker.store.posts()] == ["posted"] * 2


def test_postgres_gone_for_longer_than_the_limit_is_a_clear_error(mastodon_server, postgres_cluster, pg_ctl,
                                                                  make_pool):
    from bot.errors import DatabaseLostError

    worker = start_worker(mastodon_server, _postgres_url(postgres_cluster), make_pool, Clock())
    worker.store.reconnect_for = 1.0
    pg_ctl("stop", "-m", "fast")
    try:
        with pytest.raises(DatabaseLostError, match="connection lost .*gave up after 1 s"):
            worker.store.pool()
    finally:
        pg_ctl("start")
    assert worker.store.pending() == []  # the cluster is back: the next call reconnects


def _postgres_url(sockets) -> str:
    import uuid

    import psycopg

    name = "bot_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return f"postgresql://postgres@/{name}?host={sockets}"


def test_empty_state_reads_the_accounts_statuses_first(mastodon_server, database_url, make_pool):
    clock = Clock()
    earlier = mastodon_server.add_status("Love Is a Gradient Descent", created_at=clock.t - 2 * H)
    newest = mastodon_server.add_status("Dancing Queen of Sparse Attention", created_at=clock.t - H)
    alice, _ = mastodon_server.add_account("alice")
    mention = mastodon_server.post_as(alice, "@mashups one about love")
    mastodon_server.post_as("1", "@alice Love (feat. Graph Networks)", in_reply_to_id=mention["id"],
                            created_at=clock.t - H / 2)  # a reply: not a post
    mastodon_server.post_as("1", "@owner 1. Closer (Sparse Coding Remix)", visibility="direct",
                            created_at=clock.t - H / 3)  # an approval message: not a post
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="3h")
    assert worker.adopt_history() == 2
    assert worker.tick() is None and len(mastodon_server.statuses) == 5  # the last post was an hour ago
    assert worker.next_post_time() == clock.t + 2 * H
    assert {"love is a gradient descent", "dancing queen of sparse attention"} <= worker.store.posted_canonicals()
    assert {p.status_id for p in worker.store.posts()} == {earlier["id"], newest["id"]}
    clock.t += 2 * H
    assert worker.tick() is not None and len(mastodon_server.statuses) == 6
    assert worker.adopt_history() == 0  # only with empty state


def test_pool_building_stops_while_sampling_and_keeps_nothing(mastodon_server, database_url, runtime):
    from bot.curation.pipeline import build_pool
    from bot.model.sampler import Sampler
    from bot.runtime import Runtime

    own = Runtime(runtime.paths, Sampler(runtime.model), runtime.evidence)  # its sample_halves is watched
    worker = None
    steps, written = [], []
    sample = own.sampler.sample_halves

    def watched(wanted, temperatures, rng, word_check=None, stop=None, **options):
        def polled():
            steps.append(1)
            if len(steps) == 20:
                worker.stop.set()  # a SIGTERM arrives while the first halves are written
            return stop()

        out = sample(wanted, temperatures, rng, word_check, polled, **options)
        written.append(sum(map(len, out)))
        return out

    own.sampler.sample_halves = watched
    worker = start_worker(mastodon_server, database_url,
                          lambda posted: build_pool(own, 4000, (0.5, 0.7, 0.9), posted=posted,
                                                    stop=lambda: worker.stop.is_set()), Clock())
    assert worker.refill() == 0
    assert written and written[0] < 2000 and worker.store.pool() == []


def test_first_pool_is_built_once(mastodon_server, database_url, make_pool):
    built = []
    worker = start_worker(mastodon_server, database_url, lambda posted: built.append(1) or make_pool(posted), Clock())
    worker.tick()  # the first check builds the pool it needs ...
    worker.refresh()  # ... and the refill job, starting at the same time, finds it fresh
    assert len(built) == 1
    worker.clock.t += worker.settings.pool_refresh
    worker.refresh()
    assert len(built) == 2


# --- the worker as a process ----------------------------------------------------------------------

def test_second_worker_on_one_database_stands_by_then_takes_over(mastodon_server, database_url, tmp_path):
    from test_daemon import _output, _posted, _start, _stop, _wait_for

    first = _start(mastodon_server, database_url, tmp_path)
    _wait_for(lambda: _posted(database_url), proc=first)
    second = _start(mastodon_server, database_url, tmp_path)
    _wait_for(lambda: "standing by" in _output(second), proc=second)
    time.sleep(1)  # a few of its polls: still standing by
    assert "started as" not in _output(second)
    _stop(first)
    _wait_for(lambda: "started as" in _output(second), proc=second)
    _stop(second)
    assert first.returncode == 0 and second.returncode == 0
    standby = [line for line in _output(second).splitlines() if "standing by" in line]
    assert len(standby) == 1 and "taking over" in _output(second)
    assert len(mastodon_server.statuses) == 1


def test_heroku_with_sqlite_refuses_to_start_unless_allowed(mastodon_server, tmp_path):
    import subprocess
    import sys

    from test_daemon import _env

    env = _env(mastodon_server, f"sqlite:///{tmp_path / 's.sqlite3'}", DYNO="worker.1")
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    [line] = [x for x in done.stderr.splitlines() if x.startswith("bot: error:")]
    assert "Heroku" in line and "Postgres add-on" in line and "ALLOW_SQLITE_ON_HEROKU" in line
    assert mastodon_server.read_attempts == 0 and not (tmp_path / "s.sqlite3").exists()
