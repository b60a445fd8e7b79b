"""The learning loop's two ends in the worker: the engagement job (read the counts of the bot's
own posts once they have matured, store them, refit the learned weights) and the choice of each
post (a Thompson draw from the learned weights, or an exploration post, through the variety rule).

State: the posts' features, the readings and snapshots of the learned weights, all in the state
database (state.py); the posterior is refitted from them, so it survives restarts and redeploys.
LEARNING=off: no refit and no exploration; posts are ranked by the last snapshot's mean weights
(the shipped curator's when there is none).
"""
from __future__ import annotations

import logging
import random
import time
from pathlib import Path
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import numpy as np

from ..curation import learning, variety
from ..curation.curator import Curator
from ..errors import AuthError, DatabaseLostError, NotReadableError, RejectedError, StateError, TemporaryServerError
from .gateway import MAX_COUNT, Gateway, read_counts
from .settings import Settings
from ..store import PooledCandidate, Reading, Store

log = logging.getLogger("bot")
MAX_SINGLE_READS = 20  # single-status reads per run, after the one page of latest statuses
PAGE_MARGIN = 5  # statuses read past the oldest due post (posts made by hand, by another instance)
RATE_RESERVE = 60  # requests left in the server's window that the engagement job never uses
MAX_TOTAL = 3 * MAX_COUNT  # favourites + boosts + replies of one reading, at most
T = TypeVar("T")


def shipped_curator(model_dir: Path) -> Curator:
    """The curator beside the model in model_dir (the prior mean of the learned weights)."""
    from ..curation import curator as curator_module
    from ..curation.evidence import CURATOR_FILE
    from ..model.modelfile import ModelPaths

    return curator_module.load(Path(model_dir) / CURATOR_FILE.format(name=ModelPaths.in_directory(model_dir).name))


def observations(store: Store) -> list[learning.Observation]:
    """Posts with features and a first reading, oldest first (gone statuses left out). Each
    stored total is made sane where it enters the fit, as the gateway makes a fresh one: below 0
    is 0, above MAX_TOTAL is MAX_TOTAL (rows stored before readings were checked)."""
    by_slot: dict[int, dict[str, Reading]] = {}
    for r in store.readings():
        by_slot.setdefault(r.slot, {})[r.reading] = r
    out = []
    for p in store.post_features():
        found = by_slot.get(p.slot, {})
        first, final = found.get("first"), found.get("final")
        if not p.features or first is None or first.total is None:
            continue
        out.append(learning.Observation(p.features, _sane(first.total), _sane(final.total) if final else None))
    return out


def _sane(total: int | None) -> int | None:
    return None if total is None else min(max(int(total), 0), MAX_TOTAL)


class Learner:
    def __init__(self, settings: Settings, store: Store, prior: Curator | None = None,
                 rng: random.Random | None = None, generic: frozenset[str] = frozenset()):
        """prior: the curator whose weights are the prior mean; default the one beside the model
        in BOT_MODEL_DIR (the one that scored the pool). generic: words the curator's choice
        avoids where it can (variety.generic_words; learning.without_generic)."""
        self.settings, self.store, self.generic = settings, store, generic
        self.prior = prior if prior is not None else shipped_curator(settings.model_dir)
        self.rng = rng or random.Random()
        self.fit_failing = False  # the last fit failed (logged once, until one works again)

    def posterior(self, extra_names: Sequence[str] = ()) -> learning.Posterior:
        return learning.fit(observations(self.store), self.prior, extra_names)

    def _safely(self, fit: Callable[[], T]) -> T | None:
        """fit(), or None when the stored data cannot be fitted: logged once, and once more when a
        fit works again; never raised, so learning can never stop posting."""
        try:
            result = fit()
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as e:
            if not self.fit_failing:
                log.warning("learning: the refit failed (%s); posts follow the curator's order until it works", e)
            self.fit_failing = True
            return None
        if self.fit_failing:
            log.info("learning: the refit works again")
        self.fit_failing = False
        return result

    def refit(self, now: int) -> learning.Posterior | None:
        """Refit from every stored reading and keep a snapshot of the weights; None (and no
        snapshot) when the fit failed."""
        posterior = self._safely(self.posterior)
        if posterior is None:
            return None
        self.store.add_snapshot(now, posterior.observations,
                                {k: [round(m, 5), round(s, 5)] for k, (m, s) in posterior.summary().items()})
        return posterior

    def frozen_weights(self) -> dict[str, float]:
        latest = self.store.latest_snapshot()
        if latest is None:
            return dict(self.prior.weights)
        return {**self.prior.weights, **{k: v[0] for k, v in latest[2].items() if k != "bias"}}

    def history(self) -> "History":
        """What the next choice depends on in the state database."""
        posts = self.store.post_features()
        recent = [p.text for p in self.store.posts() if p.state == "posted"][-variety.WORD_WINDOW:]
        return History(tuple(recent), len(posts), sum(p.choice == "explore" for p in posts))

    def choose(self, candidates: Sequence[PooledCandidate], history: "History") -> learning.Choice | None:
        """The candidate (given best first by the curator) to post next: always one of the
        curator's top few that the variety rule allows (learning.choose)."""
        texts = [c.text for c in candidates]
        features = [c.features for c in candidates]

        def by_curator(weights: dict[str, float]) -> learning.Choice | None:
            return learning.choose(texts, features, history.recent, weights, how="curator", rng=self.rng,
                                   generic=self.generic)

        if not self.settings.learning or not any(features):
            # Frozen, or a model without features: the shipped order (or the frozen weights).
            return by_curator(self.frozen_weights() if any(features) else {})
        explore = learning.explores(history.posts, history.explored, self.settings.exploration)
        names = sorted({k for f in features for k in f})
        observed = observations(self.store)  # outside _safely: a lost database is not a failed fit
        posterior = self._safely(lambda: learning.fit(observed, self.prior, names))
        if posterior is None:  # the fit failed (logged once): the curator's order
            return by_curator(dict(self.prior.weights))
        if not posterior.observations and not explore:  # nothing learned yet: a draw would be noise
            return by_curator(dict(self.prior.weights))
        draw = self._safely(lambda: posterior.sample(np.random.default_rng(self.rng.getrandbits(64))))
        if draw is None:
            return by_curator(dict(self.prior.weights))
        return learning.choose(texts, features, history.recent, draw, explore=explore, rng=self.rng)


@dataclass(frozen=True)
class History:
    """The posts a choice follows: recent texts (oldest first, the variety window), how many
    posts the learner has seen and how many of them explored."""
    recent: tuple[str, ...] = ()
    posts: int = 0
    explored: int = 0

    def after(self, text: str, how: str) -> "History":
        """The history once text has been posted (chosen `how`): for previews of several posts."""
        return History((*self.recent, text)[-variety.WORD_WINDOW:], self.posts + 1,
                       self.explored + (how == "explore"))


class EngagementJob:
    """Reads the engagement counts of the bot's own posts at ENGAGEMENT_AFTER and again at
    ENGAGEMENT_FINAL, within the server's rate limits; stores only the counts."""

    def __init__(self, settings: Settings, store: Store, gateway: Gateway, account_id, learner: Learner,
                 clock: Callable[[], float], bluesky=None):
        """bluesky: the Bluesky outlet when posts go there too: each reading adds the post's
        Bluesky counts (bluesky_engagement.py) to its Mastodon ones."""
        self.settings, self.store, self.gateway, self.account_id = settings, store, gateway, account_id
        self.learner, self.clock, self.bluesky = learner, clock, bluesky
        self.state: str | None = None  # a state that persists across passes, logged once (_note)
        self.unstored: set[tuple[int, str]] = set()  # readings the database refused (logged once)

    def due(self, now: float) -> list[tuple[str, int, str, int]]:
        """(status id, slot, reading, how many posts back) of the readings that are due, newest
        post first."""
        done = {(r.slot, r.reading) for r in self.store.readings()}
        out = []
        for back, p in enumerate(reversed(self.store.post_features()), 1):
            if p.status_id is None or p.posted_at is None:
                continue
            age = now - p.posted_at
            if age >= self.settings.engagement_final and (p.slot, "final") not in done:
                out.append((p.status_id, p.slot, "final", back))
            elif self.settings.engagement_after <= age < self.settings.engagement_final and (p.slot, "first") not in done:
                out.append((p.status_id, p.slot, "first", back))
        return out

    def run(self) -> int:
        """One pass: read what is due, store each reading on its own, refit (LEARNING=on). Returns
        the readings stored. A rate limit, an unreachable server or a refused page of statuses
        ends the pass, logged once while it lasts; the next pass goes on. A reading the database
        will not take is logged once and leaves the others stored; a refit that fails is logged
        once and never raised (Learner._safely). Raises DatabaseLostError."""
        now = self.clock()
        due = self.due(now)
        if not due:
            return 0
        client = self.gateway.client  # Mastodon.py keeps the server's X-RateLimit headers
        remaining, reset = getattr(client, "ratelimit_remaining", None), getattr(client, "ratelimit_reset", None)
        if (isinstance(remaining, (int, float)) and remaining < RATE_RESERVE and isinstance(reset, (int, float))
                and time.time() < reset):
            self._note("window", logging.INFO, "engagement: %d requests left in the server's window; reading later",
                       remaining)
            return 0
        try:
            newest = due[-1][3] + PAGE_MARGIN  # enough of the latest posts to hold every due one
            counts = read_counts(self.gateway, self.account_id, [d[0] for d in due], MAX_SINGLE_READS, newest)
            counts = self._with_bluesky(due, counts)
        except (TemporaryServerError, NotReadableError, RejectedError) as e:
            self._note(type(e).__name__, logging.WARNING, "engagement: %s; reading later", e)
            return 0
        self._note(None)
        firsts = {r.slot for r in self.store.readings() if r.reading == "first"}
        stored = 0
        for status_id, slot, reading, _ in due:
            if status_id not in counts:
                continue  # over this pass' read budget
            c = counts[status_id]
            kept = [Reading(slot, reading, c and c.favourites, c and c.boosts, c and c.replies, int(now))]
            if reading == "final" and slot not in firsts:
                # Missed the first reading (the worker was down): the final one stands in for it.
                kept.insert(0, Reading(slot, "first", c and c.favourites, c and c.boosts, c and c.replies, int(now)))
            if all(self._store(r, status_id) for r in kept):
                stored += 1
        if stored and self.settings.learning:
            posterior = self.learner.refit(int(now))
            learned = f"learned from {posterior.observations} posts" if posterior else "the weights stay as they were"
            log.info("engagement: %d readings stored; %s", stored, learned)
        return stored

    def _with_bluesky(self, due: list[tuple[str, int, str, int]], counts: dict) -> dict:
        """counts with each due post's Bluesky counts added, where it was posted there (its
        delivery was sent). A failure for now raises (the pass reads later, both networks
        together); refused Bluesky credentials stop reading Bluesky (logged once), not learning."""
        from .bluesky_engagement import add, read_bluesky_counts

        if self.bluesky is None:
            return counts
        uris = {}
        for status_id, slot, _, _ in due:
            d = self.store.delivery("post", str(slot), "bluesky")
            if status_id in counts and d is not None and d.state == "sent" and d.remote_id:
                uris[status_id] = d.remote_id
        if not uris:
            return counts
        try:
            found = read_bluesky_counts(self.bluesky, sorted(set(uris.values())))
        except AuthError as e:
            log.error("engagement: %s; Bluesky's counts are left out until the worker restarts", e)
            self.bluesky = None
            return counts
        return {k: add(v, found.get(uris[k])) if k in uris else v for k, v in counts.items()}

    def _store(self, r: Reading, status_id: str) -> bool:
        """Store one reading; a row the database refuses is logged once and skipped, so one bad
        status never stops the others (a lost database still raises DatabaseLostError)."""
        try:
            self.store.record_reading(r)
        except DatabaseLostError:
            raise
        except StateError as e:
            if (r.slot, r.reading) not in self.unstored:
                log.warning("engagement: the %s reading of status %s was not stored: %s", r.reading, status_id, e)
            self.unstored.add((r.slot, r.reading))
            return False
        self.unstored.discard((r.slot, r.reading))
        return True

    def _note(self, state: str | None, level: int = logging.INFO, message: str = "", *args) -> None:
        """One log line when a state that persists begins (a rate-limit window, an unreachable
        server), not one per pass; and one when it ends."""
        if state == self.state:
            return
        if state is not None:
            log.log(level, message, *args)
        elif self.state is not None:
            log.info("engagement: reading again")
        self.state = state
