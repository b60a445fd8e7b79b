"""Fit the curator's weights to a blind panel's ratings (ridge regression of the mean 1-5 score).

    python bench/panel_fit.py bench/results/panel-1 [bench/results/panel-2 ...] \
        --group bot --out model_weights/mashup_curator.json [--alpha 100]

Each panel folder holds, beside its key and ratings, features.jsonl: one JSON object per line,
{"text": ..., "features": {name: value}}, for the items of the rated group (written when the
candidates were drawn). Each item's target is the mean of its raters' scores; the panels are
pooled. Features are standardised before the fit and the weights mapped back, so
the penalty treats them alike; a feature seen on fewer than MIN_SUPPORT items is left out. Prints the
weights, the in-sample r and the leave-one-out r (the honest one), and writes the curator file
that bot/curation/curator.py loads.
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


def item_scores(folder: Path, group: str) -> dict[str, float]:
    """text -> mean rating over all raters, for the items of one group."""
    key = panel.parse_key((folder / "key.tsv").read_text(encoding="utf8"))
    ids = {row[0] for row in key}
    texts = {i: t for i, g, t in key if g == group}
    sums: dict[str, list[int]] = {}
    for path in sorted(folder.glob("ratings-*.tsv")):
        for i, rating in panel.parse_ratings(path.read_text(encoding="utf8"), ids, path.name).items():
            if i in texts:
                sums.setdefault(texts[i], []).append(rating.score)
    return {t: float(np.mean(v)) for t, v in sums.items()}


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--group", default="bot")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--alpha", type=float, default=100.0)
    args = ap.parse_args()
    scores, feats = {}, {}
    for folder in args.folders:
        scores.update(item_scores(folder, args.group))
        for line in (folder / "features.jsonl").read_text(encoding="utf8").splitlines():
            if line.strip():
                obj = json.loads(line)
                feats[obj["text"]] = obj["features"]
    texts = [t for t in scores if t in feats]
    if len(texts) < 10:
        print(f"panel_fit: only {len(texts)} rated items have features; need at least 10", file=sys.stderr)
        return 2
    rows, y = [feats[t] for t in texts], np.array([scores[t] for t in texts])
    weights, bias, names = fit(rows, y, args.alpha)
    inside = np.corrcoef([predict(weights, bias, r) for r in rows], y)[0, 1]
    loo = []
    for i in range(len(rows)):
        w, b, _ = fit(rows[:i] + rows[i + 1:], np.delete(y, i), args.alpha)
        loo.append(predict(w, b, rows[i]))
    loo_r = float(np.corrcoef(loo, y)[0, 1])
    for n in sorted(names, key=lambda n: -abs(weights[n])):
        print(f"{n:24s} {weights[n]:+.3f}")
    print(f"bias {bias:.3f}; {len(texts)} items; in-sample r {inside:.2f}; leave-one-out r {loo_r:.2f}")
    notes = {"items": len(texts), "alpha": args.alpha, "in_sample_r": round(float(inside), 3),
             "leave_one_out_r": round(loo_r, 3), "mean_score": round(float(y.mean()), 3)}
    fitted = Curator(weights, bias, ", ".join(f.name for f in args.folders), notes)
    args.out.write_text(fitted.to_json() + "\n", encoding="utf8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
