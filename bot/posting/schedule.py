"""When posts are due: fixed slots every interval from an anchor kept in the database, so a
restart neither posts early nor resets the schedule. Pure functions of time and state.

After downtime the worker posts in the slot it wakes up in (late, once) and never in the slots it
missed; and no post follows the previous one sooner than MIN_GAP intervals, so the slot after a
late post waits for the gap to pass (its start plus jitter, or the gap's end, whichever is later).
"""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta

from ..curation.evidence import hash64

MIN_GAP = 0.5  # of the interval: the least time between two posts, whatever restarts happen


def slot_of(t: float, anchor: int, interval: float) -> int:
    """Start of the slot that contains time t."""
    return int(anchor + math.floor((t - anchor) / interval) * interval)


def jitter_for(slot: int, jitter: float) -> float:
    """A delay in [0, jitter) that is fixed for each slot (the same after any restart)."""
    return jitter * (hash64(str(slot)) / 2**64) if jitter else 0.0


def due_slot(now: float, anchor: int, interval: float, jitter: float,
             last_slot: int | None, last_posted_at: int | None) -> int | None:
    """The slot to post for now, or None: only the slot now falls in (missed ones are never caught
    up), one post per slot, none in a slot that already saw a post (a post delayed by an outage
    into a later slot counts for that slot too), and none sooner than MIN_GAP * interval after the
    last post. Times in epoch seconds, interval and jitter in seconds."""
    if now < anchor:
        return None
    slot = slot_of(now, anchor, interval)
    taken = [s for s in (last_slot, last_posted_at and slot_of(last_posted_at, anchor, interval)) if s is not None]
    if taken and slot <= max(taken):
        return None
    if now < slot + jitter_for(slot, jitter):
        return None
    if last_posted_at is not None and now < gap_end(last_posted_at, interval):
        return None
    return slot


def gap_end(last_posted_at: float, interval: float) -> float:
    """The earliest time the post after one made at last_posted_at may go out."""
    return last_posted_at + MIN_GAP * interval


def next_post_time(now: float, anchor: int, interval: float, jitter: float,
                   last_slot: int | None, last_posted_at: int | None) -> float:
    """When the next post will be due (for logs and `bot check`): the first slot from now's on
    whose post time (its start plus jitter, not before now nor before the gap's end) still falls
    in it and finds it free."""
    slot = max(slot_of(now, anchor, interval), anchor)
    earliest = max(now, gap_end(last_posted_at, interval) if last_posted_at is not None else now)
    while True:
        at = max(slot + jitter_for(slot, jitter), earliest)
        if slot_of(at, anchor, interval) == slot and \
                due_slot(at, anchor, interval, jitter, last_slot, last_posted_at) is not None:
            return at
        slot = int(slot + interval)


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2^attempt)."""
    return min(cap, base * 2 ** min(attempt, 30)) * rng.uniform(0.5, 1.0)


def quiet_until(t: float, quiet) -> float | None:
    """If t falls in the quiet hours (settings.QuietHours: a daily window of local time, in its
    zone or the host's), when that window ends (epoch seconds); else None."""
    if quiet is None:
        return None
    if quiet.zone:
        from zoneinfo import ZoneInfo

        local = datetime.fromtimestamp(t, ZoneInfo(quiet.zone))
    else:
        local = datetime.fromtimestamp(t).astimezone()
    minute = local.hour * 60 + local.minute
    wraps = quiet.start > quiet.end  # e.g. 23:00-07:00
    inside = (quiet.start <= minute or minute < quiet.end) if wraps else quiet.start <= minute < quiet.end
    if not inside:
        return None
    end = local.replace(hour=quiet.end // 60, minute=quiet.end % 60, second=0, microsecond=0)
    if end <= local:
        end += timedelta(days=1)
    return end.timestamp()


def day_cap_until(now: float, posted_at: list[int], cap: int) -> float | None:
    """With `cap` posts already in the 24 hours before now, when the oldest of them leaves the
    window (epoch seconds); None when another post is allowed (or cap is 0: no cap)."""
    recent = sorted(t for t in posted_at if t > now - 86400)
    if not cap or len(recent) < cap:
        return None
    return recent[-cap] + 86400
