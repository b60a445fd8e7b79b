import random

from bot.posting.schedule import backoff, due_slot, jitter_for, next_post_time

H = 3600


def test_first_slot_is_due_at_the_anchor_and_only_once():
    assert due_slot(1000, 1000, 2 * H, 0, None, None) == 1000
    assert due_slot(1000 + 60, 1000, 2 * H, 0, 1000, 1000 + 5) is None
    assert due_slot(1000 + 2 * H, 1000, 2 * H, 0, 1000, 1000 + 5) == 1000 + 2 * H


def test_a_restart_mid_slot_does_not_post_early():
    # posted in the slot starting at 0; restarting at 1h30 finds nothing due until 2h
    assert due_slot(1.5 * H, 0, 2 * H, 0, 0, 10) is None
    assert next_post_time(1.5 * H, 0, 2 * H, 0, 0, 10) == 2 * H


def test_a_post_delayed_into_the_next_slot_counts_for_it():
    # the 0h slot's post only got through at 2h30 (outage): no second post in the 2h slot
    assert due_slot(2.6 * H, 0, 2 * H, 0, 0, int(2.5 * H)) is None
    assert due_slot(4 * H, 0, 2 * H, 0, 0, int(2.5 * H)) == 4 * H


def test_jitter_delays_each_slot_by_a_fixed_amount():
    j = jitter_for(7200, 600)
    assert 0 <= j < 600 and j == jitter_for(7200, 600) and j != jitter_for(14400, 600)
    assert due_slot(7200 + j - 1, 0, 2 * H, 600, 0, 0) is None
    assert due_slot(7200 + j + 1, 0, 2 * H, 600, 0, 0) == 7200


def test_backoff_grows_exponentially_with_jitter_up_to_a_cap():
    rng = random.Random(0)
    delays = [backoff(a, 1.0, 60.0, rng) for a in range(10)]
    assert all(0.5 * min(60, 2 ** a) <= d <= min(60, 2 ** a) for a, d in enumerate(delays))
    assert len(set(delays)) == len(delays)
