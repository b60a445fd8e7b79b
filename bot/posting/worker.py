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
from ..curation import variety
from ..curation.candidates import Pool
from ..errors import AuthError, RejectedError
from .gateway import Gateway, Published
from .learner import Learner
from .retry import RetryPolicy
from .settings import Settings, with_hashtags
from ..store import PooledCandidate, Store
from ..curation.words import canonical

log = logging.getLogger("bot")
MAX_REJECTED = 5  # candidates tried for one slot when the server rejects them (422)
MAX_SKIP_SLOTS = 64  # longest back-off, in slots, after slots the server refused in a row


class Worker:
    """The worker's jobs on one store and one Mastodon gateway: refill the candidate pool, and
    post the next slot's candidate at its time (an intent recorded first, so a crash neither
    loses nor doubles a post). Temporary server errors are retried with backoff until stop is
    set; AuthError and DatabaseLostError propagate to the daemon, which stops."""

    def __init__(self, settings: Settings, store: Store, gateway: Gateway, account_id,
                 make_pool: Callable[[frozenset[str]], Pool], stop: threading.Event,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 learner: Learner | None = None):
        self.settings, self.store, self.gateway = settings, store, gateway
        self.account_id, self.make_pool, self.stop, self.clock = account_id, make_pool, stop, clock
        self.rng = rng or random.Random()
        self.learner = learner or Learner(settings, store, rng=self.rng)  # prior: the model's curator
        self._pool_lock = threading.Lock()
        self.retry = RetryPolicy(settings.retry_base, settings.retry_max, stop, self.rng)

    # -- pool ---------------------------------------------------------------------------------
    def refill(self, only_if_empty: bool = False, max_age: float | None = None) -> int:
        """Regenerate the pool; returns how many candidates it holds. Nothing is done when
        only_if_empty and the pool holds some, or when it was built less than max_age seconds ago
        (the first check and the refill job both want the first pool: it is built once). A stop
        request ends sampling between batches, and the partial pool is not kept."""
        with self._pool_lock:
            if only_if_empty and (pooled := self.store.pool()):
                return len(pooled)
            built = self.store.get_meta("pool_built_at")
            if max_age is not None and built is not None and self.clock() - float(built) < max_age:
                return len(self.store.pool())
            started = time.perf_counter()
            pool = self.make_pool(self.store.posted_canonicals())
            if self.stop.is_set():
                log.info("pool building stopped after %d samples (%.1f s)", pool.sampled,
                         time.perf_counter() - started)
                return 0
            keep = [PooledCandidate(c.text, canonical(c.text), c.score, c.temperature, c.features)
                    for c in pool.passing]
            self.store.replace_pool(keep, int(self.clock()))
            self.store.set_meta({"pool_built_at": str(int(self.clock()))})
            rate = len(keep) / pool.sampled if pool.sampled else 0.0
            log.info("pool regenerated: %d sampled, %d passed (%.1f%%), best %r, %.1f s",
                     pool.sampled, len(keep), 100 * rate, keep[0].text if keep else None,
                     time.perf_counter() - started)
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
                for s in recent if s.created_at and canonical(s.text)]
        self.store.import_posts(rows)
        if rows:  # the schedule starts from the newest
            self.store.set_meta({"anchor": str(max(r[0] for r in rows)), "interval": repr(self.settings.interval)})
            log.info("empty state: %d earlier statuses of the account count as posted; the newest is from %s",
                     len(rows), time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(max(r[0] for r in rows))))
        return len(rows)

    def _candidates(self):
        """Pooled candidates best first; the pool is regenerated when it runs dry."""
        pooled = self.store.pool()
        if not pooled:
            self.refill(only_if_empty=True)  # unless the refill job is filling it right now
            pooled = self.store.pool()
        return pooled

    # -- schedule -----------------------------------------------------------------------------
    def anchor(self) -> int:
        """Slot zero: kept in the database. Set at the first start, and moved to the last post's
        slot when the interval setting changes."""
        stored, interval = self.store.get_meta("anchor"), self.store.get_meta("interval")
        if stored is not None and interval is not None and float(interval) == self.settings.interval:
            return int(stored)
        last = self.store.last_post()
        anchor = last.slot if last else int(self.clock())
        self.store.set_meta({"anchor": str(anchor), "interval": repr(self.settings.interval)})
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
        ends = [e for e in (schedule.quiet_until(t, self.settings.quiet_hours),
                            schedule.day_cap_until(t, posted, cap)) if e is not None]
        return max(ends) if ends else None

    # -- posting ---------------------------------------------------------------------------------
    def tick(self) -> Published | None:
        """The posting job: settle unfinished intents, then post if a slot is due."""
        if not self.reconcile():
            return None
        slot = self.due_slot()
        if slot is None or self.stop.is_set():
            return None
        resume_at = self.store.get_meta("resume_at")
        if resume_at is not None and slot < int(resume_at):
            return None  # backing off after slots the server refused
        return self.post_for(slot)

    def reconcile(self) -> bool:
        """Settle pending intents left by a crash or a stop. False if one is still unsettled
        (stopping). An intent the server now refuses is closed: its slot goes on with the next
        candidate."""
        for intent in self.store.pending():
            try:
                published = self._publish(intent.text, intent.canonical, intent.idempotency_key, maybe_sent=True)
            except RejectedError as e:
                self.store.drop_intent(intent.idempotency_key)
                self.store.drop_from_pool(intent.canonical)
                log.warning("unfinished post for slot %d closed as refused (%s)", intent.slot, e)
                continue
            if published is None:
                return False
            self.store.mark_posted(intent.idempotency_key, published.status_id, published.url, int(self.clock()))
            log.info("settled unfinished post for slot %d: %s", intent.slot, published.url)
        return True

    def _find_published(self, canonical_text: str) -> Published | None:
        """Our own status with this text among the account's recent ones (raises TemporaryServerError)."""
        recent = self.gateway.recent_statuses(self.account_id)
        return next((s for s in recent if canonical(s.text) == canonical_text), None)

    def post_for(self, slot: int) -> Published | None:
        for _ in range(MAX_REJECTED):
            candidates = self._candidates()
            if self.stop.is_set():
                return None
            if not candidates:
                log.warning("no candidate passed the filters; slot %d waits for the next pool", slot)
                return None
            recent = [p.text for p in self.store.posts() if p.state == "posted"][-variety.WORD_WINDOW:]
            choice = self.learner.choose(candidates, recent)  # through variety.choose
            best = candidates[choice.index]
            key = uuid.uuid4().hex
            if not self.store.record_intent(slot, best.text, best.canonical, key, int(self.clock()),
                                            best.features, best.score, choice.how):
                log.info("slot %d is already taken; nothing to do", slot)
                return None
            try:
                published = self._publish(best.text, best.canonical, key)
            except RejectedError as e:
                self.store.drop_intent(key)
                self.store.drop_from_pool(best.canonical)
                log.info("%s; trying the next candidate", e)
                continue
            except AuthError:
                self.store.drop_intent(key)  # nothing was published
                raise
            if published is None:  # stopping: the intent stays, the next start settles it
                return None
            self.store.mark_posted(key, published.status_id, published.url, int(self.clock()))
            if self.store.get_meta("refused_slots") not in (None, "0"):
                self.store.set_meta({"refused_slots": "0"})
            log.info("posted %r: %s", best.text, published.url)
            return published
        self._skip(slot)
        return None

    def _skip(self, slot: int) -> None:
        """The server refused MAX_REJECTED candidates for slot: the slot is skipped, and after n
        such slots in a row the next try waits 2^(n-1) slots (at most MAX_SKIP_SLOTS)."""
        refused = int(self.store.get_meta("refused_slots") or 0) + 1
        wait = min(2 ** (refused - 1), MAX_SKIP_SLOTS)
        resume_at = int(slot + wait * self.settings.interval)
        self.store.set_meta({"refused_slots": str(refused), "resume_at": str(resume_at)})
        log.warning("the server refused %d candidates in a row; slot %d is skipped (%d in a row), next try "
                    "in the slot at %d", MAX_REJECTED, slot, refused, resume_at)

    def _publish(self, text: str, canonical_text: str, key: str, maybe_sent: bool = False) -> Published | None:
        """Post with key, retrying temporary failures until it works or we stop (None). Before a
        re-send whose outcome is unknown, the account's recent statuses are searched for the text:
        not every server honours Idempotency-Key. Raises RejectedError and AuthError."""
        sent = [maybe_sent]
        text = with_hashtags(text, self.settings.post_hashtags)
        canonical_text = canonical(text) if self.settings.post_hashtags else canonical_text

        def attempt() -> Published:
            if sent[0] and (found := self._find_published(canonical_text)) is not None:
                return found
            sent[0] = True
            return self.gateway.post(text, key, self.settings.visibility, self.settings.content_warning,
                                     self.settings.language)

        return self.retry.retry(attempt)
