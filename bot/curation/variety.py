"""Variety across posts: the next post should not repeat a recent seam, tag or content word.

Pure functions over post texts, so the worker needs nothing but the texts it has posted.
Limits (issue 9, over 50 consecutive posts): no content word in more than 20% of them, no tag
in more than 35%, no seam type in more than half, mean pairwise content-word Jaccard under 0.02.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from itertools import combinations
from typing import Sequence

from .features import content_words
from .seams import parse

WORD_WINDOW = 20  # a content word of the last 20 posts is not used again
SEAM_WINDOW, SEAM_MAX = 10, 3  # a seam at most 3 times in the last 10 posts, never twice in a row
KIND_MAX = 5  # a seam kind (the tags together) at most 5 times in the last SEAM_WINDOW posts
SHAPE_MAX = 3  # a shape (shape_of: "tag+1") at most 3 times in the last SEAM_WINDOW posts (issue 18: 30%)
GENERIC_WORDS = 8  # the paper corpus' 8 most used content words are generic (each in 6% of titles or more)


@dataclass(frozen=True)
class Rule:
    word_window: int = WORD_WINDOW
    seam_window: int = SEAM_WINDOW
    seam_max: int = SEAM_MAX
    kind_max: int = KIND_MAX
    shape_max: int = SHAPE_MAX


def kind_of(seam: str) -> str:
    """"tag:remix" -> "tag"; the other seams are their own kind."""
    return seam.split(":")[0]


def post_words(text: str) -> set[str]:
    """The post's content words, less its seam's own words ("feat", "prod", "remix", "for"...):
    the seam limits govern seams, so a "feat." post does not block the next twenty "feat." posts."""
    seam = seam_of(text)
    own = {"feat", "ft", "prod"} if kind_of(seam) in ("feat", "prod") else set(seam.split(":", 1)[-1].split())
    return set(content_words(text)) - own


def generic_words(counts: dict[str, int], n: int = GENERIC_WORDS) -> frozenset[str]:
    """The n content words a corpus' word counts (evidence.WordStats) use most: in the paper
    corpus "learning", "neural", "deep", "networks", "using", "based", "image", "network"
    ("learning" is in 21% of its titles)."""
    ranked = sorted((w for w in counts if content_words(w) == [w]), key=lambda w: (-counts[w], w))
    return frozenset(ranked[:n])


def shape_of(text: str) -> str:
    """The post's shape: its seam kind and how many words its paper half has ("tag+1" is the
    formula "Song (Term Remix)"), "other" for texts Seam.join did not make."""
    parsed = parse(text)
    if not parsed:
        return "other"
    return f"{kind_of(parsed[0])}+{min(len(parsed[2].split()), 2)}"


def seam_of(text: str) -> str:
    parsed = parse(text)
    return parsed[0] if parsed else "other"


def allowed(text: str, recent: Sequence[str], rule: Rule = Rule()) -> bool:
    """Whether text may follow the recent posts (oldest first): no content word shared with the
    last rule.word_window posts, its seam not the previous post's and used fewer than
    rule.seam_max times in the last rule.seam_window, its seam kind fewer than rule.kind_max times
    there (so no kind makes more than half of any run of posts), its shape fewer than
    rule.shape_max times there."""
    words = post_words(text)
    for old in recent[-rule.word_window:]:
        if words & post_words(old):
            return False
    seam = seam_of(text)
    window = [seam_of(t) for t in recent[-rule.seam_window:]]
    if window and window[-1] == seam:
        return False
    kinds = [kind_of(s) for s in window]
    shapes = [shape_of(t) for t in recent[-rule.seam_window:]]
    return (window.count(seam) < rule.seam_max and kinds.count(kind_of(seam)) < rule.kind_max
            and shapes.count(shape_of(text)) < rule.shape_max)


def pick(ranked: Sequence[str], recent: Sequence[str], rule: Rule = Rule()) -> int | None:
    """Index of the best-ranked text that the variety rule allows after recent; None if none."""
    return next((i for i, text in enumerate(ranked) if allowed(text, recent, rule)), None)


def shortlist(ranked: Sequence[str], recent: Sequence[str], size: int, rule: Rule = Rule()) -> list[int]:
    """Indices of the first `size` best-ranked texts the variety rule allows after recent; if none
    is allowed, those allowed with a shorter word window (halved until 1: the seam limits hold
    longest); if still none, [0] (a post that repeats a seam beats no post). Empty for no texts."""
    if not ranked:
        return []
    window = rule.word_window
    while True:
        rule = replace(rule, word_window=window)
        found = [i for i, text in enumerate(ranked) if allowed(text, recent, rule)][:size]
        if found:
            return found
        if window <= 1:
            return [0]
        window //= 2


def choose(ranked: Sequence[str], recent: Sequence[str], rule: Rule = Rule()) -> int | None:
    """The index of the best-ranked text the variety rule allows (shortlist's first); None for
    no texts."""
    found = shortlist(ranked, recent, 1, rule)
    return found[0] if found else None


@dataclass(frozen=True)
class Report:
    posts: int
    top_word: tuple[str, float]  # the most used content word and its share of posts
    top_tag: tuple[str, float]  # the most used seam that is a tag (feat., prod., remix...)
    top_seam_type: tuple[str, float]  # the most used seam kind (tags grouped as "tag")
    mean_jaccard: float  # mean pairwise Jaccard overlap of the posts' content-word sets
    top_seam: tuple[str, float] = ("", 0.0)  # the most used seam ("tag:remix", "join:for")
    top_shape: tuple[str, float] = ("", 0.0)  # the most used shape (shape_of: "tag+1")


def _top(counter: Counter, n: int) -> tuple[str, float]:
    if not counter:
        return ("", 0.0)
    name, count = counter.most_common(1)[0]
    return (name, count / n)


def report(texts: Sequence[str]) -> Report:
    """Variety figures over consecutive posts."""
    n = len(texts)
    sets = [post_words(t) for t in texts]
    word_counts = Counter(w for s in sets for w in s)
    seams = [seam_of(t) for t in texts]
    tags = Counter(s for s in seams if s in ("feat", "prod") or s.startswith("tag:"))
    kinds = Counter(s.split(":")[0] for s in seams)
    pairs = [len(a & b) / len(a | b) if a | b else 0.0 for a, b in combinations(sets, 2)]
    return Report(n, _top(word_counts, n), _top(tags, n), _top(kinds, n),
                  sum(pairs) / len(pairs) if pairs else 0.0, _top(Counter(seams), n),
                  _top(Counter(shape_of(t) for t in texts), n))
