"""Readers' heads: how blind panels rated posts by the head of their paper phrase.

The head is the phrase's last word, singular ("Non-convex Optimization" -> "optimization",
"Random Forests" -> "forest"). Over the rated network items of panels 8-23, the head predicted a
post's mean rating out of sample far better than any curator fitted to the same panels: a table
learned from panels 8-16 ranked panels 17-23's network items at Spearman rho +0.33 (from 8-19 on
20-23: +0.38), where the shipped curator ranked them at -0.06 and -0.16. Items whose head the
table put at GOOD or above (about a quarter of them) had 33-34% of their ratings at 4 or 5,
against 15-20% for the rest (docs/decisions.md, "Readers' heads"). Readers hear "... Optimization",
"... Fine-tuning", "... Random Forests" as something a song can be about; "... Approach",
"... Applications", "... Distributions" as nothing at all.

The table ships beside the model (`<name>_heads.json`, written by `bot panel heads`); a model
directory without one simply has no head preference.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import ModelFileError
from .words import words

SHRINKAGE = 8  # a head's score is its ratings' mean deviation, pulled toward 0 by 8 ratings' worth
GOOD = 0.25  # panel points above the panels' mean: a head readers liked (out of sample: see above)


def head(phrase: str) -> str:
    """The phrase's last word (words.words: a hyphen splits words, "Fine-tuning" -> "tuning"),
    lower case, made singular by its spelling ("processes" -> "process", "studies" -> "study",
    "analysis" stays); "" for a phrase without words."""
    found = words(phrase)
    if not found:
        return ""
    w = found[-1]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith(("ches", "shes", "xes", "sses")):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        return w[:-1]
    return w


@dataclass(frozen=True)
class Heads:
    """head -> its score (panel points against the panels' mean rating, shrunk by SHRINKAGE), with
    how many ratings each score rests on and where the ratings came from."""

    scores: dict[str, float]
    ratings: dict[str, int] = field(default_factory=dict)
    mean: float = 0.0  # the panels' mean rating, 1-5
    shrinkage: float = SHRINKAGE
    source: str = ""

    def score(self, phrase: str) -> float:
        """The phrase's head's score; 0 (the mean) for a head no panel rated."""
        return self.scores.get(head(phrase), 0.0)

    def to_json(self) -> str:
        return json.dumps({"about": "readers' heads (bot/curation/heads.py): head of the paper phrase -> "
                           "[score in panel points against the mean, ratings]",
                           "source": self.source, "mean": round(self.mean, 4), "shrinkage": self.shrinkage,
                           "heads": {h: [round(s, 4), self.ratings.get(h, 0)] for h, s in sorted(self.scores.items())}},
                          indent=1, ensure_ascii=False)


def learn(rated: Iterable[tuple[str, Sequence[int]]], source: str = "", shrinkage: float = SHRINKAGE) -> Heads:
    """The table from rated paper phrases: (phrase, its raters' scores 1-5). A head's score is
    sum(score - mean) / (ratings + shrinkage), the mean being every rating's. Raises ValueError
    for no ratings or a score outside 1-5."""
    by_head: dict[str, list[int]] = {}
    every: list[int] = []
    for phrase, scores in rated:
        if any(not 1 <= s <= 5 for s in scores):
            raise ValueError(f"a score outside 1-5 for {phrase!r}")
        h = head(phrase)
        if h and scores:
            by_head.setdefault(h, []).extend(scores)
            every.extend(scores)
    if not every:
        raise ValueError("no rated paper phrases to learn heads from")
    mean = sum(every) / len(every)
    return Heads({h: sum(s - mean for s in got) / (len(got) + shrinkage) for h, got in by_head.items()},
                 {h: len(got) for h, got in by_head.items()}, mean, shrinkage, source)


def load(path: Path) -> Heads:
    """Raises ModelFileError naming the file when it is unreadable or malformed."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        table = {str(h): (float(v[0]), int(v[1])) for h, v in data["heads"].items()}
        heads = Heads({h: s for h, (s, _) in table.items()}, {h: n for h, (_, n) in table.items()},
                      float(data["mean"]), float(data["shrinkage"]), str(data.get("source", "")))
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
        raise ModelFileError(f"readers' heads {path} is unreadable ({e}); write it again with `bot panel heads`") from None
    if not all(math.isfinite(s) for s in heads.scores.values()):
        raise ModelFileError(f"readers' heads {path} has a score that is not a finite number")
    return heads
