"""A pool of candidate posts: sampled across temperatures, deduplicated, screened and ranked."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import filters, mashups, ranking
from .evidence import Evidence
from .relatedness import relatedness_many
from .wordcheck import word_check
from .words import canonical
from ..model.sampler import Sampler

# The order in which a rejected candidate's first failing filter is counted.
FILTER_ORDER = ("safety", "form", "fresh", "novelty", "mixedness", "whole")
SAMPLING_BATCH = 250  # titles sampled together: smaller batches keep the worker's peak memory low


@dataclass(frozen=True)
class Candidate:
    text: str
    temperature: float
    verdicts: dict[str, filters.Verdict]
    score: float
    features: dict[str, float] = field(default_factory=dict)  # what the curator saw (halves models)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts.values())

    @property
    def rejection(self) -> str:
        """The first failing filter's reason code, or empty."""
        for name in FILTER_ORDER:
            if not self.verdicts[name].passed:
                return self.verdicts[name].reason
        return ""


@dataclass
class Pool:
    sampled: int
    candidates: list[Candidate] = field(default_factory=list)  # unique, best first among the passing

    @property
    def passing(self) -> list[Candidate]:
        return [c for c in self.candidates if c.passed]

    @property
    def best(self) -> Candidate | None:
        passing = self.passing
        return passing[0] if passing else None

    @property
    def rejections(self) -> Counter:
        return Counter(c.rejection for c in self.candidates if not c.passed)


def screen(text: str, temperature: float, evidence: Evidence, max_chars: int = filters.MAX_CHARS,
           posted: frozenset[str] = frozenset()) -> Candidate:
    """Every filter's verdict on one title, and its rank score (0 unless it passes them all)."""
    verdicts = {
        "safety": filters.safety(text),
        "form": filters.form(text, evidence.stats, max_chars),
        "fresh": filters.fresh(text, posted),
        "novelty": filters.novelty(text, evidence.novelty),
        "mixedness": filters.mixedness(text, evidence.stats),
        "whole": filters.whole(text, evidence.stats),
    }
    passed = all(v.passed for v in verdicts.values())
    # A passing form verdict's score is the title's real-word share.
    score = ranking.score(verdicts["mixedness"].score, verdicts["form"].score, len(text)) if passed else 0.0
    return Candidate(text, temperature, verdicts, score)


def sample_pool(sampler: Sampler, size: int, temperatures: Sequence[float], seed: int | None,
                max_chars: int = filters.MAX_CHARS, evidence: Evidence | None = None,
                stop: Callable[[], bool] | None = None, prefix: str = ""):
    """(text, temperature) pairs, size split evenly across temperatures; reproducible per seed.
    Sampling stops a little past max_chars: a longer title would be rejected anyway. stop() is
    asked between batches of SAMPLING_BATCH titles; once it says yes, what was sampled is returned. Every title
    starts with prefix (a reply's request word, for instance)."""
    check = word_check(sampler, evidence) if evidence is not None else None
    pairs = []
    for i, temperature in enumerate(temperatures):
        count = size // len(temperatures) + (i < size % len(temperatures))
        # One generator per temperature, batch after batch: the same titles as one generate() call.
        rng = np.random.default_rng(None if seed is None else seed * 1_000 + i)
        for start in range(0, count, SAMPLING_BATCH):
            if stop is not None and stop():
                return pairs
            titles = sampler.generate(min(SAMPLING_BATCH, count - start), temperature=temperature, seed=rng,
                                      max_gen_length=max_chars + 3, word_check=check, batch_size=SAMPLING_BATCH,
                                      prefix=prefix)
            pairs += [(t, temperature) for t in titles]
    return pairs


def build_pool(sampler: Sampler, evidence: Evidence, size: int, temperatures: Sequence[float],
               seed: int | None = None, max_chars: int = filters.MAX_CHARS,
               posted: frozenset[str] = frozenset(), stop: Callable[[], bool] | None = None,
               prefix: str = "", prefix_half: str = "song") -> Pool:
    """size titles sampled across the temperatures (the worker's defaults are settings:
    POOL_SIZE, TEMPERATURES), deduplicated, screened and ranked best first (by the curator
    for halves models). Reproducible for a given seed. Every title starts with prefix (a reply's
    request word, for instance); for halves models, every half of prefix_half ("song" or
    "arxiv") does. Raises ValueError for bad temperatures (from Sampler.generate) or a bad
    prefix_half; stop() true ends sampling between batches."""
    if prefix_half not in ("song", "arxiv"):
        raise ValueError(f"prefix_half must be 'song' or 'arxiv', not {prefix_half!r}")
    if mashups.is_halves_model(sampler):
        return build_mashup_pool(sampler, evidence, size, temperatures, seed, max_chars, posted, stop, prefix,
                                 prefix_half)
    sampled = sample_pool(sampler, size, temperatures, seed, max_chars, evidence, stop, prefix)
    unique = {}
    for text, temperature in sampled:
        unique.setdefault(canonical(text) or text, (text, temperature))
    screened = [screen(text, t, evidence, max_chars, posted) for text, t in unique.values()]
    screened.sort(key=lambda c: (-c.score, c.text))
    return Pool(len(sampled), screened)


PAPERS_PER_SONG = 6  # paper phrases tried with each song half


def build_mashup_pool(sampler: Sampler, evidence: Evidence, size: int, temperatures: Sequence[float],
                      seed: int | None, max_chars: int = filters.MAX_CHARS,
                      posted: frozenset[str] = frozenset(), stop: Callable[[], bool] | None = None,
                      prefix: str = "", prefix_half: str = "song") -> Pool:
    """Halves models: size/2 song halves and size/2 paper phrases, each song half joined to
    PAPERS_PER_SONG phrases at seams drawn from the shipped seam table; ranked by the curator.
    With a prefix, every half of prefix_half ("song" or "arxiv") starts with it. Raises
    ModelFileError if the model directory has no seam table. Once stop() says yes (asked
    between batches), an empty pool is returned."""
    if not evidence.seams:
        from ..errors import ModelFileError

        raise ModelFileError("this halves model has no seam table beside it; run bot derive to write it")
    check = word_check(sampler, evidence)
    prefixes = {"song": "", "arxiv": "", prefix_half: prefix}
    songs = mashups.sample_halves(sampler, "song", size - size // 2, temperatures, seed, check, SAMPLING_BATCH,
                                  stop, prefixes["song"], evidence.halves)
    papers = mashups.sample_halves(sampler, "arxiv", size // 2, temperatures, seed, check, SAMPLING_BATCH, stop,
                                   prefixes["arxiv"], evidence.halves)
    if stop is not None and stop():
        return Pool(size, [])
    rng = np.random.default_rng(None if seed is None else seed + 7)
    unique: dict[str, mashups.Mashup] = {}
    for m in mashups.pair(songs, papers, list(evidence.seams), PAPERS_PER_SONG, rng):
        unique.setdefault(canonical(m.text) or m.text, m)
    mashes = list(unique.values())
    related = (relatedness_many(evidence.vectors, [(m.song.text, m.paper.text) for m in mashes])
               if evidence.vectors is not None and mashes else [0.0] * len(mashes))
    screened, traits = [], {}
    for m, rel in zip(mashes, related):
        c = screen(m.text, m.temperature, evidence, max_chars, posted)
        if not c.passed:  # a rejected candidate is never ranked: no features, score 0
            screened.append(c)
            continue
        feats = {**m.features(evidence.stats, evidence.halves, traits), "relatedness": float(rel)}
        screened.append(Candidate(c.text, c.temperature, c.verdicts, round(evidence.curator.score(feats), 6), feats))
    screened.sort(key=lambda c: (-c.score, c.text))
    return Pool(size, screened)
