"""Readers' heads: how blind panels rated posts by the head of their paper phrase (`bot panel
heads`, `bench/heads.py`). An analysis of the panels, not part of the pipeline.

The head is the phrase's last word, singular ("Non-convex Optimization" -> "optimization",
"Random Forests" -> "forest"). Learned on earlier panels, the table ranks later panels' network
items far better than any curator fitted to the same panels (Spearman rho +0.27 to +0.40 against
-0.16 to +0.00, `bench/results/heads.md`). Choosing from whole pools by it did not carry over:
panels 24-28 (docs/decisions.md, "Readers' heads") found as many 4s and 5s in the worker's fresh
picks as before and fewer in its consecutive posts, so the worker does not use it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from ...curation.words import words
from ...errors import PanelError
from .baseline import load_baseline_sources
from .features import split_items
from .sheets import parse_key, rated_scores

SHRINKAGE = 8  # a head's score is its ratings' mean deviation, pulled toward 0 by 8 ratings' worth
LIKED = 0.25  # panel points above the panels' mean: a head readers liked (out of sample, bench/heads.py)


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
    how many ratings each score rests on."""

    scores: dict[str, float]
    ratings: dict[str, int] = field(default_factory=dict)
    mean: float = 0.0  # the panels' mean rating, 1-5

    def score(self, phrase: str) -> float:
        """The phrase's head's score; 0 (the mean) for a head no panel rated."""
        return self.scores.get(head(phrase), 0.0)


def learn(rated: Iterable[tuple[str, Sequence[int]]], shrinkage: float = SHRINKAGE) -> Heads:
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
                 {h: len(got) for h, got in by_head.items()}, mean)


def rated_items(folder: Path, songs: list[str], titles: list[str]) -> list[tuple[str, str, str, list[int]]]:
    """(group, text, paper phrase, raters' scores) of every rated item with two halves in a panel
    folder: the bot's split by the seam parser, the baseline's drawn again from its seed
    (features.split_items). Raises PanelError for a folder without key.tsv or ratings, or whose
    baseline cannot be drawn again."""
    if not (folder / "key.tsv").exists():
        raise PanelError(f"{folder} has no key.tsv: not a panel folder")
    scores = rated_scores(folder)
    if not scores:
        raise PanelError(f"{folder} has no ratings-*.tsv: rate it before learning from it")
    key = parse_key((folder / "key.tsv").read_text(encoding="utf8"), f"{folder}/key.tsv")
    return [(group, text, paper, scores[(group, text)])
            for group, text, _song, paper, _seam in split_items(folder, key, songs, titles) if (group, text) in scores]


def rated_phrases(folders: list[Path], songs: list[str], titles: list[str]) -> list[tuple[str, list[int]]]:
    """(paper phrase, raters' scores) of every rated item with two halves in the folders
    (rated_items). Raises PanelError as rated_items does."""
    return [(paper, scores) for folder in folders for _, _, paper, scores in rated_items(folder, songs, titles)]


def learn_from(folders: list[Path], songs_path: Path, arxiv_path: Path) -> Heads:
    """The table from the folders' rated items. Raises PanelError as rated_phrases does, and for
    folders with no rated phrase at all."""
    songs, titles = load_baseline_sources(songs_path, arxiv_path)
    rated = rated_phrases(folders, songs, titles)
    if not rated:
        raise PanelError("no rated item with two halves in those folders")
    return learn(rated)
