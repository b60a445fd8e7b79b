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
