"""Candidates for a fitting panel: passing candidates from across the curator's ranking, with
their features, so that the ratings can teach the curator (fit.py).

For each seed one pool is built as the worker builds it; from its passing candidates the top one
and per_seed - 1 drawn at random from the rest are kept, so the panel sees the whole range the
curator has to order.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Sequence

from ...curation.candidates import Candidate
from ...curation.pipeline import build_pool


def across_ranking(runtime, seeds: list[int], per_seed: int, pool_size: int,
                   temperatures: Sequence[float]) -> list[Candidate]:
    """runtime: bot.runtime.Runtime. Each text once, in seed order."""
    chosen, seen = [], set()
    for seed in seeds:
        passing = build_pool(runtime, pool_size, temperatures, seed).passing
        if not passing:
            continue
        rest = random.Random(seed).sample(passing[1:], min(per_seed - 1, len(passing) - 1))
        for c in [passing[0], *rest]:
            if c.text not in seen:
                seen.add(c.text)
                chosen.append(c)
    return chosen


def write(chosen: list[Candidate], titles: Path, features: Path) -> None:
    """Titles one per line (for `bot panel draw --bot-file`), features as JSON lines."""
    titles.write_text("".join(c.text + "\n" for c in chosen), encoding="utf8")
    features.write_text("".join(json.dumps({"text": c.text, "score": c.score, "features": c.features},
                                           ensure_ascii=False) + "\n" for c in chosen), encoding="utf8")
