"""Mashups from a halves model: whole song titles and whole paper phrases, joined at one seam.

The network writes every character of both halves; each half ends where the network ended it
(a half that ran into the length limit is dropped, never cut). Pairing and the seam are chosen
here, from the seam table learned from the corpora (seams.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from . import seams as seams_module
from .evidence import KnownHalves, WordStats
from .features import commonness, features, shared_share, specific
from .filters import DANGLING
from .words import STOPWORDS, words

# A half the network wrote this many times in one pool is one of its modal, generic ones
# ("Neural Networks", "Stranger"): dropped, so picks do not repeat across pools (panel 5).
MODAL = 2
HALF_MAX_CHARS = {"song": 40, "arxiv": 50}  # longer halves are not whole titles any more
# Longer halves drift into salad. In panel 1 (bench/results/panel-1) song halves of 1, 2, 3 and 4
# words averaged 2.72, 2.48, 2.23 and 1.84; paper phrases of 1, 2, 3, 4 and 5 words 2.56, 2.60,
# 2.19, 1.75 and 1.50. Four-word song titles stay allowed: the real ones are among the best (five
# words with a curator refitted to prefer long real titles scored no better: panel 6).
HALF_MAX_WORDS = {"song": 4, "arxiv": 3}
# Salad is words joined as no real half joins them. Over panels 1-5 (bench/results), network song
# halves with 0, 1, 2 and 3 word pairs no real song title uses averaged 2.61, 2.24, 2.00 and 1.00;
# paper halves with 0, 1, 2 and 3 such pairs 2.57, 2.54, 2.13 and 1.57. Longest allowed count of
# such runs, by run length in words (a song title's triples too: "Before You The Love").
UNSEEN_RUNS = {"song": {2: 0, 3: 0}, "arxiv": {2: 1}}
# Characters titles seldom use (under 2% of either corpus' titles have any): a half with one reads
# as a broken line ("O CREWZINHO == Lancamento 2017 (Subspace Clustering Remix)", panel 12's worst),
# and a colon in a half makes a post of two colons ("Spatial Aggregation: Day 5: For Carol", panel 16);
# a backquote or a doubled hyphen is a glitch ("Semantic Sentiment Analysis`", "SemEval--Net", panel 25).
SYMBOLS = re.compile(r"[=|*#~_@\[\]{}^\\%<>•:`]|--")
# A paper phrase in sentence case ("comparative analysis", "interactive dimensions") reads as a cut
# piece of a sentence, not a name: over the network items of panels 10-24 such paper halves had 4-5%
# of their ratings at 4 or 5, the rest 18-19%. A content word of 3 or more letters, all lower case,
# makes one ("fine-tuning" too; "big Data", "oddly lowercased" to a rater of panel 35);
# "word2vec", "iPhone" and "t-SNE" are names and stay.
_LOWER_WORD = re.compile(r"[a-z][a-z-]{2,}")


@dataclass(frozen=True)
class Half:
    text: str
    source: str  # "song" or "arxiv"
    temperature: float
    fluency: float  # mean log-likelihood per token under the model, <= 0


@dataclass(frozen=True)
class Mashup:
    text: str
    song: Half
    paper: Half
    seam: seams_module.Seam

    @property
    def temperature(self) -> float:
        return max(self.song.temperature, self.paper.temperature)

    def features(self, stats: WordStats, known: KnownHalves | None, cache: dict | None = None) -> dict[str, float]:
        """The curator's features (features.py), with how real each half is by the shipped
        evidence: whether each half is one the corpora hold (a bare song title, a paper phrase),
        and how common each half's content words are in its corpus. cache: a dict kept across
        the candidates of one pool, so each half's evidence is looked up once."""
        return post_features(self.text, self.song.text, self.paper.text, self.seam.name, self.song.fluency,
                             self.paper.fluency, self.temperature, stats, known, cache)


def post_features(text: str, song: str, paper: str, seam: str, song_fluency: float, paper_fluency: float,
                  temperature: float, stats: WordStats, known: KnownHalves | None,
                  cache: dict | None = None) -> dict[str, float]:
    """The curator's features of a post made of these halves at this seam (Mashup.features; and
    pipeline.featurize for posts no pool sampled), all but relatedness."""
    found = features(song, paper, text, seam, song_fluency, paper_fluency, temperature)
    found.update(half_traits(song, "song", stats, known, cache))
    found.update(half_traits(paper, "arxiv", stats, known, cache))
    found.update(known_traits(found))
    return found


def known_traits(found: dict[str, float]) -> dict[str, float]:
    """Features that combine a half's evidence with its shape: a real title in paper words
    ("Attention"), and the length of a half the corpora hold (a whole, recognisable "Stay With
    Me" against a one-word "Stranger"; the blind panels' 4s and 5s pair such titles)."""
    return {"song_pun": found["song_known"] * found["song_technical"],
            "song_known_words": found["song_known"] * found["song_words"],
            "paper_known_words": found["paper_known"] * found["paper_words"]}


def half_traits(text: str, source: str, stats: WordStats, known: KnownHalves | None,
                cache: dict | None = None) -> dict[str, float]:
    """What the shipped evidence says of one half: known (one the corpora hold), how many of its
    neighbouring word pairs no real half has used (unseen_pairs: salad's joints), commonness of
    its words in its corpus, and how far its words are the other corpus' too (a paper phrase in
    everyday words, "Missing Entries"; a song title in technical ones, "Collapse")."""
    if cache is not None and (text, source) in cache:
        return cache[(text, source)]
    name = "song" if source == "song" else "paper"
    own, other = (stats.song, stats.arxiv) if source == "song" else (stats.arxiv, stats.song)
    traits = {f"{name}_known": float(known is not None and known.knows(text, source)),
              f"{name}_commonness": commonness(text, own)}
    unseen = known.unseen_runs(text, source, 2) if known is not None else None
    if unseen is not None:
        traits[f"{name}_unseen_pairs"] = float(unseen)
    if source == "song":
        traits["song_technical"] = shared_share(text, other, 3)
    else:
        traits["paper_everyday"] = shared_share(text, other, 2)
        traits["paper_specific"] = float(specific(text, own, unseen))
    if cache is not None:
        cache[(text, source)] = traits
    return traits


def half_rejection(text: str, source: str, word_check=None, known: KnownHalves | None = None,
                   prefix: str = "") -> str | None:
    """Why a half is not fit to post, or None: "length" (it ran into the length limit or has too
    many words), "dangling" (it ends on a joining word), "repeated word", "symbol" (a character
    of SYMBOLS), "lower case" (a paper phrase with a content word in lower case, _LOWER_WORD),
    "salad" (with known: more word runs that no real half of its corpus uses than UNSEEN_RUNS
    allows, counted in what follows prefix, a reply's request word), "invented word" (with
    word_check: a word its corpus never used)."""
    found = words(text)
    if not found or len(text) > HALF_MAX_CHARS[source] or len(found) > HALF_MAX_WORDS[source]:
        return "length"
    if found[-1] in DANGLING:
        return "dangling"
    if len(set(found)) < len(found):
        return "repeated word"
    if SYMBOLS.search(text):
        return "symbol"
    if source == "arxiv" and any(_LOWER_WORD.fullmatch(w) and w not in STOPWORDS for w in text.split()):
        return "lower case"
    if known is not None:
        written = text[len(prefix):] if prefix and text.startswith(prefix) else text
        for size, most in UNSEEN_RUNS[source].items():
            unseen = known.unseen_runs(written, source, size)
            if unseen is not None and unseen > most:
                return "salad"
    if word_check is not None and not word_check(text, source):
        return "invented word"
    return None


def pair(songs: list[Half], papers: list[Half], seam_table: list[seams_module.Seam], per_song: int,
         rng: np.random.Generator) -> list[Mashup]:
    """Each song half joined to per_song different paper phrases, each at a seam drawn by the
    table's weights."""
    if not songs or not papers:
        return []
    weights = seams_module.weights(seam_table)
    out = []
    for song in songs:
        picks = rng.choice(len(papers), size=min(per_song, len(papers)), replace=False)
        for p in picks:
            seam = seam_table[rng.choice(len(seam_table), p=weights)]
            paper = papers[p]
            out.append(Mashup(seam.join(song.text, paper.text), song, paper, seam))
    return out
