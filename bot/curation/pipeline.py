"""The halves pipeline: the one module that knows the order of the stages.

    sample halves -> screen halves -> join at seams -> screen candidates -> features -> rank

Each stage is a function that can be called and tested alone and that counts what it keeps and
drops (a Stage). The choice among the ranked candidates (variety, learning) is the worker's and
the preview's one call, bot/posting/choice.py.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from . import filters, mashups, seams as seams_module
from .candidates import Candidate, screen
from .evidence import Evidence
from .features import specific
from .links import LINK_FEATURE, LINK_MIN, NO_LINK
from .mashups import Half, Mashup, post_features
from .relatedness import relatedness_many
from .wordcheck import WordCheck
from .words import canonical
from ..model.scoring import mean_log_likelihood
from ..model.sampler import Halves, Sampler

PAPERS_PER_SONG = 6  # paper phrases tried with each song half
# Besides those, each song half is joined to the paper phrase it links with best (links.py) when
# they link (links.LINK_MIN); one phrase partners at most LINK_USES songs so.
LINK_USES = 2
LINK_CHOICES = 4  # a song's best-linked phrases it may take, best first, while they are free
# The worker samples this many paper phrases for each one its pool keeps, and keeps the specific
# ones first: the network writes few (about 1 in 150 for the 2x128 model), and readers rate them
# highest (issue 18). Sampling is cheap next to a slot (bench/README.md, pool refresh).
PAPER_VOLUME = 4
SOURCES = ("song", "arxiv")
STAGE_NAMES = {"song": "song halves", "arxiv": "paper phrases"}


@dataclass(frozen=True)
class Stage:
    """What one stage did: how many items it took in and kept, and why it dropped the rest."""
    name: str
    taken: int
    kept: int
    dropped: Counter = field(default_factory=Counter)

    def describe(self) -> str:
        why = ", ".join(f"{reason} {n}" for reason, n in self.dropped.most_common())
        return f"{self.name}: {self.taken} in, {self.kept} kept" + (f" (dropped: {why})" if why else "")


@dataclass
class Pool:
    """The ranked candidates (unique; those that passed every filter first, best first; then the
    rejected ones) and what each stage did."""
    candidates: list[Candidate] = field(default_factory=list)
    stages: tuple[Stage, ...] = ()

    @property
    def sampled(self) -> int:
        """Halves the network wrote for this pool (song halves and paper phrases)."""
        return sum(s.taken for s in self.stages if s.name in STAGE_NAMES.values())

    @property
    def passing(self) -> list[Candidate]:
        return [c for c in self.candidates if c.passed]

    @property
    def best(self) -> Candidate | None:
        return next((c for c in self.candidates if c.passed), None)

    @property
    def rejections(self) -> Counter:
        return Counter(c.rejection for c in self.candidates if not c.passed)

    def describe(self) -> str:
        """One line per stage."""
        return "\n".join(s.describe() for s in self.stages)


# -- 1. sample halves ---------------------------------------------------------------------------
def sample_halves(sampler: Sampler, source: str, count: int, temperatures: Sequence[float], seed: int | None,
                  check: WordCheck, prefix: str = "", stop: Callable[[], bool] | None = None
                  ) -> list[tuple[str, float]]:
    """count halves of one corpus ("song" or "arxiv") as the network writes them, as (text,
    temperature), split evenly across temperatures; each starts with prefix (a reply's request
    word). A word the corpus never used is sampled again (check); a half that ran past
    mashups.HALF_MAX_CHARS is returned cut, longer than it. Reproducible per seed. stop() is asked
    before every step of the network; once it says yes, the halves finished so far are returned."""
    rng = np.random.default_rng(None if seed is None else seed * 1_000 + (500 if source == "arxiv" else 0))
    wanted = [Halves(source, count, mashups.HALF_MAX_CHARS[source], prefix)]
    return sampler.sample_halves(wanted, temperatures, rng, check, stop)[0]


# -- 2. screen halves ---------------------------------------------------------------------------
def screen_halves(written: list[tuple[str, float]], source: str, sampler: Sampler, evidence: Evidence,
                  check: WordCheck, prefix: str = "") -> tuple[list[Half], Stage]:
    """The whole halves among those written, once each, with the network's fluency for each:
    dropped are halves that fail mashups.half_rejection, repeats, and halves the network wrote
    mashups.MODAL times or more (its generic ones, "Neural Networks")."""
    counts = Counter(text for text, _ in written)
    dropped: Counter = Counter()
    found: dict[str, float] = {}
    for text, temperature in written:
        reason = mashups.half_rejection(text, source, check, evidence.halves, prefix)
        if reason is None and counts[text] >= mashups.MODAL:
            reason = "modal"
        if reason is None and text in found:
            reason = "repeat"
        if reason is not None:
            dropped[reason] += 1
            continue
        found[text] = temperature
    texts = list(found)
    fluency = mean_log_likelihood(sampler, texts, source) if texts else np.zeros(0)
    halves = [Half(t, source, found[t], float(f)) for t, f in zip(texts, fluency)]
    return halves, Stage(STAGE_NAMES[source], len(written), len(halves), dropped)


def select_papers(papers: list[Half], keep: int, evidence: Evidence) -> tuple[list[Half], Stage]:
    """Of a large sample of screened paper phrases, the `keep` a pool uses: the specific ones
    first (features.specific), then the network's most fluent."""
    def order(h: Half):
        unseen = evidence.halves.unseen_runs(h.text, "arxiv", 2)
        return (not specific(h.text, evidence.stats.arxiv, unseen), -h.fluency, h.text)
    kept = sorted(papers, key=order)[:keep]
    dropped = Counter({"surplus": len(papers) - len(kept)}) if len(papers) > len(kept) else Counter()
    return kept, Stage("paper choice", len(papers), len(kept), dropped)


# -- 3. join at seams ---------------------------------------------------------------------------
def join(songs: list[Half], papers: list[Half], evidence: Evidence, seed: int | None) -> tuple[list[Mashup], Stage]:
    """Each song half joined to PAPERS_PER_SONG paper phrases at seams drawn from the shipped
    seam table (mashups.pair), and, where the model ships word vectors, to the phrase it links
    with best (linked); a text made twice is kept once."""
    rng = np.random.default_rng(None if seed is None else seed + 7)
    joined = mashups.pair(songs, papers, list(evidence.seams), PAPERS_PER_SONG, rng)
    if evidence.linker is not None:
        joined += linked(songs, papers, evidence, rng)
    unique: dict[str, Mashup] = {}
    for m in joined:
        unique.setdefault(canonical(m.text) or m.text, m)
    dropped = Counter({"duplicate": len(joined) - len(unique)}) if len(joined) > len(unique) else Counter()
    return list(unique.values()), Stage("seams", len(joined), len(unique), dropped)


def linked(songs: list[Half], papers: list[Half], evidence: Evidence, rng: np.random.Generator) -> list[Mashup]:
    """Each song half joined to the paper phrase it links with best (at least LINK_MIN), the best
    links served first, among each song's LINK_CHOICES best-linked phrases; one phrase to at most
    LINK_USES songs; seams drawn as in pair."""
    if not songs or not papers:
        return []
    best, link = evidence.linker.best([s.text for s in songs], [p.text for p in papers], LINK_CHOICES)
    seam_table = list(evidence.seams)
    weights = seams_module.weights(seam_table)
    uses: Counter = Counter()
    done: set[int] = set()
    out = []
    for flat in np.argsort(-link, axis=None, kind="stable"):
        i, rank = divmod(int(flat), link.shape[1])
        j = int(best[i, rank])
        if link[i, rank] < LINK_MIN:
            break
        if i in done or uses[j] >= LINK_USES:
            continue
        done.add(i)
        uses[j] += 1
        seam = seam_table[rng.choice(len(seam_table), p=weights)]
        out.append(Mashup(seam.join(songs[i].text, papers[j].text), songs[i], papers[j], seam))
    return out


# -- 4. screen candidates -----------------------------------------------------------------------
def screen_candidates(joined: list[Mashup], evidence: Evidence, max_chars: int = filters.MAX_CHARS,
                      posted: frozenset[str] = frozenset()) -> tuple[list[Candidate], Stage]:
    """Every filter's verdict on each joined text (candidates.screen), in the given order."""
    screened = [screen(m.text, m.temperature, evidence, max_chars, posted) for m in joined]
    dropped = Counter(c.rejection for c in screened if not c.passed)
    return screened, Stage("filters", len(screened), len(screened) - sum(dropped.values()), dropped)


# -- 5. features --------------------------------------------------------------------------------
def with_features(screened: list[Candidate], joined: list[Mashup], evidence: Evidence) -> list[Candidate]:
    """The curator's features (mashups.Mashup.features, how related the halves are, and how
    their best word pair links: links.py) of the candidates that passed; a rejected one keeps none. screened[i] is joined[i] screened."""
    passing = [i for i, c in enumerate(screened) if c.passed]
    pairs = [(joined[i].song.text, joined[i].paper.text) for i in passing]
    related = relatedness_many(evidence.vectors, pairs) if evidence.vectors is not None and pairs else [0.0] * len(pairs)
    link = evidence.linker.links(pairs) if evidence.linker is not None and pairs else [NO_LINK] * len(pairs)
    out, traits = list(screened), {}
    for i, rel, ln in zip(passing, related, link):
        feats = {**joined[i].features(evidence.stats, evidence.halves, traits), "relatedness": float(rel),
                 LINK_FEATURE: float(ln)}
        out[i] = Candidate(screened[i].text, screened[i].temperature, screened[i].verdicts, 0.0, feats)
    return out


# -- 6. rank ------------------------------------------------------------------------------------
def rank(candidates: list[Candidate], evidence: Evidence) -> list[Candidate]:
    """The passing candidates by the curator's score, best first (ties by text), then the rest."""
    scored = [Candidate(c.text, c.temperature, c.verdicts, round(evidence.curator.score(c.features), 6), c.features)
              if c.passed else c for c in candidates]
    return sorted(scored, key=lambda c: (not c.passed, -c.score, c.text))


def build_pool(runtime, size: int, temperatures: Sequence[float], seed: int | None = None,
               max_chars: int = filters.MAX_CHARS, posted: frozenset[str] = frozenset(),
               stop: Callable[[], bool] | None = None, prefix: str = "", prefix_half: str = "song",
               paper_volume: int = 1) -> Pool:
    """The pool: size halves (half song titles, half paper phrases) sampled across temperatures
    (the worker's are settings POOL_SIZE and TEMPERATURES), screened, joined, screened again,
    featured and ranked. runtime: bot.runtime.Runtime. Reproducible per seed. With a prefix
    (a reply's request word), every half of prefix_half ("song" or "arxiv") starts with it.
    paper_volume: paper phrases sampled per one kept (the worker's: PAPER_VOLUME; select_papers).
    Once stop() says yes (asked between sampling batches), an empty pool is returned. Raises
    ValueError for bad temperatures or prefix_half."""
    if prefix_half not in SOURCES:
        raise ValueError(f"prefix_half must be 'song' or 'arxiv', not {prefix_half!r}")
    sampler, evidence = runtime.sampler, runtime.evidence
    check = WordCheck(evidence.stats)
    stages, halves = [], {}
    for source, count in (("song", size - size // 2), ("arxiv", size // 2 * paper_volume)):
        start = prefix if source == prefix_half else ""
        written = sample_halves(sampler, source, count, temperatures, seed, check, start, stop)
        halves[source], stage = screen_halves(written, source, sampler, evidence, check, start)
        stages.append(stage)
    if paper_volume > 1:
        halves["arxiv"], stage = select_papers(halves["arxiv"], size // 2, evidence)
        stages.append(stage)
    if stop is not None and stop():
        return Pool([], tuple(stages))
    joined, stage = join(halves["song"], halves["arxiv"], evidence, seed)
    stages.append(stage)
    screened, stage = screen_candidates(joined, evidence, max_chars, posted)
    stages.append(stage)
    return Pool(rank(with_features(screened, joined, evidence), evidence), tuple(stages))


def featurize(sampler: Sampler, evidence: Evidence, items: Sequence[tuple[str, str, str, str]]
              ) -> list[dict[str, float]]:
    """The curator's features of posts not sampled by a pool, given as (text, song half, paper
    half, seam name): each scored as the pool scores the halves the network writes (fluency
    under the model, what the evidence says of each half, relatedness, link), with no temperature
    feature (no temperature wrote them). For the owner's edits in approval mode and for the
    items of rated panels (bot/training/panel/features.py)."""
    if not items:
        return []
    song_fluency = mean_log_likelihood(sampler, [song for _, song, _, _ in items], "song")
    paper_fluency = mean_log_likelihood(sampler, [paper for _, _, paper, _ in items], "arxiv")
    halves = [(song, paper) for _, song, paper, _ in items]
    related, link = ((relatedness_many(evidence.vectors, halves), evidence.linker.links(halves))
                     if evidence.vectors is not None else (np.zeros(len(items)), np.full(len(items), NO_LINK)))
    out, cache = [], {}
    for (text, song, paper, seam), sf, pf, rel, ln in zip(items, song_fluency, paper_fluency, related, link):
        found = post_features(text, song, paper, seam, float(sf), float(pf), 0.0, evidence.stats, evidence.halves,
                              cache)
        del found["temperature"]
        out.append({**found, "relatedness": float(rel), LINK_FEATURE: float(ln)})
    return out


def raw_mashups(runtime, count: int, temperature: float, seed: int) -> list[str]:
    """count raw posts, for measuring the filters on what the network writes (`bot evaluate`):
    the i-th sampled song half joined to the i-th sampled paper phrase at a seam drawn by the
    seam table's weights, with no screening of the halves (a half cut at the length limit stays
    cut)."""
    check = WordCheck(runtime.evidence.stats)
    songs, papers = (sample_halves(runtime.sampler, source, count, [temperature], seed, check) for source in SOURCES)
    table = list(runtime.evidence.seams)
    picks = np.random.default_rng(seed).choice(len(table), size=count, p=seams_module.weights(table))
    return [table[k].join(song, paper) for k, (song, _), (paper, _) in zip(picks, songs, papers)]
