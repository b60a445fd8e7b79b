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
from typing import Callable, Sequence

import numpy as np

from ..curation import learning
from ..curation.curator import Curator
from ..errors import TemporaryServerError
from .gateway import Gateway, read_counts
from .settings import Settings
from ..store import PooledCandidate, Reading, Store

log = logging.getLogger("bot")
MAX_SINGLE_READS = 20  # single-status reads per run, after the one page of latest statuses
PAGE_MARGIN = 5  # statuses read past the oldest due post (posts made by hand, by another instance)
RATE_RESERVE = 60  # requests left in the server's window that the engagement job never uses


def shipped_curator(model_dir: Path) -> Curator:
    """The curator beside the model in model_dir (the prior mean of the learned weights)."""
    from ..curation import curator as curator_module
    from ..curation.evidence import CURATOR_FILE
    from ..model.modelfile import ModelPaths

    return curator_module.load(Path(model_dir) / CURATOR_FILE.format(name=ModelPaths.in_directory(model_dir).name))


def observations(store: Store) -> list[learning.Observation]:
    """Posts with features and a first reading, oldest first (gone statuses left out)."""
    by_slot: dict[int, dict[str, Reading]] = {}
    for r in store.readings():
        by_slot.setdefault(r.slot, {})[r.reading] = r
    out = []
    for p in store.post_features():
        found = by_slot.get(p.slot, {})
        first, final = found.get("first"), found.get("final")
        if not p.features or first is None or first.total is None:
            continue
        out.append(learning.Observation(p.features, first.total, final.total if final else None))
    return out


class Learner:
    def __init__(self, settings: Settings, store: Store, prior: Curator | None = None,
                 rng: random.Random | None = None):
        """prior: the curator whose weights are the prior mean; default the one beside the model
        in BOT_MODEL_DIR (the one that scored the pool)."""
        self.settings, self.store = settings, store
        self.prior = prior if prior is not None else shipped_curator(settings.model_dir)
        self.rng = rng or random.Random()

    def posterior(self, extra_names: Sequence[str] = ()) -> learning.Posterior:
        return learning.fit(observations(self.store), self.prior, extra_names)

    def refit(self, now: int) -> learning.Posterior:
        """Refit from every stored reading and keep a snapshot of the weights."""
        posterior = self.posterior()
        self.store.add_snapshot(now, posterior.observations,
                                {k: [round(m, 5), round(s, 5)] for k, (m, s) in posterior.summary().items()})
        return posterior

    def frozen_weights(self) -> dict[str, float]:
        latest = self.store.latest_snapshot()
        if latest is None:
            return dict(self.prior.weights)
        return {**self.prior.weights, **{k: v[0] for k, v in latest[2].items() if k != "bias"}}

    def choose(self, candidates: Sequence[PooledCandidate], recent: Sequence[str]) -> learning.Choice | None:
        """The candidate to post after the recent posts (oldest first)."""
        texts = [c.text for c in candidates]
        features = [c.features for c in candidates]
        if not self.settings.learning or not any(features):
            # Frozen, or a model without features: the shipped order (or the frozen weights).
            weights = self.frozen_weights() if any(features) else {}
            return learning.choose(texts, features, recent, weights, how="curator")
        posts = self.store.post_features()
        explore = learning.explores(len(posts), sum(p.choice == "explore" for p in posts), self.settings.exploration)
        names = sorted({k for f in features for k in f})
        draw = self.posterior(names).sample(np.random.default_rng(self.rng.getrandbits(64)))
        return learning.choose(texts, features, recent, draw, explore=explore, rng=self.rng)


class EngagementJob:
    """Reads the engagement counts of the bot's own posts at ENGAGEMENT_AFTER and again at
    ENGAGEMENT_FINAL, within the server's rate limits; stores only the counts."""

    def __init__(self, settings: Settings, store: Store, gateway: Gateway, account_id, learner: Learner,
                 clock: Callable[[], float]):
        self.settings, self.store, self.gateway, self.account_id = settings, store, gateway, account_id
        self.learner, self.clock = learner, clock

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
        """One pass: read what is due, store it, refit (LEARNING=on). Returns the readings stored.
        A rate limit or an unreachable server ends the pass; the next one goes on."""
        now = self.clock()
        due = self.due(now)
        if not due:
            return 0
        client = self.gateway.client  # Mastodon.py keeps the server's X-RateLimit headers
        remaining, reset = getattr(client, "ratelimit_remaining", None), getattr(client, "ratelimit_reset", None)
        if (isinstance(remaining, (int, float)) and remaining < RATE_RESERVE and isinstance(reset, (int, float))
                and time.time() < reset):
            log.info("engagement: %d requests left in the server's window; reading later", remaining)
            return 0
        try:
            newest = due[-1][3] + PAGE_MARGIN  # enough of the latest posts to hold every due one
            counts = read_counts(self.gateway, self.account_id, [d[0] for d in due], MAX_SINGLE_READS, newest)
        except TemporaryServerError as e:
            log.warning("engagement: %s; reading later", e)
            return 0
        firsts = {r.slot for r in self.store.readings() if r.reading == "first"}
        stored = 0
        for status_id, slot, reading, _ in due:
            if status_id not in counts:
                continue  # over this pass' read budget
            c = counts[status_id]
            self.store.record_reading(Reading(slot, reading, c and c.favourites, c and c.boosts, c and c.replies,
                                              int(now)))
            if reading == "final" and slot not in firsts:
                # Missed the first reading (the worker was down): the final one stands in for it.
                self.store.record_reading(Reading(slot, "first", c and c.favourites, c and c.boosts,
                                                  c and c.replies, int(now)))
            stored += 1
        if stored and self.settings.learning:
            posterior = self.learner.refit(int(now))
            log.info("engagement: %d readings stored; learned from %d posts", stored, posterior.observations)
        return stored
