"""Variety of what the worker posts (issue 18's limits: no seam or shape in more than 30% of posts,
no content word in more than 10%), measured two ways with the worker's own choice:

- independent: the first post of N fresh workers (empty state, SEED = 0..N-1): what a panel of
  would-post titles over independent seeds sees;
- consecutive: M posts of one worker (each from a fresh pool, its history growing).

Run: python bench/variety.py [--independent 32] [--consecutive 50] [--pool-size 300] [--json]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.curation import variety  # noqa: E402
from bot.posting import daemon  # noqa: E402
from bot.posting.learner import History  # noqa: E402
from bot.posting.settings import load  # noqa: E402
from bot.posting.worker import pooled  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.store import open_store  # noqa: E402

LIMITS = {"seam": 0.30, "shape": 0.30, "word": 0.10}  # issue 18


def picks(runtime: Runtime, seeds: list[int], pool_size: int, consecutive: bool) -> list[str]:
    """The worker's picks: one per seed, each from a fresh pool sampled with that seed; with
    consecutive, one worker's history carried from pick to pick, else a fresh worker each."""
    store = open_store("sqlite:///:memory:")
    texts, history = [], History()
    learner = None
    for seed in seeds:
        settings = load({"SEED": str(seed), "POOL_SIZE": str(pool_size)}, dotenv=False)
        if learner is None or not consecutive:
            learner, history = daemon.learner_for(settings, store, runtime), History()
        pool = daemon.pool_maker(settings, runtime, daemon.post_budget(settings, None))(frozenset())  # seed SEED
        candidates = [c for c in pooled(pool) if c.text not in texts]
        choice = learner.choose(candidates, history)
        if choice is None:
            continue
        texts.append(candidates[choice.index].text)
        history = history.after(texts[-1], choice.how)
    store.close()
    return texts


def shares(texts: list[str]) -> dict:
    r = variety.report(texts)
    return {"posts": r.posts, "seam": r.top_seam, "shape": r.top_shape, "word": r.top_word}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--independent", type=int, default=32)
    ap.add_argument("--consecutive", type=int, default=50)
    ap.add_argument("--pool-size", type=int, default=300)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    runtime = Runtime.load(args.model_dir)
    result = {}
    for name, seeds, consecutive in (("independent", list(range(args.independent)), False),
                                     ("consecutive", list(range(1000, 1000 + args.consecutive)), True)):
        texts = picks(runtime, seeds, args.pool_size, consecutive)
        result[name] = {**shares(texts), "texts": texts}
    if args.json:
        print(json.dumps(result, indent=1))
        return
    print("| picks | posts | top seam | top shape | top content word | within issue 18's limits |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in result.items():
        ok = all(r[k][1] <= LIMITS[k] for k in LIMITS)
        print(f"| {name} | {r['posts']} | {r['seam'][0]} {r['seam'][1]:.0%} | {r['shape'][0]} {r['shape'][1]:.0%} | "
              f"{r['word'][0]} {r['word'][1]:.0%} | {'yes' if ok else 'no'} |")
    for name, r in result.items():
        print(f"\n{name}:\n" + "\n".join(f"  {t}" for t in r["texts"]))


if __name__ == "__main__":
    main()
