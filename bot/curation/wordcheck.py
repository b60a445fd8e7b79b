"""The word check for source-conditioned models (bot/model/sources.py): whether a word written
under a corpus' token is one that corpus has used. The sampler rewrites refused words; it knows
the check only through a typed protocol (bot/model), never this class."""
from __future__ import annotations

from ..model import sources
from .evidence import Evidence, WordStats
from .words import STOPWORDS, words


class WordCheck:
    """Whether a word written under a corpus' token belongs to that corpus, and whether it is a
    content word: the sampler rewrites invented words and the other corpus' words, and counts a
    corpus as used once one of its content words is in the title."""

    def __init__(self, stats: WordStats, stopwords: frozenset[str] = STOPWORDS):
        self.stopwords = stopwords
        self.counts = {"song": stats.song, "arxiv": stats.arxiv}

    def _function_word(self, w: str) -> bool:
        return w in self.stopwords or w.isdigit()

    def __call__(self, chunk: str, source: str) -> bool:
        """True when every word of chunk is a function word or one the corpus named source used."""
        return all(self._function_word(w) or w in self.counts[source] for w in words(chunk))

    def content(self, chunk: str) -> bool:
        """True when chunk holds a content word (not a stopword, not a number)."""
        return any(not self._function_word(w) for w in words(chunk))


def word_check(sampler, evidence: Evidence) -> WordCheck | None:
    """The check the bot samples with: for source-conditioned models, one over the shipped word
    statistics; None for other models (they have no corpus tokens)."""
    return WordCheck(evidence.stats) if sources.is_source_model(sampler.model) else None
