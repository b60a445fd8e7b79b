"""Fit the curator's weights to blind panels' ratings (ridge regression of the mean 1-5 score),
and test a fit out of sample: fitted on earlier panels, scored on the next panel's items.

Each panel folder holds, beside its key and ratings, features-all.jsonl (features.py): one JSON
object per rated item, {"text", "group", "features"}. Each item's target is the mean of its
raters' scores; the panels and groups are pooled. The baseline's real titles teach what the
network's halves rarely show (a long real song title, a specific phrase), but they differ from
network halves in two ways the fit must not learn from: their level (an indicator
`group=baseline` absorbs it and is left out of the shipped weights) and their fluency under the
model and in the index of word pairs (a real phrase the model finds unlikely is specific, a
network phrase it finds unlikely is salad; a real phrase's "unseen" word pair is one the index's
cutting at joining words left out, a network phrase's is salad: the baseline's values of these
are set to the network items' mean, so those weights come from network halves alone). Features
are standardised before the fit and the weights mapped back, so the penalty treats them alike; a
feature seen on fewer than MIN_SUPPORT items is left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...curation.curator import Curator
from ...errors import PanelError
from .features import FEATURES_FILE
from .sheets import rated_means

MIN_SUPPORT = 6  # a feature seen on fewer rated items (a rare seam) is left out: too little to go on
MIN_ITEMS = 10
REAL = "baseline"  # the group of real titles
LEVEL = f"group={REAL}"
NETWORK_ONLY = ("song_fluency", "paper_fluency", "song_unseen_pairs", "paper_unseen_pairs", "paper_commonness")


@dataclass(frozen=True)
class Rows:
    """Rated items with features: features per item, mean score, group, and the item's text."""
    features: list[dict[str, float]]
    scores: np.ndarray
    groups: list[str]
    texts: list[str]

    @property
    def network(self) -> np.ndarray:
        return np.array([g != REAL for g in self.groups], dtype=bool)


def rated_rows(folders: list[Path], groups: set[str] | None) -> Rows:
    """Every rated item with features in the folders (groups: only these), the real titles'
    network-only features set to the network items' mean and their level marked by LEVEL.
    Raises PanelError for a folder without features-all.jsonl, or whose key, ratings or
    features cannot be read."""
    rows, y, names, texts = [], [], [], []
    for folder in folders:
        if not (folder / FEATURES_FILE).exists():
            raise PanelError(f"{folder} has no {FEATURES_FILE}: run `bot panel features {folder}` first")
        try:
            scores = rated_means(folder)
            lines = (folder / FEATURES_FILE).read_text(encoding="utf8").splitlines()
        except (OSError, UnicodeDecodeError) as e:
            raise PanelError(f"{folder} is not a readable panel folder ({type(e).__name__}: {e})") from None
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
                key = (obj["group"], obj["text"])
                found = {str(k): float(v) for k, v in obj["features"].items()}
            except (ValueError, KeyError, TypeError, AttributeError) as e:
                raise PanelError(f"{folder / FEATURES_FILE} line {number} is not an item with features "
                                 f"({type(e).__name__}: {e}); run `bot panel features {folder}` again") from None
            if key in scores and (groups is None or obj["group"] in groups):
                rows.append({**found, LEVEL: float(obj["group"] == REAL)})
                y.append(scores[key])
                names.append(obj["group"])
                texts.append(obj["text"])
    network = [r for r, g in zip(rows, names) if g != REAL]
    for feature in NETWORK_ONLY:
        mean = float(np.mean([r.get(feature, 0.0) for r in network])) if network else 0.0
        for r, g in zip(rows, names):
            if g == REAL:
                r[feature] = mean
    return Rows(rows, np.array(y, dtype=float), names, texts)


def fit(rows: list[dict[str, float]], y: np.ndarray, alpha: float) -> tuple[dict[str, float], float, list[str]]:
    """Ridge regression on standardised features; returns (weights on the raw scale, bias, names)."""
    names = sorted({k for r in rows for k, v in r.items() if v})
    names = [n for n in names if sum(bool(r.get(n)) for r in rows) >= MIN_SUPPORT]
    x = np.array([[r.get(n, 0.0) for n in names] for r in rows]).reshape(len(rows), len(names))
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    z = (x - mean) / std
    yc = y - y.mean()
    beta = np.linalg.solve(z.T @ z + alpha * np.eye(len(names)), z.T @ yc)
    weights = beta / std
    bias = float(y.mean() - weights @ mean)
    return {n: float(w) for n, w in zip(names, weights)}, bias, names


def predict(weights: dict[str, float], bias: float, row: dict[str, float]) -> float:
    return bias + sum(weights.get(k, 0.0) * v for k, v in row.items())


def leave_one_out(rows: list[dict[str, float]], y: np.ndarray, alpha: float) -> np.ndarray:
    out = []
    for i in range(len(rows)):
        w, b, _ = fit(rows[:i] + rows[i + 1:], np.delete(y, i), alpha)
        out.append(predict(w, b, rows[i]))
    return np.array(out)


def _r(x, y) -> float | None:
    """Pearson r, None when undefined (fewer than 3 items or a constant side)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 3 or x.std() == 0 or y.std() == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _ranks(x) -> np.ndarray:
    """Ranks with ties given their mean rank."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="mergesort")
    ranks = np.empty(len(x))
    ranks[order] = np.arange(len(x))
    for value in np.unique(x):
        tied = x == value
        ranks[tied] = ranks[tied].mean()
    return ranks


def spearman(x, y) -> float | None:
    """Spearman's rank correlation (Pearson r of the ranks); None when undefined."""
    return _r(_ranks(x), _ranks(y)) if len(x) >= 3 else None


@dataclass(frozen=True)
class Fitted:
    curator: Curator
    rows: Rows
    in_sample_r: float
    leave_one_out_r: float
    leave_one_out_r_network: float | None


def fit_curator(folders: list[Path], groups: set[str] | None, alpha: float) -> Fitted:
    """The curator fitted to every rated item of the folders, with its in-sample and
    leave-one-out r. Raises PanelError when there is too little to fit."""
    rows = rated_rows(folders, groups)
    if len(rows.features) < MIN_ITEMS:
        raise PanelError(f"only {len(rows.features)} rated items have features; need at least {MIN_ITEMS}")
    if rows.scores.std() == 0:
        raise PanelError(f"all {len(rows.features)} items have the same mean rating; there is nothing to fit")
    weights, bias, names = fit(rows.features, rows.scores, alpha)
    if not names:
        raise PanelError(f"no feature is set on at least {MIN_SUPPORT} items; nothing to fit")
    inside = _r([predict(weights, bias, r) for r in rows.features], rows.scores)
    loo = leave_one_out(rows.features, rows.scores, alpha)
    loo_r = _r(loo, rows.scores)
    net = rows.network
    loo_net = _r(loo[net], rows.scores[net]) if net.sum() > 2 else None
    level = weights.pop(LEVEL, 0.0)
    counts = {g: rows.groups.count(g) for g in sorted(set(rows.groups))}
    notes = {"items": len(rows.features), "groups": counts, "alpha": alpha,
             "in_sample_r": round(inside or 0.0, 3), "leave_one_out_r": round(loo_r or 0.0, 3),
             "leave_one_out_r_network": None if loo_net is None else round(loo_net, 3),
             "mean_score": round(float(rows.scores.mean()), 3), "baseline_level": round(level, 3)}
    curator = Curator(weights, bias, ", ".join(f.name for f in folders), notes)
    return Fitted(curator, rows, inside or 0.0, loo_r or 0.0, loo_net)


@dataclass(frozen=True)
class Held:
    """How a curator fitted on earlier panels, and the shipped one, rank the next panel's items."""
    panel: str
    fitted_on: tuple[str, ...]
    items: int  # the next panel's network items with features (the ones a curator must rank)
    refit_r: float | None  # Pearson r of the refit's scores with the mean ratings
    refit_rho: float | None  # Spearman rank correlation
    shipped_r: float | None
    shipped_rho: float | None

    @property
    def refit_ranks_better(self) -> bool:
        return (self.refit_rho is not None
                and (self.shipped_rho is None or self.refit_rho > self.shipped_rho))


def rolling(folders: list[Path], shipped: Curator, alpha: float, groups: set[str] | None = None) -> list[Held]:
    """For each panel after the first (in the order given): a curator fitted on every earlier
    panel, and the shipped one, scored on that panel's network items (the baseline's real titles
    are never ranked by the curator). Scores are the curator's own (clipped to 1-5)."""
    out = []
    for k in range(1, len(folders)):
        fitted = fit_curator(folders[:k], groups, alpha).curator
        test = rated_rows([folders[k]], groups)
        net = test.network
        feats = [f for f, keep in zip(test.features, net) if keep]
        y = test.scores[net]
        refit = [fitted.score(f) for f in feats]
        ship = [shipped.score(f) for f in feats]
        out.append(Held(folders[k].name, tuple(f.name for f in folders[:k]), len(feats),
                        _r(refit, y), spearman(refit, y), _r(ship, y), spearman(ship, y)))
    return out


# Weights tune tries, in score points per unit of the feature, beside the shipped weight: past 1,
# one feature would swamp a fitted curator, whose weights are all under 1 in magnitude.
TUNE_GRID = (-1.0, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0)
MIN_RANKED = 3  # network items a panel needs for its rank correlation to count


@dataclass(frozen=True)
class Tuned:
    """One weight of the shipped curator chosen on some panels and checked on later ones: the
    measure is the mean, over panels, of the Spearman rho between the curator's scores and the
    mean ratings of each panel's network items (how well it orders what a pool offers)."""
    curator: Curator  # the shipped curator with the tuned weight
    feature: str
    was: float
    weight: float
    fit_rho: float  # mean per-panel rho on the fit panels, tuned weight
    fit_rho_shipped: float
    test_rho: float | None  # the same on the held-out panels (None: none given, or none rankable)
    test_rho_shipped: float | None
    test_better: int  # held-out panels the tuned weight ranks better than the shipped one
    test_panels: int  # held-out panels with enough network items to rank


def panel_rhos(folders: list[Path], curator: Curator, groups: set[str] | None = None) -> list[float | None]:
    """Spearman rho of the curator's scores with the mean ratings, over each panel's network
    items, one per folder: None for a panel with fewer than MIN_RANKED network items or whose
    items were all rated alike; 0.0 where the curator scores them all alike (it orders nothing).
    Raises PanelError as rated_rows does."""
    return _rhos([rated_rows([f], groups) for f in folders], curator)


def _rhos(panels: list[Rows], curator: Curator) -> list[float | None]:
    """panel_rhos over panels already read (one Rows each)."""
    out = []
    for rows in panels:
        net = rows.network
        y = rows.scores[net]
        if len(y) < MIN_RANKED or y.std() == 0:
            out.append(None)
            continue
        rho = spearman([curator.score(f) for f, keep in zip(rows.features, net) if keep], y)
        out.append(0.0 if rho is None else rho)
    return out


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known else None


def _names(folders: list[Path]) -> str:
    return ", ".join(f.name for f in folders)


def tune(fit_folders: list[Path], test_folders: list[Path], shipped: Curator, feature: str,
         grid: tuple[float, ...] = TUNE_GRID, groups: set[str] | None = None) -> Tuned:
    """The weight of feature, among grid and the shipped weight, that orders the fit panels'
    network items best (mean per-panel Spearman rho, panel_rhos; ties go to the weight nearest
    the shipped one), every other weight kept; with how it and the shipped curator order the
    held-out test panels. Raises PanelError for a weight that is not a finite number, a feature
    no network item of the fit panels has, a folder given twice or both to fit and to test, no
    fit panel with MIN_RANKED network items rated apart, or a folder rated_rows cannot read."""
    if not all(np.isfinite(w) for w in grid):
        raise PanelError(f"every weight to try must be a finite number, not {', '.join(f'{w:g}' for w in grid)}")
    given = [f.resolve() for f in [*fit_folders, *test_folders]]
    if len(set(given)) < len(given):
        raise PanelError("a panel folder is given twice (a held-out panel must not be a fit panel)")
    fit_panels = [rated_rows([f], groups) for f in fit_folders]  # each folder read once
    test_panels = [rated_rows([f], groups) for f in test_folders]
    if not any(f.get(feature) for rows in fit_panels for f, net in zip(rows.features, rows.network) if net):
        raise PanelError(f"no network item of {_names(fit_folders)} has the feature {feature!r}; "
                         "the features are the keys of features-all.jsonl")

    def with_weight(w: float) -> Curator:
        return Curator({**shipped.weights, feature: w}, shipped.bias, shipped.source, shipped.notes)

    was = shipped.weights.get(feature, 0.0)
    tried = {w: _mean(_rhos(fit_panels, with_weight(w))) for w in sorted({*grid, was})}
    if tried[was] is None:
        raise PanelError(f"no panel of {_names(fit_folders)} has {MIN_RANKED} or more network items rated apart")
    best = max(tried, key=lambda w: (round(tried[w], 9), -abs(w - was)))
    pairs = [(t, s) for t, s in zip(_rhos(test_panels, with_weight(best)), _rhos(test_panels, shipped))
             if t is not None and s is not None]
    tuned_test, shipped_test = _mean([t for t, _ in pairs]), _mean([s for _, s in pairs])
    better = sum(t > s for t, s in pairs)
    rounded = lambda x: None if x is None else round(x, 3)  # noqa: E731
    note = {"feature": feature, "was": round(was, 4), "weight": best, "fit_on": _names(fit_folders),
            "fit_rho": rounded(tried[best]), "fit_rho_shipped": rounded(tried[was])}
    if test_folders:
        note.update({"held_out": _names(test_folders), "test_rho": rounded(tuned_test),
                     "test_rho_shipped": rounded(shipped_test), "test_better": better,
                     "test_panels": len(pairs)})
    earlier = shipped.notes.get("tuned")
    curator = Curator({**shipped.weights, feature: best}, shipped.bias,
                      f"{shipped.source}; {feature} tuned on {_names(fit_folders)}",
                      {**shipped.notes, "tuned": [*(earlier if isinstance(earlier, list) else []), note]})
    return Tuned(curator, feature, was, best, tried[best], tried[was], tuned_test, shipped_test, better, len(pairs))
