"""Learning from the audience: a Bayesian linear model of engagement over the curator's features.

The prior mean of every weight is the shipped curator's (panel-fitted) weight, so with no data
the learned ranking is the curator's. Each post's engagement (favourites + boosts + replies) is
turned into a target in panel points: log(1 + count), minus the mean of the posts around it (the
audience grows and shrinks; only how a post did against its neighbours is credited to its
features), divided by the spread of those differences, times ENGAGEMENT_SCALE. The posterior is
Gaussian with a known noise level (conjugate: exact, no iterations), refitted from all stored
observations whenever a reading arrives. Ranking draws one weight vector from it per post
(Thompson sampling); a fixed share of posts is a random candidate the variety rule allows.
Pure numpy; the state database keeps the observations and snapshots (bot/posting/learner.py).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from . import variety
from .curator import Curator
from .links import LINK_FEATURE, LINK_MIN, NO_LINK

# A typical change of each feature (one-hot and 0/1 features: 1). The prior lets such a change
# move the score by about PRIOR_SD panel points either way from the curator's weight.
FEATURE_SCALES = {"song_fluency": 0.5, "paper_fluency": 0.5, "words": 3.0, "chars": 20.0, "song_words": 2.0,
                  "paper_words": 2.0, "jargon": 1.0, "temperature": 0.2, "song_commonness": 1.0,
                  "paper_commonness": 1.0}
PRIOR_SD = 0.5  # panel points per typical change of a feature
BIAS_SD = 10.0  # the intercept is free: engagement targets are centred, panel scores are not
NOISE_SD = 1.0  # target units (panel points); targets have spread ENGAGEMENT_SCALE
# Features the choice uses as a gate, not as a weight: within linked picks, blind panels found no
# order by link strength (docs/decisions.md, panels 43-45), and posts stored before links lack it.
NOT_LEARNED = frozenset({LINK_FEATURE})
ENGAGEMENT_SCALE = 1.0  # panel points per standard deviation of relative log engagement
NEIGHBOURS = 15  # posts on each side that a post's engagement is compared with
MIN_SPREAD = 0.05  # floor of the relative log engagement's spread (all posts alike)


@dataclass(frozen=True)
class Observation:
    """One post: the features the curator saw and its engagement counts (favourites + boosts +
    replies) at the first reading (ENGAGEMENT_AFTER) and the final one (72 h; None until read)."""

    features: dict[str, float]
    first: int
    final: int | None = None


def log_engagement(observations: Sequence[Observation]) -> np.ndarray:
    """log(1 + count) per post: the final reading where there is one, else the first shifted by
    the mean final-minus-first difference of the posts that have both (0 when none has)."""
    first = np.array([math.log1p(o.first) for o in observations])
    final = np.array([math.log1p(o.final) if o.final is not None else np.nan for o in observations])
    both = ~np.isnan(final)
    shift = float(np.mean(final[both] - first[both])) if both.any() else 0.0
    return np.where(both, final, first + shift)


def targets(observations: Sequence[Observation]) -> np.ndarray:
    """Relative engagement in panel points, per post (in posting order): how much better or worse
    each post did than the NEIGHBOURS posts either side of it."""
    n = len(observations)
    if n < 2:
        return np.zeros(n)
    logs = log_engagement(observations)
    centred = np.array([logs[i] - logs[max(0, i - NEIGHBOURS): i + NEIGHBOURS + 1].mean() for i in range(n)])
    spread = max(float(centred.std()), MIN_SPREAD)
    return ENGAGEMENT_SCALE * centred / spread


@dataclass(frozen=True)
class Posterior:
    """Gaussian posterior over the bias and the weights of names."""

    names: tuple[str, ...]
    mean: np.ndarray  # [bias, *weights]
    cov: np.ndarray
    observations: int = 0

    def weights(self) -> dict[str, float]:
        return dict(zip(self.names, self.mean[1:].tolist()))

    def sd(self) -> dict[str, float]:
        return dict(zip(self.names, np.sqrt(np.diag(self.cov)[1:]).tolist()))

    @property
    def bias(self) -> float:
        return float(self.mean[0])

    def sample(self, rng: np.random.Generator) -> dict[str, float]:
        """One draw of the weights (Thompson sampling)."""
        chol = np.linalg.cholesky(self.cov + 1e-12 * np.eye(len(self.mean)))
        drawn = self.mean + chol @ rng.standard_normal(len(self.mean))
        return dict(zip(self.names, drawn[1:].tolist()))

    def summary(self) -> dict[str, tuple[float, float]]:
        """name -> (mean, sd), with the bias as "bias": what a snapshot keeps."""
        sds = np.sqrt(np.diag(self.cov))
        out = {"bias": (float(self.mean[0]), float(sds[0]))}
        out.update({n: (float(m), float(s)) for n, m, s in zip(self.names, self.mean[1:], sds[1:])})
        return out


def prior_sd(name: str) -> float:
    return PRIOR_SD / FEATURE_SCALES.get(name, 1.0)


def fit(observations: Sequence[Observation], prior: Curator, extra_names: Sequence[str] = ()) -> Posterior:
    """The posterior after the observations (in posting order), starting from the curator's
    weights. Names: the curator's, the observations' and extra_names (a candidate's feature no
    post had yet keeps its prior). Raises ValueError (or numpy's LinAlgError) when the data
    cannot be fitted: a count below 0, a feature or result that is not a finite number."""
    names = sorted((set(prior.weights) | {k for o in observations for k in o.features} | set(extra_names))
                   - NOT_LEARNED)
    mean0 = np.array([prior.bias] + [prior.weights.get(n, 0.0) for n in names])
    precision0 = np.diag([BIAS_SD ** -2] + [prior_sd(n) ** -2 for n in names])
    if not observations:
        return Posterior(tuple(names), mean0, np.linalg.inv(precision0), 0)
    index = {n: i + 1 for i, n in enumerate(names)}
    x = np.zeros((len(observations), len(names) + 1))
    x[:, 0] = 1.0
    for row, o in enumerate(observations):
        for k, v in o.features.items():
            if k in index:
                x[row, index[k]] = v
    y = targets(observations)
    precision = precision0 + x.T @ x / NOISE_SD ** 2
    cov = np.linalg.inv(precision)
    cov = (cov + cov.T) / 2
    mean = cov @ (precision0 @ mean0 + x.T @ y / NOISE_SD ** 2)
    if not (np.isfinite(mean).all() and np.isfinite(cov).all()):
        raise ValueError("the learned weights are not finite numbers (a feature or count is not)")
    return Posterior(tuple(names), mean, cov, len(observations))


def score(weights: dict[str, float], features: dict[str, float]) -> float:
    return sum(weights.get(k, 0.0) * v for k, v in features.items())


def explores(posts: int, explored: int, share: float) -> bool:
    """Whether the next post explores, after `posts` posts of which `explored` did: so that
    floor(n * share) of the first n posts explore (a post that could not, because the variety
    rule allowed nothing, is made up for by the next)."""
    return explored < math.floor((posts + 1) * share + 1e-9)


SHORTLIST = 5  # an exploring post is one of the curator's top few that the variety rule allows
LEARNED_SHORTLIST = 30  # a learned pick is one of the curator's top 30 (of about 200 in a pool)


@dataclass(frozen=True)
class Choice:
    index: int  # into the candidates
    how: str  # "learned" (a Thompson draw), "explore" (random in the shortlist) or "curator" (frozen)
    score: float  # the candidate's score under the weights used (0 for "explore")
    linked: bool = False  # drawn among the candidates whose halves link (linked_first)


def one_shape(texts: Sequence[str], indices: list[int], rng: random.Random) -> list[int]:
    """The indices whose post has one shape (variety.shape_of), the shape drawn uniformly among
    those present: readers mark down one formula repeated ("Song (Generic Term Mix)" in 30 of 32
    independent picks, issue 18), and the curator alone would pick the same shape from every pool.
    Drawing the seam kind instead, among every allowed candidate, scored lower (panels 13 and 15
    against 11 and 12, docs/decisions.md): the best of a rare kind is often far down the curator's
    order; so did giving the colon, the raters' favourite kind until then, 30% of picks (panels
    20-21)."""
    shapes = sorted({variety.shape_of(texts[i]) for i in indices})
    drawn = rng.choice(shapes)
    return [i for i in indices if variety.shape_of(texts[i]) == drawn]


def without_generic(texts: Sequence[str], indices: list[int], generic: frozenset[str]) -> list[int]:
    """The indices whose post uses none of the generic words (variety.generic_words), or all of
    them if every one does: a fresh worker has no recent posts to keep it off the corpus' most
    common words, and "learning" was in 25% of 32 independent picks (issue 18's limit: 10%)."""
    plain = [i for i in indices if not variety.post_words(texts[i]) & generic]
    return plain or indices


def linked_first(texts: Sequence[str], features: Sequence[dict[str, float]], recent: Sequence[str],
                 short: list[int]) -> tuple[list[int], bool]:
    """The LEARNED_SHORTLIST best of the candidates whose halves link (links.LINK_MIN) that the
    variety rule allows after recent, and True; short (the shortlist of all) and False if none
    does (a candidate without the feature, as in pools stored before links, does not link)."""
    linked = [i for i, f in enumerate(features) if f.get(LINK_FEATURE, NO_LINK) >= LINK_MIN]
    found = [linked[k] for k in variety.shortlist([texts[i] for i in linked], recent, LEARNED_SHORTLIST)
             if variety.allowed(texts[linked[k]], recent)]
    return (found, True) if found else (short, False)


def choose(texts: Sequence[str], features: Sequence[dict[str, float]], recent: Sequence[str],
           weights: dict[str, float], how: str = "learned", explore: bool = False,
           rng: random.Random | None = None, generic: frozenset[str] = frozenset()) -> Choice | None:
    """The post among the candidates (given best first by the curator), always one the curator
    ranks high among those the variety rule allows after recent (variety.shortlist): with
    explore, a random one of the SHORTLIST best; else, among the LEARNED_SHORTLIST best whose
    halves link (linked_first; of all, where none does), the best under weights (ties keep the
    given order): for the curator's choice ("curator": nothing
    learned yet, or frozen), the best of one shape drawn at random (one_shape), preferring posts
    without generic words (without_generic); a learned choice ranks them all (the variety rule's
    shape and word limits still hold). rng: the draws (reproducible for a seeded one). None for no
    candidates."""
    short = variety.shortlist(texts, recent, SHORTLIST if explore else LEARNED_SHORTLIST)
    if not short:
        return None
    rng = rng or random.Random(0)
    if explore:
        return Choice(rng.choice(short), "explore", 0.0)
    short, linked = linked_first(texts, features, recent, short)
    if how == "curator":  # nothing learned (or frozen): the curator alone would pick one shape from every pool
        short = without_generic(texts, one_shape(texts, short, rng), generic)
    scores = {i: score(weights, features[i]) for i in short}
    picked = min(short, key=lambda i: (-scores[i], i))
    return Choice(picked, how, scores[picked], linked)
