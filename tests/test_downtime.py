"""A restart after downtime never posts two slots closer than half of POST_INTERVAL and never
catches up the slots it missed: first the pure schedule over many outages, then the worker
against the local server on both stores, with its state kept and with its state wiped."""
import random

import pytest

from bot.posting.schedule import MIN_GAP, due_slot, next_post_time, slot_of
from bot.store import open_store
from test_posting import Clock, make_pool, start_worker  # noqa: F401  (make_pool is a fixture)


def run_checks(start: float, end: float, step: float, anchor: int, interval: float, jitter: float,
               last_slot: int | None, last_posted_at: int | None) -> list[tuple[int, int]]:
    """(slot, posted at) of each post a worker checking every `step` seconds from start to end
    makes, as the pure schedule decides."""
    posts, t = [], start
    while t < end:
        slot = due_slot(t, anchor, interval, jitter, last_slot, last_posted_at)
        if slot is not None:
            last_slot, last_posted_at = slot, int(t)
            posts.append((slot, int(t)))
        t += step
    return posts


@pytest.mark.parametrize("seed", range(40))
def test_after_any_outage_posts_keep_half_an_interval_apart_and_skip_missed_slots(seed):
    rng = random.Random(seed)
    interval = rng.choice([90.0, 900.0, 3600.0, 6 * 3600.0])
    jitter = rng.choice([0.0, rng.uniform(0, interval * 0.99)])
    anchor = 1_800_000_000
    step = interval / rng.choice([9, 30, 90])
    before = run_checks(anchor, anchor + rng.uniform(1, 5) * interval, step, anchor, interval, jitter, None, None)
    last_slot, last_at = before[-1]
    restart = last_at + rng.uniform(0, 8) * interval  # down for up to eight intervals, from any point
    after = run_checks(restart, restart + 10 * interval, step, anchor, interval, jitter, last_slot, last_at)

    times = [at for _, at in before + after]
    assert min(b - a for a, b in zip(times, times[1:])) >= MIN_GAP * interval - 1  # whole seconds
    missed = {s for s, _ in after if s < slot_of(restart, anchor, interval)}
    assert not missed  # no slot that had passed while down
    slots = [s for s, _ in after]
    assert len(slots) == len(set(slots))  # one post per slot
    assert len(after) >= 9  # and it goes on posting
    # What `bot check` and the logs announce is when the checks find the next post due.
    announced = next_post_time(restart, anchor, interval, jitter, last_slot, last_at)
    assert after[0][1] - step <= announced < after[0][1] + 1  # posted at: whole seconds


def _posted(database_url) -> list:
    store = open_store(database_url)
    try:
        return sorted((p for p in store.posts() if p.state == "posted"), key=lambda p: p.posted_at)
    finally:
        store.close()


def _run(worker, clock, until: float, step: float) -> None:
    while clock.t < until:
        worker.tick()
        clock.t += step


@pytest.mark.parametrize("late", [0.1, 0.5, 0.9])  # how far into a slot the worker comes back
def test_a_restart_with_its_state_kept_posts_late_once_then_keeps_the_gap(mastodon_server, database_url,
                                                                         make_pool, late):
    """The issue's case: 90 s slots, 8 minutes down, the database intact."""
    interval, clock = 90.0, Clock()
    anchor = int(clock.t)
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="90s")
    _run(worker, clock, anchor + 2.5 * interval, 5)
    worker.store.close()
    down_from = clock.t
    clock.t = slot_of(down_from + 8 * 60, anchor, interval) + late * interval
    restart = clock.t
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="90s")
    _run(worker, clock, restart + 4 * interval, 5)
    worker.store.close()

    posts = _posted(database_url)
    times = [p.posted_at for p in posts]
    assert min(b - a for a, b in zip(times, times[1:])) >= interval / 2
    after = [p for p in posts if p.posted_at >= restart]
    assert after[0].slot == slot_of(restart, anchor, interval)  # the slot it woke up in, not a missed one
    assert not [p for p in posts if down_from <= p.slot < after[0].slot]
    assert len(after) >= 4 and len(mastodon_server.statuses) == len(posts)


@pytest.mark.parametrize("since", [7.5, 60.0])  # seconds between the account's last post and the restart
def test_a_restart_with_wiped_state_keeps_the_gap_after_the_accounts_last_post(mastodon_server, database_url,
                                                                              make_pool, since):
    interval, clock = 90.0, Clock()
    mastodon_server.add_status("Silver Lining (Stochastic Gradient Remix)", created_at=clock.t - since)
    worker = start_worker(mastodon_server, database_url, make_pool, clock, POST_INTERVAL="90s")
    assert worker.adopt_history() == 1  # as the daemon does at the start
    restart = clock.t
    _run(worker, clock, restart + 3 * interval, 2.5)
    worker.store.close()

    times = [p.posted_at for p in _posted(database_url)]
    assert len(times) >= 3
    assert times[1] - times[0] >= interval / 2  # times[0]: the adopted status
    assert min(b - a for a, b in zip(times, times[1:])) >= interval / 2
