"""Exactly-once posting through real Mastodon.py over HTTP to a local server, on SQLite and
PostgreSQL, with the worker's clock in the test's hands."""
import threading
import time

import pytest

from bot.outlets.base import Outbound

from bot.curation.pipeline import build_pool
from bot.errors import AuthError
from bot.posting.gateway import Gateway
from bot.posting.settings import load
from bot.store import Delivery, open_store
from bot.curation.words import canonical
from bot.posting.worker import Worker
from fake_mastodon import TOKEN

H = 3600


@pytest.fixture(scope="module")
def make_pool(runtime):
    seeds = iter(range(10**6))
    return lambda posted: build_pool(runtime, 60, (0.5, 0.7, 0.9), seed=next(seeds), posted=posted)


class Clock:
    def __init__(self, t=1_800_000_000.0):
        self.t = t

    def __call__(self):
        return self.t


def start_worker(server, database_url, make_pool, clock, **env):
    """A fresh process's worth of objects: its own store connection and client."""
    settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "DATABASE_URL": database_url, "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s", **env})
    gateway = Gateway(settings.api_base_url, settings.access_token, 5)
    store = open_store(database_url)
    return Worker(settings, store, gateway, "1", make_pool, threading.Event(), clock=clock)


def test_simulated_day_with_hourly_restarts_posts_once_per_slot(mastodon_server, database_url, make_pool):
    clock = Clock()
    start = clock.t
    for hour in range(24):
        worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="2h")
        for minute in range(0, 60, 20):  # the post job runs a few times each hour
            clock.t = start + hour * H + minute * 60
            worker.tick()
        worker.store.close()
    store = open_store(database_url)
    posts = store.posts()
    assert len(mastodon_server.statuses) == 12
    assert [p.slot - int(start) for p in posts] == [2 * H * k for k in range(12)]
    assert all(p.state == "posted" for p in posts)
    assert len({p.canonical for p in posts}) == 12
    assert sorted(mastodon_server.texts()) == sorted(p.text for p in posts)


def test_server_errors_are_retried_with_the_same_key_then_post_once(mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("status", 503), ("drop",), ("status", 500), ("status", 502), ("status", 504)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    published = worker.tick()
    assert published is not None and len(mastodon_server.statuses) == 1
    assert mastodon_server.post_attempts == 6
    assert len(set(mastodon_server.keys_seen)) == 1 and mastodon_server.keys_seen[0]
    assert worker.store.last_post().status_id == published.status_id


def test_rate_limit_waits_for_the_reset_then_posts_once(mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("ratelimit", 2)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    began = time.monotonic()
    assert worker.tick() is not None
    waited = time.monotonic() - began
    assert waited >= 0.8  # the reset is 2 s away at second resolution; backoff alone is 0.05 s
    assert len(mastodon_server.statuses) == 1 and mastodon_server.post_attempts == 2


def test_unauthorised_stops_without_a_retry_storm_and_frees_the_slot(mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("status", 401)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    with pytest.raises(AuthError, match="refused the access token"):
        worker.tick()
    assert mastodon_server.post_attempts == 1 and not mastodon_server.statuses
    assert worker.store.posts() == []
    assert worker.tick() is not None and len(mastodon_server.statuses) == 1


def test_rejected_candidate_is_dropped_and_the_next_one_posted(mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("status", 422)]
    worker = start_worker(mastodon_server, database_url, make_pool, Clock())
    chosen, choose = [], worker.learner.choose  # the learner's pick may be any candidate

    def recording(candidates, recent):
        choice = choose(candidates, recent)
        chosen.append(candidates[choice.index])
        return choice
    worker.learner.choose = recording
    published = worker.tick()
    first_choice = chosen[0]
    assert published is not None and published.text != first_choice.text
    assert mastodon_server.texts() == [published.text]
    assert first_choice.canonical not in {c.canonical for c in worker.store.pool()}


def test_crash_after_the_server_accepted_is_reconciled_not_reposted(mastodon_server, database_url, make_pool):
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock)
    best = worker._candidates()[0]
    slot = worker.due_slot()
    # The crashed process had written its intent and the server had published; then it died.
    assert worker.store.record_intent(slot, best.text, best.canonical, "key-before-crash", int(clock.t))
    worker.publisher.outlets[0].send(Outbound("post", str(slot), best.text), "key-before-crash")
    attempts = mastodon_server.post_attempts

    restarted = start_worker(mastodon_server, database_url, make_pool, clock)
    assert restarted.tick() is None  # settled; the slot is taken, nothing new is posted
    assert len(mastodon_server.statuses) == 1 and mastodon_server.post_attempts == attempts
    assert restarted.store.last_post().state == "posted"
    assert restarted.store.last_post().status_id == mastodon_server.statuses[0]["id"]


def test_crash_before_the_server_answered_retries_with_the_same_key(mastodon_server, database_url, make_pool):
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock)
    best, slot = worker._candidates()[0], worker.due_slot()
    # The crashed process had stored its intent and the delivery's key, and died before sending.
    assert worker.store.record_intent(slot, best.text, best.canonical, "post-1", int(clock.t))
    assert worker.store.record_delivery(Delivery("post", str(slot), "mastodon", best.text, "key-1", None, "pending",
                                                 created_at=int(clock.t)))
    restarted = start_worker(mastodon_server, database_url, make_pool, clock)
    restarted.tick()
    assert mastodon_server.texts() == [best.text] and mastodon_server.keys_seen == ["key-1"]
    assert restarted.store.delivery("post", str(slot), "mastodon").state == "sent"


def test_a_text_is_never_posted_twice(mastodon_server, database_url, make_pool):
    clock = Clock()
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="1h")
    for hour in range(6):
        clock.t += H
        worker.tick()
    texts = [canonical(t) for t in mastodon_server.texts()]
    assert len(texts) == 6 and len(set(texts)) == 6
    assert not worker.store.record_intent(10**10, "again", texts[0], "other-key", 0)


def test_stop_during_retries_leaves_a_pending_intent_that_the_next_start_settles(
        mastodon_server, database_url, make_pool):
    mastodon_server.faults = [("status", 503)] * 10_000
    worker = start_worker(mastodon_server, database_url, make_pool, Clock(), RETRY_BASE="0.2s", RETRY_MAX="0.2s")
    worker.refill()  # pool building is not what this test times
    stopped_at = []

    def stop_once_retrying():
        while mastodon_server.post_attempts < 2:
            time.sleep(0.01)
        stopped_at.append(time.monotonic())
        worker.stop.set()

    threading.Thread(target=stop_once_retrying, daemon=True).start()
    assert worker.tick() is None
    assert time.monotonic() - stopped_at[0] < 5  # the retry wait ends at the stop (it is 0.2 s at most)
    [intent] = worker.store.pending()
    mastodon_server.faults = []
    restarted = start_worker(mastodon_server, database_url, make_pool, worker.clock)
    restarted.tick()
    assert mastodon_server.texts() == [intent.text]
    assert restarted.store.pending() == []
