"""The worker on two networks: Mastodon (the local server) and Bluesky (the reference PDS), through
the one publisher, on SQLite and PostgreSQL: each slot once on each network, through restarts and
crashes, and one network's outage never delays the other."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from bot.outlets import tid
from bot.outlets.bluesky import POST_CLOCK_ID, SESSION_KEY
from bot.posting.gateway import Gateway
from bot.posting.publisher import Publisher, outlets_for
from bot.posting.retry import RetryPolicy
from bot.posting.settings import load
from bot.posting.worker import Worker
from bot.store import Delivery, open_store
from fake_mastodon import TOKEN

from test_posting import H, Clock, make_pool  # noqa: F401  (make_pool is a fixture)


def start_worker(mastodon, pds, account, database_url, make_pool, clock, service=None, **env):
    """A fresh process's worth of objects, posting to both networks."""
    settings = load({"MASTODON_API_BASE_URL": mastodon.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "NETWORKS": "mastodon,bluesky", "BLUESKY_SERVICE": service or pds.url,
                     "BLUESKY_HANDLE": account.handle, "BLUESKY_APP_PASSWORD": account.app_password,
                     "POST_HASHTAGS": "#bots", "REQUEST_TIMEOUT": "5s",
                     "DATABASE_URL": database_url, "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s", **env})
    gateway = Gateway(settings.api_base_url, settings.access_token, 5)
    store = open_store(database_url)
    stop = threading.Event()
    publisher = Publisher(store, outlets_for(settings, store, gateway, "1"),
                          RetryPolicy(settings.retry_base, settings.retry_max, stop), clock)
    return Worker(settings, store, gateway, "1", make_pool, stop, clock=clock, publisher=publisher)


def bluesky_texts(pds, account) -> list[str]:
    return sorted(r["value"]["text"] for r in pds.records(account.did))


def test_each_slot_is_posted_once_on_each_network_across_restarts(mastodon_server, pds, database_url, make_pool):
    account = pds.create_account()
    clock = Clock()
    start = clock.t
    for hour in range(4):
        worker = start_worker(mastodon_server, pds, account, database_url, make_pool, clock, POST_INTERVAL="1h")
        for minute in (0, 20, 40):
            clock.t = start + hour * H + minute * 60
            worker.tick()
        worker.store.close()
    store = open_store(database_url)
    posts = store.posts()
    assert [p.state for p in posts] == ["posted"] * 4
    assert sorted(mastodon_server.texts()) == bluesky_texts(pds, account) == sorted(f"{p.text} #bots" for p in posts)
    keys = sorted(r["uri"].rsplit("/", 1)[1] for r in pds.records(account.did))
    assert keys == [tid.from_time(p.slot, POST_CLOCK_ID) for p in posts]
    assert store.get_meta(SESSION_KEY)  # the session is kept in the state database
    store.close()


def test_one_login_for_many_restarts(mastodon_server, pds, database_url, make_pool):
    account = pds.create_account()
    clock = Clock()
    logins = []
    for hour in range(3):
        clock.t += H
        worker = start_worker(mastodon_server, pds, account, database_url, make_pool, clock, POST_INTERVAL="1h")
        worker.tick()
        logins.append(worker.publisher.outlet("bluesky").logins)
        worker.store.close()
    assert logins == [1, 0, 0] and len(pds.records(account.did)) == 3


def test_crash_before_the_call_posts_once_on_each(mastodon_server, pds, database_url, make_pool):
    account = pds.create_account()
    clock = Clock()
    worker = start_worker(mastodon_server, pds, account, database_url, make_pool, clock)
    best = worker._candidates()[0]
    assert worker.store.record_intent(worker.due_slot(), best.text, best.canonical, "key-1", int(clock.t))
    worker.store.close()  # the process died here
    restarted = start_worker(mastodon_server, pds, account, database_url, make_pool, clock)
    restarted.tick()
    assert mastodon_server.texts() == [f"{best.text} #bots"] == bluesky_texts(pds, account)
    assert restarted.store.last_post().state == "posted"


def test_crash_after_the_pds_accepted_is_settled_not_reposted(mastodon_server, pds, database_url, make_pool):
    account = pds.create_account()
    clock = Clock()
    worker = start_worker(mastodon_server, pds, account, database_url, make_pool, clock)
    best = worker._candidates()[0]
    slot = worker.due_slot()
    assert worker.store.record_intent(slot, best.text, best.canonical, "key-1", int(clock.t))
    post = worker.store.pending()[0]
    outbound = worker.outbound(post)
    bluesky = worker.publisher.outlet("bluesky")
    key = bluesky.key(outbound)
    # As the publisher does: the delivery before the attempt; the PDS accepted; then the process died.
    worker.store.record_delivery(Delivery("post", outbound.ref, "bluesky", outbound.text, key, None, "pending",
                                          created_at=int(clock.t)))
    bluesky.send(outbound, key)
    worker.store.close()

    restarted = start_worker(mastodon_server, pds, account, database_url, make_pool, clock)
    assert restarted.tick() is not None or restarted.store.last_post().state == "posted"
    assert bluesky_texts(pds, account) == [outbound.text] == mastodon_server.texts()
    delivered = restarted.store.delivery("post", outbound.ref, "bluesky")
    assert delivered.state == "sent" and delivered.remote_id.endswith(key)


def test_bluesky_down_does_not_delay_mastodon_and_is_settled_once_back(mastodon_server, pds, database_url,
                                                                        make_pool):
    account = pds.create_account()
    clock = Clock()
    down = start_worker(mastodon_server, pds, account, database_url, make_pool, clock,
                        service="http://127.0.0.1:9")  # nothing listens there
    published = down.tick()
    assert published is not None and mastodon_server.texts() == [published.text]  # Mastodon on time
    assert bluesky_texts(pds, account) == []
    [pending] = down.store.pending_deliveries()
    assert pending.network == "bluesky"
    down.store.close()

    clock.t += 600  # Bluesky is back, and the worker restarted
    back = start_worker(mastodon_server, pds, account, database_url, make_pool, clock)
    back.tick()
    back.tick()
    assert bluesky_texts(pds, account) == [published.text] and len(mastodon_server.statuses) == 1
    assert back.store.pending_deliveries() == []


# --- the worker as a real process --------------------------------------------------------------------

def _daemon(mastodon, pds, account, database_url, tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTODON_", "BLUESKY_", "NETWORKS", "POST_",
                                                                   "DATABASE_URL"))}
    env.update({"MASTODON_API_BASE_URL": mastodon.url, "MASTODON_ACCESS_TOKEN": TOKEN, "NETWORKS": "mastodon,bluesky",
                "BLUESKY_SERVICE": pds.url, "BLUESKY_HANDLE": account.handle,
                "BLUESKY_APP_PASSWORD": account.app_password, "DATABASE_URL": database_url, "POST_INTERVAL": "1h",
                "CHECK_EVERY": "0.2s", "RETRY_BASE": "0.1s", "RETRY_MAX": "0.3s", "POOL_SIZE": "60",
                "REPLIES": "off", "PYTHONUNBUFFERED": "1", **extra})
    log = open(tmp_path / f"bot-{time.monotonic_ns()}.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    proc.log = log
    return proc


def _output(proc) -> str:
    proc.log.seek(0)
    return proc.log.read()


def _wait_for(condition, proc, timeout=300.0):
    """A guard against a hang, not a time budget: start-up takes what the machine's load makes it take."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if proc.poll() is not None:
            pytest.fail(f"bot exited early with {proc.returncode}:\n{_output(proc)}")
        time.sleep(0.05)
    pytest.fail(f"timed out:\n{_output(proc)}")


def test_the_worker_killed_mid_post_and_restarted_posts_once_on_each(mastodon_server, pds, database_url, tmp_path):
    account = pds.create_account()
    mastodon_server.faults = [("stall", 60)]
    first = _daemon(mastodon_server, pds, account, database_url, tmp_path)
    _wait_for(mastodon_server.accepted.is_set, first)
    first.kill()  # SIGKILL: Mastodon has the status, the bot never heard back; Bluesky was not reached
    first.wait(10)
    mastodon_server.release.set()

    second = _daemon(mastodon_server, pds, account, database_url, tmp_path)
    _wait_for(lambda: len(pds.records(account.did)) == 1, second)
    _wait_for(lambda: "posting to mastodon and bluesky" in _output(second), second)
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0, _output(second)
    assert len(mastodon_server.statuses) == 1
    assert bluesky_texts(pds, account) == mastodon_server.texts()
    store = open_store(database_url)
    assert [p.state for p in store.posts()] == ["posted"] and store.pending_deliveries() == []
    assert store.get_meta(SESSION_KEY)
    store.close()


def test_bluesky_alone_is_one_line_saying_what_to_set(mastodon_server, pds, tmp_path):
    account = pds.create_account()
    proc = _daemon(mastodon_server, pds, account, f"sqlite:///{tmp_path / 's.db'}", tmp_path, NETWORKS="bluesky")
    assert proc.wait(120) == 1
    assert _output(proc).strip().splitlines()[-1] == (
        "bot: error: NETWORKS=bluesky: the worker needs Mastodon too for now (it reads its history, engagement "
        "and mentions there); set NETWORKS=mastodon,bluesky")
