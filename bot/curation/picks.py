"""Learning the owner's taste from their answers in approval mode (bot/posting/approval.py).

Each answered slot is one labelled example: the candidates the owner was shown (their features)
and the one they picked (an edit counts for the candidate it answered), or none (they rejected
them all). The model is a conditional logit over the curator's features: the owner picks
candidate j with probability proportional to exp(s * w . x_j), or none with exp(s * tau), where s
(the owner's consistency) is the most likely of SCALES. Its prior is the
shipped curator: each weight's prior mean is the curator's, with the prior spread the engagement
learner uses (learning.prior_sd: half a panel point per typical change of the feature), so a few
answers move the ranking a little and many move it far. The posterior mode is found by Newton's
method (the objective is convex). Pure numpy.

A refit is used only when it ranks held-out answers at least as well as the shipped curator:
K-fold by slot, the measure being the mean rank of the owner's pick among the candidates shown
(1 = the curator put it first), and only after MIN_PICKS picks.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .curator import Curator
from .learning import NOT_LEARNED, prior_sd, score

MIN_PICKS = 8  # picks before a refit may be used (fewer: the shipped curator)
FOLDS = 10  # held-out folds (by slot) when judging a refit
NONE_SD = 2.0  # prior spread of the "none of these" utility, in panel points
MAX_STEPS = 50  # Newton steps (a fit converges in well under 20)
SCALES = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # the owner's consistency tried: utility units per panel point


@dataclass(frozen=True)
class Example:
    """One answered slot: the features of the candidates shown, in the order shown, and the
    index of the one picked (None: the owner rejected them all)."""

    shown: tuple[dict[str, float], ...]
    picked: int | None


@dataclass(frozen=True)
class Refit:
    """A refit and how it ranks held-out answers against the shipped curator."""

    curator: Curator  # the refit (weights and the shipped bias)
    answers: int  # examples learned from (picks and rejections)
    picks: int  # of which the owner picked a candidate
    rank_shipped: float | None  # mean rank (1 = first) of the owner's pick among those shown: shipped curator
    rank_refit: float | None  # the same for refits that did not see that answer (K-fold)
    shown: float | None  # candidates shown per pick, on average (the rank's worst value)

    @property
    def used(self) -> bool:
        """Whether the refit replaces the shipped curator: enough picks, and it ranks held-out
        picks at least as well."""
        return (self.picks >= MIN_PICKS and self.rank_refit is not None and self.rank_shipped is not None
                and self.rank_refit <= self.rank_shipped + 1e-9)

    def summary(self) -> dict:
        """What the state database keeps (bot_meta) and `bot stats` shows."""
        return {"answers": self.answers, "picks": self.picks, "rank_shipped": self.rank_shipped,
                "rank_refit": self.rank_refit, "shown": self.shown, "used": self.used,
                "weights": self.curator.weights, "bias": self.curator.bias}


def _names(examples: Sequence[Example], prior: Curator) -> list[str]:
    return sorted((set(prior.weights) | {k for e in examples for x in e.shown for k in x}) - NOT_LEARNED)


def fit(examples: Sequence[Example], prior: Curator) -> Curator:
    """The posterior mode of the weights after the examples, from the prior curator's, at the
    owner's most likely consistency (SCALES: how many utility units a panel point is worth to the
    owner's choice; a consistent owner is explained by a larger scale, not by weights blown up
    out of proportion to the curator's). Raises ValueError for a feature that is not a finite
    number."""
    names = _names(examples, prior)
    if not examples:
        return Curator(dict(prior.weights), prior.bias, "owner's picks (none yet)")
    index = {n: i for i, n in enumerate(names)}
    d, width = len(names), max(len(e.shown) for e in examples) + 1
    # z[e, j]: option j of example e (the shown candidates, then "none", whose own utility is
    # tau); options past an example's count are masked out.
    z = np.zeros((len(examples), width, d + 1))
    present = np.zeros((len(examples), width), dtype=bool)
    chosen = np.zeros(len(examples), dtype=int)
    for row, e in enumerate(examples):
        for j, x in enumerate(e.shown):
            for k, v in x.items():
                if k in index:
                    z[row, j, index[k]] = v
        z[row, width - 1, d] = 1.0
        present[row, : len(e.shown)] = present[row, width - 1] = True
        chosen[row] = width - 1 if e.picked is None else e.picked
    if not np.isfinite(z).all():
        raise ValueError("a shown candidate's feature is not a finite number")
    w0 = np.array([prior.weights.get(n, 0.0) for n in names])
    tau0 = float(np.mean((z[:, :, :d] @ w0)[present & (np.arange(width) < width - 1)]))
    theta0 = np.append(w0, tau0)
    precision = np.append([prior_sd(n) ** -2 for n in names], NONE_SD ** -2)
    found = [_mode(z, present, chosen, theta0, precision, scale) for scale in SCALES]
    theta = min(found, key=lambda f: f[1])[0]
    return Curator(dict(zip(names, theta[:d].tolist())), prior.bias, f"owner's picks ({len(examples)} answers)")


def _mode(z: np.ndarray, present: np.ndarray, chosen: np.ndarray, theta0: np.ndarray, precision: np.ndarray,
          scale: float) -> tuple[np.ndarray, float]:
    """Newton's method on the negative log posterior with utilities scale * (z . theta): the
    mode and the objective's value there."""
    rows = np.arange(len(chosen))
    picked_z = z[rows, chosen]

    def probabilities(t):
        u = np.where(present, scale * (z @ t), -np.inf)
        p = np.exp(u - u.max(axis=1, keepdims=True))
        return p / p.sum(axis=1, keepdims=True)

    def objective(t):
        chosen_p = probabilities(t)[rows, chosen]
        return 0.5 * float(np.sum(precision * (t - theta0) ** 2)) - float(np.sum(np.log(np.maximum(chosen_p, 1e-300))))

    theta = theta0.copy()
    current = objective(theta)
    for _ in range(MAX_STEPS):
        p = probabilities(theta)
        mean = np.einsum("ej,ejk->ek", p, z)
        grad = precision * (theta - theta0) + scale * (mean - picked_z).sum(axis=0)
        hess = np.diag(precision) + scale ** 2 * (np.einsum("ej,ejk,ejl->kl", p, z, z) - mean.T @ mean)
        step = np.linalg.solve(hess, grad)
        size = 1.0
        while size > 1e-4:
            candidate = theta - size * step
            value = objective(candidate)
            if value <= current:
                break
            size /= 2
        else:
            break
        theta, improved, current = candidate, current - value, value
        if improved < 1e-10 or np.abs(size * step).max() < 1e-8:
            break
    return theta, current


def pick_rank(example: Example, weights: dict[str, float]) -> float | None:
    """Where the weights put the owner's pick among the candidates shown: 1 = first, ties shared
    (two level at the top: 1.5 each). None when the owner picked none."""
    if example.picked is None:
        return None
    scores = [score(weights, x) for x in example.shown]
    mine = scores[example.picked]
    above = sum(s > mine + 1e-12 for s in scores)
    level = sum(abs(s - mine) <= 1e-12 for s in scores) - 1
    return 1.0 + above + level / 2


def held_out_ranks(examples: Sequence[Example], prior: Curator, folds: int = FOLDS) -> tuple[list[float], list[float]]:
    """The rank of each pick (in example order) under the prior curator and under a refit on the
    other folds' examples (example i is in fold i % folds)."""
    shipped, refit = [], []
    k = max(1, min(folds, len(examples)))
    fitted = {f: fit([e for i, e in enumerate(examples) if i % k != f], prior) for f in range(k)}
    for i, e in enumerate(examples):
        before = pick_rank(e, prior.weights)
        if before is None:
            continue
        shipped.append(before)
        refit.append(pick_rank(e, fitted[i % k].weights))
    return shipped, refit


def refit(examples: Sequence[Example], prior: Curator) -> Refit:
    """Fit on every example, and judge the fit on held-out folds (see the module's docstring).
    Raises ValueError as fit does."""
    picks = [e for e in examples if e.picked is not None]
    curator = fit(examples, prior)
    if not picks:
        return Refit(curator, len(examples), 0, None, None, None)
    shipped, held = held_out_ranks(examples, prior)
    return Refit(curator, len(examples), len(picks), float(np.mean(shipped)), float(np.mean(held)),
                 float(np.mean([len(e.shown) for e in picks])))


def from_summary(summary: dict, prior: Curator) -> Curator | None:
    """The stored refit as a curator, if it is used; None otherwise (or if it is malformed)."""
    try:
        if not summary.get("used"):
            return None
        weights = {str(k): float(v) for k, v in summary["weights"].items()}
        bias = float(summary.get("bias", prior.bias))
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if not all(np.isfinite(v) for v in [bias, *weights.values()]):
        return None
    source = f"owner's picks ({summary.get('picks', 0)} picks) over {prior.source or 'the curator'}"
    return Curator(weights, bias, source, dict(prior.notes))
