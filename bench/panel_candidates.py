"""Candidates for a fitting panel: passing candidates from across the curator's ranking, with
their features, so that the ratings can teach the curator (bench/panel_fit.py).

    python bench/panel_candidates.py --seeds 1-40 --per-seed 3 --out titles.txt --features f.jsonl \
        [--model-dir DIR] [--pool-size 300] [--temperatures 0.5,0.7,0.9]

For each seed one pool is built as the worker builds it; from its passing candidates the top one
and per-seed - 1 drawn at random from the rest are kept, so the panel sees the whole range the
curator has to order. Titles go one per line to --out (for `panel.py draw --bot-file`), features
to --features as JSON lines.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.curation.candidates import build_pool  # noqa: E402
from bot.curation.evidence import Evidence  # noqa: E402
from bot.model.modelfile import ModelPaths, load_model  # noqa: E402
from bot.model.sampler import Sampler  # noqa: E402
import panel  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-40")
    ap.add_argument("--per-seed", type=int, default=3)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    ap.add_argument("--pool-size", type=int, default=300)
    ap.add_argument("--temperatures", default="0.5,0.7,0.9")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--features", type=Path, required=True)
    args = ap.parse_args()
    paths = ModelPaths.in_directory(args.model_dir)
    sampler, evidence = Sampler(load_model(paths)), Evidence.load(args.model_dir, paths.name)
    temperatures = [float(t) for t in args.temperatures.split(",")]
    chosen, seen = [], set()
    for seed in panel.parse_seeds(args.seeds):
        passing = build_pool(sampler, evidence, args.pool_size, temperatures, seed).passing
        if not passing:
            continue
        rest = random.Random(seed).sample(passing[1:], min(args.per_seed - 1, len(passing) - 1))
        for c in [passing[0], *rest]:
            if c.text not in seen:
                seen.add(c.text)
                chosen.append(c)
    args.out.write_text("".join(c.text + "\n" for c in chosen), encoding="utf8")
    args.features.write_text("".join(json.dumps({"text": c.text, "score": c.score, "features": c.features},
                                                ensure_ascii=False) + "\n" for c in chosen), encoding="utf8")
    print(f"{len(chosen)} candidates from {len(panel.parse_seeds(args.seeds))} seeds -> {args.out}, {args.features}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
