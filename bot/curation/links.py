"""Word links: the pair of words, one from a song title and one from a paper phrase, closest in
meaning, scored so that words close to everything do not link everything. Numpy only.

Readers rate highest the posts whose halves comment on each other ("Stay Lost (Structured Loss
Function Remix)", "Read My Lips (prod. Text Detection)"), and the mean-vector relatedness of
relatedness.py picks pairs of everyday words instead (docs/decisions.md: panels 40-41; links:
panels 43-46). A link is one word pair, scored by cross-domain similarity local scaling (CSLS;
Conneau, Lample, Ranzato, Denoyer and Jegou, "Word Translation Without Parallel Data", ICLR 2018,
eq. 6):

    link(a, b) = 2 cos(a, b) - r_paper(a) - r_song(b)

where r_paper(a) is the mean cosine of song word a to its HUB_NEIGHBOURS nearest paper-corpus
words, and r_song(b) that of paper word b to its nearest song-corpus words: a word near many
words of the other corpus ("time", "like") must be nearer still to link. A word both corpora use
("time", "data") counts itself among its neighbours, which raises its bar a little more. Two forms
of one word (words.one_word: "map", "maps") never link, nor numbers (Roman ones included). A pair
of texts links with its best word pair, clipped below at NO_LINK, which is also the link of texts
without two linkable words: most pairs of unrelated words score below it.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .relatedness import WordVectors, content_words
from .words import one_word

if TYPE_CHECKING:
    from .evidence import WordStats

HUB_NEIGHBOURS = 30
MIN_LETTERS = 3
LINK_FEATURE = "link"  # the curator feature that holds a candidate's link
LINK_MIN = 0.0  # a pair of texts links when its best word pair scores at least this
NO_LINK = -1.0  # the floor: unlinkable texts, and the best pairs of unrelated words (most of them)
CHUNK = 512  # song titles (or words) scored at once (memory: CHUNK x the other side's words, float32)
_ROMAN = re.compile(r"^(?=[ivxlc])c{0,3}(xc|xl|l?x{0,3})(ix|iv|v?i{0,3})$")
_POSSESSIVE = re.compile(r"['’]s$")


class Linker:
    """Links between song titles and paper phrases under one word-vector table and the corpora's
    word counts (for each word's hub score, cached: about 0.1 MB per 1,000 words). Holds the
    table's unit vectors as float32 (about 2.5 MB for the shipped table). The pipeline uses the
    evidence's one (Evidence.linker), so each word's hub score is computed once."""

    def __init__(self, vectors: WordVectors, stats: "WordStats"):
        self.vectors = vectors
        self._unit = _unit(vectors.vectors.astype(np.float32) * np.float32(vectors.scale))
        self._corpus_rows = {source: self._known(counts) for source, counts in (("song", stats.song),
                                                                                  ("arxiv", stats.arxiv))}
        self._hub: dict[tuple[str, str], float] = {}

    def _known(self, counts: dict[str, int]) -> np.ndarray:
        rows = self.vectors.rows(sorted(w for w in counts if len(w) >= MIN_LETTERS))
        return rows[rows >= 0]

    def linkable(self, text: str) -> list[str]:
        """The text's content words that may link, in order, once each: a possessive "'s" taken
        off, letters only, MIN_LETTERS or more, not a Roman numeral, known to the table."""
        found = [_POSSESSIVE.sub("", w) for w in content_words(text)]
        found = list(dict.fromkeys(w for w in found if len(w) >= MIN_LETTERS and w.isalpha() and not _ROMAN.match(w)))
        rows = self.vectors.rows(found)
        return [w for w, r in zip(found, rows) if r >= 0]

    def _hubs(self, words: Sequence[str], against: str) -> np.ndarray:
        """Each word's mean cosine to its HUB_NEIGHBOURS nearest words of corpus `against` (itself
        among them when that corpus uses it too); 0 where that corpus has no word in the table."""
        todo = [w for w in dict.fromkeys(words) if (w, against) not in self._hub]
        corpus = self._corpus_rows[against]
        k = min(HUB_NEIGHBOURS, len(corpus))
        for first in range(0, len(todo), CHUNK):
            some = todo[first:first + CHUNK]
            rows = self.vectors.rows(some)
            sims = self._unit[rows] @ self._unit[corpus].T
            tops = np.partition(sims, sims.shape[1] - k, axis=1)[:, sims.shape[1] - k:] if k else sims[:, :0]
            for w, top in zip(some, tops):
                self._hub[(w, against)] = float(top.mean()) if top.size else 0.0
        return np.array([self._hub[(w, against)] for w in words], dtype=np.float32)

    def _pair_scores(self, song_words: list[str], paper_words: list[str]) -> np.ndarray:
        """link(a, b) for every song word a and paper word b: float32 (songs, papers)."""
        cos = self._unit[self.vectors.rows(song_words)] @ self._unit[self.vectors.rows(paper_words)].T
        scores = 2 * cos - self._hubs(song_words, "arxiv")[:, None] - self._hubs(paper_words, "song")[None, :]
        by_start: dict[str, list[int]] = {}
        for j, b in enumerate(paper_words):
            by_start.setdefault(b[:2], []).append(j)
        for i, a in enumerate(song_words):
            for j in by_start.get(a[:2], ()):
                if one_word(a, paper_words[j]):
                    scores[i, j] = NO_LINK
        return scores

    def best(self, song_texts: Sequence[str], paper_texts: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """For each song title its k best-linked paper phrases, best first: (indices into
        paper_texts, int64, and their links, float32), each of shape (songs, min(k, papers)).
        Computed CHUNK songs at a time."""
        k = max(0, min(k, len(paper_texts)))
        indices = np.zeros((len(song_texts), k), dtype=np.int64)
        values = np.full((len(song_texts), k), NO_LINK, dtype=np.float32)
        paper_words = [self.linkable(p) for p in paper_texts]
        vocabulary = sorted({w for ws in paper_words for w in ws})
        if k == 0 or not vocabulary:
            indices[:] = np.arange(k)
            return indices, values
        at = {w: j for j, w in enumerate(vocabulary)}
        with_words = [j for j, ws in enumerate(paper_words) if ws]
        columns = np.array([at[w] for j in with_words for w in paper_words[j]], dtype=np.int64)
        starts = np.cumsum([0] + [len(paper_words[j]) for j in with_words[:-1]])
        for first in range(0, len(song_texts), CHUNK):
            chunk = [self.linkable(s) for s in song_texts[first:first + CHUNK]]
            words = sorted({w for ws in chunk for w in ws})
            block = np.full((len(chunk), len(paper_texts)), NO_LINK, dtype=np.float32)
            if words:
                scores = self._pair_scores(words, vocabulary)
                row = {w: i for i, w in enumerate(words)}
                by_word = np.full((len(chunk), len(vocabulary)), NO_LINK, dtype=np.float32)
                for i, ws in enumerate(chunk):
                    if ws:
                        by_word[i] = scores[[row[w] for w in ws]].max(axis=0)
                block[:, with_words] = np.maximum.reduceat(by_word[:, columns], starts, axis=1)
            block = np.maximum(block, NO_LINK)
            top = np.argpartition(-block, k - 1, axis=1)[:, :k]
            order = np.argsort(-np.take_along_axis(block, top, axis=1), axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            indices[first:first + len(chunk)] = top
            values[first:first + len(chunk)] = np.take_along_axis(block, top, axis=1)
        return indices, values

    def best_pair(self, song: str, paper: str) -> tuple[str, str, float] | None:
        """The word pair (song word, paper word, link) through which the two texts link best;
        None where they have no linkable pair or their best is at the floor (NO_LINK)."""
        a, b = self.linkable(song), self.linkable(paper)
        if not a or not b:
            return None
        scores = self._pair_scores(a, b)
        i, j = np.unravel_index(int(scores.argmax()), scores.shape)
        return (a[i], b[j], float(scores[i, j])) if scores[i, j] > NO_LINK else None

    def links(self, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
        """The link of each (song title, paper phrase) pair, float64 array, at least NO_LINK."""
        out = []
        for song, paper in pairs:
            found = self.best_pair(song, paper)
            out.append(found[2] if found else NO_LINK)
        return np.array(out, dtype=np.float64)


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
