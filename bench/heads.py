"""Readers' heads out of sample (bot/training/panel/heads.py): a table learned from earlier panels
ranks the next panels' network items (the worker's picks and consecutive posts), beside the
shipped curator, and the items whose head the table likes (heads.LIKED or above) against the rest.

Run: python bench/heads.py [--first 8] [--splits 16,19,21] [--last 24] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.curation.curator import load as load_curator  # noqa: E402
from bot.training.corpus import DEFAULT_PATHS  # noqa: E402
from bot.training.panel.baseline import load_baseline_sources  # noqa: E402
from bot.training.panel.features import FEATURES_FILE  # noqa: E402
from bot.training.panel import heads  # noqa: E402
from bot.training.panel.heads import rated_items, rated_phrases  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NETWORK_GROUPS = ("bot", "posts")


def held_out(first: int, split: int, last: int, songs, titles) -> dict:
    """Learn on panels first..split, test on split+1..last's network items."""
    folder = lambda n: RESULTS / f"panel-{n}"  # noqa: E731
    table = heads.learn(rated_phrases([folder(n) for n in range(first, split + 1)], songs, titles))
    curator = load_curator(ROOT / "model_weights" / "mashup_curator.json")
    rows = []
    for n in range(split + 1, last + 1):
        lines = (folder(n) / FEATURES_FILE).read_text(encoding="utf8").splitlines()
        feats = {item["text"]: item["features"] for item in map(json.loads, filter(str.strip, lines))}
        for group, text, paper, scores in rated_items(folder(n), songs, titles):
            if group in NETWORK_GROUPS:
                known = feats.get(text, {}).get("paper_known_words", 0.0) >= 2
                rows.append((table.score(paper), curator.score(feats.get(text, {})), scores, known))
    head, cur = np.array([r[0] for r in rows]), np.array([r[1] for r in rows])
    mean = np.array([np.mean(r[2]) for r in rows])
    liked = head >= heads.LIKED

    def high(mask):
        got = [s for r, m in zip(rows, mask) if m for s in r[2]]
        return float(np.mean([s >= 4 for s in got])) if got else None

    real = np.array([r[3] for r in rows])
    tiers = {"real, liked": real & liked, "real": real & ~liked, "liked": ~real & liked, "neither": ~real & ~liked}
    return {"learned_on": f"{first}-{split}", "tested_on": f"{split + 1}-{last}", "items": len(rows),
            "head_rho": float(spearmanr(head, mean)[0]), "curator_rho": float(spearmanr(cur, mean)[0]),
            "liked_share": float(liked.mean()), "liked_4_5": high(liked), "rest_4_5": high(~liked),
            "tiers": {name: {"share": float(m.mean()), "rated_4_5": high(m)} for name, m in tiers.items()}}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=int, default=8)
    parser.add_argument("--splits", default="16,19,21")
    parser.add_argument("--last", type=int, default=24)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    songs, titles = load_baseline_sources(DEFAULT_PATHS["song"], DEFAULT_PATHS["arxiv"])
    results = [held_out(args.first, int(s), args.last, songs, titles) for s in args.splits.split(",")]
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print("| learned on | tested on | network items | heads rho | curator rho | liked | liked 4-5 | rest 4-5 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in results:
        print(f"| {r['learned_on']} | {r['tested_on']} | {r['items']} | {r['head_rho']:+.2f} | {r['curator_rho']:+.2f} "
              f"| {r['liked_share']:.0%} | {r['liked_4_5']:.0%} | {r['rest_4_5']:.0%} |")
    print("\nFour tiers (a real paper phrase of 2+ words, a liked head), share of items "
          "and of their ratings at 4-5:\n")
    print("| learned on | tested on | " + " | ".join(results[0]["tiers"]) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in results[0]["tiers"]) + " |")
    for r in results:
        cells = [f"{t['share']:.0%}: {t['rated_4_5']:.0%}" if t["rated_4_5"] is not None else f"{t['share']:.0%}: -"
                 for t in r["tiers"].values()]
        print(f"| {r['learned_on']} | {r['tested_on']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
