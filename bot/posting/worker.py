"""The two jobs the daemon schedules: keep the candidate pool topped up, and post when a slot is
due, exactly once: the intent is stored before the server is called, sent with an
Idempotency-Key, and an unfinished intent is reconciled or retried with the same key."""
from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from typing import Callable

from . import schedule
from ..curation.learning import Choice
from ..curation.pipeline import Pool
from ..errors import AuthError, RejectedError
from .gateway import Gateway
from .publisher import Publisher, mastodon_outlet
from ..outlets.base import Outbound, Published
from .learner import History, Learner
from .retry import RetryPolicy
from .settings import Settings, with_hashtags
from ..store import PooledCandidate, Store
from ..curation.words import canonical

log = logging.getLogger("bot")
MAX_REJECTED = 5  # candidates tried for one slot when the server rejects them (422)
MAX_SKIP_SLOTS = 64  # longest back-off, in slots, after slots the server refused in a row


def pooled(pool: Pool) -> list[PooledCandidate]:
    """The pool's passing candidates as the worker keeps them (state store), best first."""
    return best_first([PooledCandidate(c.text, canonical(c.text), c.score, c.temperature, c.features)
                       for c in pool.passing])


def current_pool(store: Store, now: float, max_age: float) -> list[PooledCandidate] | None:
    """The stored pool's candidates, best first, if it holds some and was built less than
    max_age seconds before now; None when a new pool is due. The worker and `bot --dry-run`
    decide by this one rule."""
    built = store.schedule().pool_built_at
    if built is None or now - built >= max_age:
        return None
    return best_first(store.pool()) or None


def best_first(candidates: list[PooledCandidate]) -> list[PooledCandidate]:
    """By score, best first, ties by text: the same order whatever the database's collation."""
    return sorted(candidates, key=lambda c: (-c.score, c.text))


class Worker:
    """The worker's jobs on one store and one Mastodon gateway: refill the candidate pool, and
    post the next slot's candidate at its time (an intent recorded first, so a crash neither
    loses nor doubles a post). Temporary server errors are retried with backoff until stop is
    set; AuthError and DatabaseLostError propagate to the daemon, which stops."""

    def __init__(self, settings: Settings, store: Store, gateway: Gateway, account_id,
                 make_pool: Callable[[frozenset[str]], Pool], stop: threading.Event,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 learner: Learner | None = None, publisher: Publisher | None = None, approval=None):
        """publisher: the one door statuses leave through (default: Mastodon through gateway);
        approval: with APPROVAL=on, the owner's queue (bot/posting/approval.py), asked in pick()."""
        self.settings, self.store, self.gateway = settings, store, gateway
        self.account_id, self.make_pool, self.stop, self.clock = account_id, make_pool, stop, clock
        self.rng = rng or random.Random()
        self.learner = learner or Learner(settings, store, rng=self.rng)  # prior: the model's curator
        self.retry = RetryPolicy(settings.retry_base, settings.retry_max, stop, self.rng)
        self.publisher = publisher or Publisher(store, [mastodon_outlet(settings, gateway, account_id)], self.retry,
                                                clock)
        self.approval = approval
        self._pool_lock = threading.Lock()
        self._empty_since: float | None = None  # when the last pool came out empty

    # -- pool ---------------------------------------------------------------------------------
    def refill(self, max_age: float | None = None) -> int:
        """Regenerate the pool unless the stored one is still current (current_pool with
        max_age); returns how many candidates it holds. The first check and the refill job both
        want the first pool: the lock makes one build it and the other find it current. A pool
        that came out empty is not rebuilt before half of POOL_REFRESH has passed (one log line,
        not one per check). A stop request ends sampling between batches, and the partial pool is
        not kept."""
        with self._pool_lock:
            now = self.clock()
            if max_age is not None and (current := current_pool(self.store, now, max_age)) is not None:
                return len(current)
            if max_age is not None and self._empty_since is not None and now - self._empty_since < self.settings.pool_refresh / 2:
                return 0
            started = time.perf_counter()
            pool = self.make_pool(self.store.posted_canonicals())
            if self.stop.is_set():
                log.info("pool building stopped after %d samples (%.1f s)", pool.sampled,
                         time.perf_counter() - started)
                return 0
            keep = pooled(pool)
            self.store.replace_pool(keep, int(now))
            self.store.save_schedule(pool_built_at=int(now))
            if not keep:
                if self._empty_since is None:
                    log.warning("the new pool is empty: no candidate passed every filter (%s); the next try is in "
                                "%.0f s", "; ".join(s.describe() for s in pool.stages), self.settings.pool_refresh / 2)
                self._empty_since = now
                return 0
            self._empty_since = None
            log.info("pool regenerated in %.1f s: %d candidates passed every filter, best %r (%s)",
                     time.perf_counter() - started, len(keep), keep[0].text, "; ".join(s.describe() for s in pool.stages))
            return len(keep)

    def refresh(self) -> int:
        """The refill job: a new pool every POOL_REFRESH, unless one was built in the last half of it."""
        return self.refill(max_age=self.settings.pool_refresh / 2)

    def adopt_history(self) -> int:
        """With empty state (a new or wiped database), the account's recent statuses count as
        posted: their texts are never posted again, and the next slot starts POST_INTERVAL after
        the newest. Returns how many were adopted (0 when stopping or the state is not empty)."""
        if self.store.last_post() is not None:
            return 0
        recent = self.retry.retry(lambda: self.gateway.recent_statuses(self.account_id))
        if not recent:
            return 0
        rows = [(int(s.created_at), s.text, canonical(s.text), s.status_id, s.url)
                for s in recent if s.created_at and canonical(s.text) and s.in_reply_to is None
                and not s.private]  # replies and direct messages (approval mode) are not posts
        self.store.import_posts(rows)
        if rows:  # the schedule starts from the newest
            self.store.save_schedule(anchor=max(r[0] for r in rows), interval=self.settings.interval)
            log.info("empty state: %d earlier statuses of the account count as posted; the newest is from %s",
                     len(rows), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(max(r[0] for r in rows))))
        return len(rows)

    def _candidates(self) -> list[PooledCandidate]:
        """The candidates of the current pool, best first: the stored one while it is younger
        than POOL_REFRESH and not empty, else a new one."""
        self.refill(max_age=self.settings.pool_refresh)
        return best_first(self.store.pool())

    def choose(self, candidates: list[PooledCandidate], history: History) -> Choice | None:
        """The worker's choice among candidates (best first) after history: the learner's
        (curator's top few, variety, exploration). `bot --dry-run` calls this too."""
        return self.learner.choose(candidates, history)

    def pick(self, slot: int, candidates: list[PooledCandidate]) -> tuple[PooledCandidate, str] | None:
        """What slot posts, and how it was chosen: the learner's choice; with APPROVAL=on, the
        owner's answer or the timeout rule (approval.ApprovalQueue.for_slot). None: nothing now."""
        choice = self.choose(candidates, self.learner.history())
        if choice is None:
            return None
        if self.approval is not None:
            return self.approval.for_slot(slot, candidates[choice.index], choice.how)
        return candidates[choice.index], choice.how

    # -- schedule -----------------------------------------------------------------------------
    def anchor(self) -> int:
        """Slot zero: kept in the database. Set at the first start, and moved to the last post's
        slot when the interval setting changes."""
        stored = self.store.schedule()
        if stored.anchor is not None and stored.interval == self.settings.interval:
            return stored.anchor
        last = self.store.last_post()
        anchor = last.slot if last else int(self.clock())
        self.store.save_schedule(anchor=anchor, interval=self.settings.interval)
        return anchor

    def _schedule_state(self) -> tuple:
        """(now, anchor, interval, jitter, last slot, last posted at): what the schedule is a function of."""
        last = self.store.last_post()
        return (self.clock(), self.anchor(), self.settings.interval, self.settings.jitter,
                last.slot if last else None, last.posted_at if last else None)

    def due_slot(self) -> int | None:
        slot = schedule.due_slot(*self._schedule_state())
        if slot is None:
            return None
        held = self.held_until()
        if held is not None:
            if held != getattr(self, "_held_logged", None):  # once per hold, not every check
                self._held_logged = held
                log.info("slot %d waits until %s (QUIET_HOURS or MAX_POSTS_PER_DAY)", slot,
                         time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(held)))
            return None
        return slot

    def next_post_time(self) -> float:
        at = schedule.next_post_time(*self._schedule_state())
        return max(at, self.held_until(at) or at)

    def held_until(self, t: float | None = None) -> float | None:
        """When the operator's limits allow a post again, if they hold posts back at t (default
        now): QUIET_HOURS, MAX_POSTS_PER_DAY."""
        t = self.clock() if t is None else t
        cap = self.settings.max_posts_per_day
        posted = [p.posted_at for p in self.store.posts() if p.posted_at] if cap else []
        if cap and self.approval is not None:  # the owner's messages count toward the cap too
            posted += self.approval.message_times(t - 86400)
        ends = [e for e in (schedule.quiet_until(t, self.settings.quiet_hours),
                            schedule.day_cap_until(t, posted, cap)) if e is not None]
        return max(ends) if ends else None

    # -- posting ---------------------------------------------------------------------------------
    def tick(self) -> Published | None:
        """The posting job: settle unfinished posts, then post if a slot is due."""
        if not self.reconcile():
            return None
        slot = self.due_slot()
        if slot is None or self.stop.is_set():
            return None
        resume_at = self.store.schedule().resume_at
        if resume_at is not None and slot < resume_at:
            return None  # backing off after slots the server refused
        return self.post_for(slot)

    def outbound(self, post) -> Outbound:
        """What the networks are sent for a post (store.Post): its title with POST_HASHTAGS."""
        return Outbound("post", str(post.slot), with_hashtags(post.text, self.settings.post_hashtags),
                        slot_time=float(post.slot))

    def reconcile(self) -> bool:
        """Settle the posts a crash, a stop or a network's outage left unfinished, through the
        publisher (which asks each network whether it already holds the status before sending
        again). A post every network now refuses is closed: its slot goes on with the next
        candidate. False if stopping with one still unsettled."""
        for post in self.store.pending():
            try:
                published = self._send(post, settling=True)
            except RejectedError as e:
                log.warning("unfinished post for slot %d closed as refused (%s)", post.slot, e)
                continue
            if published is None:
                if self.stop.is_set():
                    return False
                continue
            log.info("settled unfinished post for slot %d: %s", post.slot, published.url)
        for delivery in self.publisher.pending("post"):  # posted on one network, pending on another
            if self.stop.is_set():
                return False
            post = next((p for p in self.store.posts() if str(p.slot) == delivery.ref), None)
            if post is not None and post.state == "posted":
                try:
                    self.publisher.deliver(self.outbound(post), self.publisher.outlet(delivery.network), patient=False)
                except RejectedError as e:
                    log.warning("slot %d on %s: %s", post.slot, delivery.network, e)
        return True

    def _send(self, post, settling: bool = False) -> Published | None:
        """post (a recorded intent) on every network; marks it posted once a network holds it.
        Returns the first network's status, None while pending (failing for now, or stopping).
        Raises RejectedError (every network refused it: the intent, its deliveries and the
        candidate are dropped) and AuthError (the intent is dropped when nothing went out)."""
        outbound = self.outbound(post)
        try:
            results = self.publisher.publish(outbound, settling=settling)
        except RejectedError:
            self.publisher.forget(outbound)
            self.store.drop_intent(post.idempotency_key)
            self.store.drop_from_pool(post.canonical)
            raise
        except AuthError:
            if not self.publisher.deliveries(outbound):  # nothing went out anywhere
                self.store.drop_intent(post.idempotency_key)
            raise
        sent = [r for r in results.values() if r is not None]
        if not sent:
            return None
        self.store.mark_posted(post.idempotency_key, sent[0].status_id, sent[0].url, int(self.clock()))
        return sent[0]

    def post_for(self, slot: int) -> Published | None:
        for _ in range(MAX_REJECTED):
            candidates = self._candidates()
            if self.stop.is_set():
                return None
            if not candidates:
                log.warning("no candidate passed the filters; slot %d waits for the next pool", slot)
                return None
            picked = self.pick(slot, candidates)
            if picked is None:
                return None
            best, how = picked
            if not self.store.record_intent(slot, best.text, best.canonical, uuid.uuid4().hex, int(self.clock()),
                                            best.features, best.score, how):
                log.info("slot %d is already taken; nothing to do", slot)
                return None
            post = next(p for p in self.store.pending() if p.slot == slot)
            try:
                published = self._send(post)
            except RejectedError as e:
                log.info("%s; trying the next candidate", e)
                continue
            if published is None:  # pending: the next check (or the next start) settles it
                return None
            if self.store.schedule().refused_slots:
                self.store.save_schedule(refused_slots=0)
            log.info("posted %r (%s): %s", best.text, how, published.url)
            return published
        self._skip(slot)
        return None

    def _skip(self, slot: int) -> None:
        """The server refused MAX_REJECTED candidates for slot: the slot is skipped, and after n
        such slots in a row the next try waits 2^(n-1) slots (at most MAX_SKIP_SLOTS)."""
        refused = self.store.schedule().refused_slots + 1
        wait = min(2 ** (refused - 1), MAX_SKIP_SLOTS)
        resume_at = int(slot + wait * self.settings.interval)
        self.store.save_schedule(refused_slots=refused, resume_at=resume_at)
        log.warning("the server refused %d candidates in a row; slot %d is skipped (%d in a row), next try "
                    "in the slot at %d", MAX_REJECTED, slot, refused, resume_at)
