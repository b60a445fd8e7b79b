"""Fit the curator's weights to blind panels' ratings (ridge regression of the mean 1-5 score).

    python bench/panel_fit.py bench/results/panel-1 [bench/results/panel-2 ...] \
        --out model_weights/mashup_curator.json [--alpha 30] [--groups bot,baseline]

Each panel folder holds, beside its key and ratings, features-all.jsonl (bench/panel_features.py):
one JSON object per rated item, {"text", "group", "features"}. Each item's target is the mean
of its raters' scores; the panels and groups are pooled. The baseline's real titles teach what
the network's halves rarely show (a long real song title, a specific phrase), but they differ
from network halves in two ways the fit must not learn from: their level (an indicator
`group=baseline` absorbs it and is left out of the shipped weights) and their fluency under the
model and in the index of word pairs (a real phrase the model finds unlikely is specific, a
network phrase it finds unlikely is salad; a real phrase's "unseen" word pair is one the index's
cutting at joining words left out, a network phrase's is salad: the baseline's values of these
are set to the network items' mean, so those weights come from network halves alone). Features
are standardised before the fit and the weights mapped back, so the penalty treats them alike; a
feature seen on fewer than MIN_SUPPORT items is left out. Prints the weights, the in-sample r and the leave-one-out r (the honest one, over all items and over
network items alone), and writes the curator file that bot/curation/curator.py loads.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import panel  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bot.curation.curator import Curator  # noqa: E402

MIN_SUPPORT = 6  # a feature seen on fewer rated items (a rare seam) is left out: too little to go on
FEATURES_FILE = "features-all.jsonl"
REAL = "baseline"  # the group of real titles
LEVEL = f"group={REAL}"
NETWORK_ONLY = ("song_fluency", "paper_fluency", "song_unseen_pairs", "paper_unseen_pairs", "paper_commonness")


def item_scores(folder: Path) -> dict[tuple[str, str], float]:
    """(group, text) -> mean rating over all raters."""
    key = panel.parse_key((folder / "key.tsv").read_text(encoding="utf8"))
    ids = {row[0] for row in key}
    names = {i: (g, t) for i, g, t in key}
    sums: dict[tuple[str, str], list[int]] = {}
    for path in sorted(folder.glob("ratings-*.tsv")):
        for i, rating in panel.parse_ratings(path.read_text(encoding="utf8"), ids, path.name).items():
            sums.setdefault(names[i], []).append(rating.score)
    return {k: float(np.mean(v)) for k, v in sums.items()}


def rated_rows(folders: list[Path], groups: set[str] | None) -> tuple[list[dict[str, float]], np.ndarray, list[str]]:
    """(features, mean scores, groups) of every rated item with features, the real titles'
    fluencies set to the network items' mean and their level marked by LEVEL."""
    rows, y, names = [], [], []
    for folder in folders:
        if not (folder / FEATURES_FILE).exists():
            raise panel.PanelError(f"{folder} has no {FEATURES_FILE}: run bench/panel_features.py {folder} first")
        scores = item_scores(folder)
        for line in (folder / FEATURES_FILE).read_text(encoding="utf8").splitlines():
            if not line.strip():
                continue
            obj = json.loads(line)
            key = (obj["group"], obj["text"])
            if key in scores and (groups is None or obj["group"] in groups):
                rows.append({**obj["features"], LEVEL: float(obj["group"] == REAL)})
                y.append(scores[key])
                names.append(obj["group"])
    network = [r for r, g in zip(rows, names) if g != REAL]
    for feature in NETWORK_ONLY:
        mean = float(np.mean([r.get(feature, 0.0) for r in network])) if network else 0.0
        for r, g in zip(rows, names):
            if g == REAL:
                r[feature] = mean
    return rows, np.array(y), names


def fit(rows: list[dict[str, float]], y: np.ndarray, alpha: float) -> tuple[dict[str, float], float, list[str]]:
    """Ridge regression on standardised features; returns (weights on the raw scale, bias, names)."""
    names = sorted({k for r in rows for k, v in r.items() if v})
    names = [n for n in names if sum(bool(r.get(n)) for r in rows) >= MIN_SUPPORT]
    x = np.array([[r.get(n, 0.0) for n in names] for r in rows])
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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--groups", help="comma-separated groups to fit on (default: every group with features)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--alpha", type=float, default=30.0)
    args = ap.parse_args()
    groups = set(args.groups.split(",")) if args.groups else None
    try:
        rows, y, names = rated_rows(args.folders, groups)
    except (panel.PanelError, OSError, ValueError) as e:
        print(f"panel_fit: {e}", file=sys.stderr)
        return 2
    if len(rows) < 10:
        print(f"panel_fit: only {len(rows)} rated items have features; need at least 10", file=sys.stderr)
        return 2
    if y.std() == 0:
        print(f"panel_fit: all {len(rows)} items have the same mean rating; there is nothing to fit", file=sys.stderr)
        return 2
    weights, bias, fitted_names = fit(rows, y, args.alpha)
    if not fitted_names:
        print(f"panel_fit: no feature is set on at least {MIN_SUPPORT} items; nothing to fit", file=sys.stderr)
        return 2
    inside = float(np.corrcoef([predict(weights, bias, r) for r in rows], y)[0, 1])
    loo = leave_one_out(rows, y, args.alpha)
    loo_r = float(np.corrcoef(loo, y)[0, 1])
    net = np.array([g != REAL for g in names])
    loo_net = float(np.corrcoef(loo[net], y[net])[0, 1]) if net.sum() > 2 else float("nan")
    for n in sorted(fitted_names, key=lambda n: -abs(weights[n])):
        print(f"{n:24s} {weights[n]:+.3f}")
    counts = {g: names.count(g) for g in sorted(set(names))}
    print(f"bias {bias:.3f}; {len(rows)} items {counts}; in-sample r {inside:.2f}; "
          f"leave-one-out r {loo_r:.2f} (network items {loo_net:.2f})")
    level = weights.pop(LEVEL, 0.0)
    notes = {"items": len(rows), "groups": counts, "alpha": args.alpha, "in_sample_r": round(inside, 3),
             "leave_one_out_r": round(loo_r, 3), "leave_one_out_r_network": round(loo_net, 3),
             "mean_score": round(float(y.mean()), 3), "baseline_level": round(level, 3)}
    fitted = Curator(weights, bias, ", ".join(f.name for f in args.folders), notes)
    args.out.write_text(fitted.to_json() + "\n", encoding="utf8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
