"""One score per candidate that passed every filter: the highest is what the bot posts."""
from __future__ import annotations

import math

MIX_SATURATION = 10.0  # mixedness evidence beyond this adds nothing (6 left many ties at the top)
IDEAL_LENGTH, LENGTH_SPREAD = 45, 30  # characters: a song-title-plus-paper-title reads best around here
WEIGHTS = {"mixedness": 0.6, "realness": 0.25, "length": 0.15}


def score(mixedness: float, real_share: float, length: int) -> float:
    """In [0, 1]: mostly how clearly both vocabularies are used, then real words, then length."""
    parts = {
        "mixedness": min(mixedness / MIX_SATURATION, 1.0),
        "realness": real_share,
        "length": math.exp(-(((length - IDEAL_LENGTH) / LENGTH_SPREAD) ** 2)),
    }
    return round(sum(WEIGHTS[k] * v for k, v in parts.items()), 6)
