"""What the curator knows about a candidate: pure functions from its two halves to numbers.

Every feature is a float, named so that a linear score over them reads as a sentence
("+0.4 rhyme"). They are recorded with each post so that engagement can be tied back to them.
"""
from __future__ import annotations

import math
import re

from .words import STOPWORDS, words

_VOWELS = re.compile(r"[aeiouy]+[^aeiouy]*$")
LENGTH_BANDS = ((0, 4, "short"), (5, 7, "medium"), (8, 99, "long"))  # words in the whole post


def content_words(text: str) -> list[str]:
    """Lower-case words that are not function words or numbers."""
    return [w for w in words(text) if w not in STOPWORDS and not w.isdigit()]


def rhyme_key(word: str) -> str:
    """The word's last vowel group and what follows ("moment" -> "ent"), a crude rhyme."""
    m = _VOWELS.search(word.lower())
    return m.group(0) if m and len(word) >= 3 else ""


def rhymes(song: str, paper: str) -> bool:
    """The last words of the halves end alike (two or more letters from the last vowel) and
    are different words."""
    a, b = words(song), words(paper)
    if not a or not b or a[-1] == b[-1]:
        return False
    ka, kb = rhyme_key(a[-1]), rhyme_key(b[-1])
    return len(ka) >= 2 and ka == kb


def alliterates(song: str, paper: str) -> bool:
    """A content word of each half starts with the same two letters."""
    heads_a = {w[:2] for w in content_words(song) if len(w) >= 3}
    heads_b = {w[:2] for w in content_words(paper) if len(w) >= 3}
    return bool(heads_a & heads_b)


def commonness(text: str, counts: dict[str, int]) -> float:
    """Mean log10(1 + count) of the text's content words in one corpus' word counts: about 0
    for words the corpus never used, 2 for words it used a hundred times."""
    found = content_words(text)
    return sum(math.log10(1 + counts.get(w, 0)) for w in found) / len(found) if found else 0.0


def shared_share(text: str, counts: dict[str, int], least: int) -> float:
    """Share of the text's content words that the other corpus uses at least `least` times: a
    paper phrase in everyday words ("Missing Entries") or a song title in technical ones reads
    both ways."""
    found = content_words(text)
    return sum(counts.get(w, 0) >= least for w in found) / len(found) if found else 0.0


COMMON_WORDS = 300  # a specific paper phrase has a word outside its corpus' 300 most frequent
_COMMON: dict[int, frozenset[str]] = {}  # id(counts) -> its most frequent words (one table per process)


def common_words(counts: dict[str, int], n: int = COMMON_WORDS) -> frozenset[str]:
    """The n most frequent words of one corpus' word counts (computed once per table)."""
    if id(counts) not in _COMMON:
        _COMMON[id(counts)] = frozenset(sorted(counts, key=lambda w: (-counts[w], w))[:n])
    return _COMMON[id(counts)]


def specific(text: str, counts: dict[str, int], unseen_pairs: int | None) -> bool:
    """A specific technical phrase (issue 18's proxy; readers rate such phrases 4-5 more often):
    two or more words, one of them outside the corpus' COMMON_WORDS most frequent, and every
    neighbouring word pair one some real phrase uses (unseen_pairs == 0, from KnownHalves)."""
    found = words(text)
    return (len(found) >= 2 and unseen_pairs == 0
            and any(w not in common_words(counts) for w in found if w not in STOPWORDS))


def names_a_method(phrase: str) -> bool:
    """A word (or part of a hyphenated one) of 3 characters or more with a capital or a digit
    after its first letter: "BLSTM", "word2vec", "AlignGAN"; not "Time-Series" nor "Fine-Grained"."""
    parts = (p for w in phrase.split() for p in w.split("-"))
    return any(len(p) >= 3 and any(c.isupper() or c.isdigit() for c in p[1:]) for p in parts)


def length_band(text: str) -> str:
    n = len(words(text))
    return next(name for lo, hi, name in LENGTH_BANDS if lo <= n <= hi)


def features(song: str, paper: str, post: str, seam_name: str, song_fluency: float,
             paper_fluency: float, temperature: float) -> dict[str, float]:
    """The candidate's features. Fluencies are the model's mean log-likelihood per character of
    each half (<= 0); temperature the one the halves were sampled at."""
    n_words = len(words(post))
    paper_content = content_words(paper)
    found = {
        "song_fluency": song_fluency,
        "paper_fluency": paper_fluency,
        "words": float(n_words),
        "chars": float(len(post)),
        "song_words": float(len(words(song))),
        "paper_words": float(len(words(paper))),
        "jargon": float(max(0, len(paper_content) - 3)),  # paper words past three: a chain of jargon
        "rhyme": float(rhymes(song, paper)),
        "alliteration": float(alliterates(song, paper)),
        "name": float(names_a_method(paper)),
        "temperature": temperature,
        f"seam={seam_name}": 1.0,
        f"length={length_band(post)}": 1.0,
    }
    return found
