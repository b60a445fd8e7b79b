"""Word links: the pair of words, one from a song title and one from a paper phrase, closest in
meaning, scored so that words close to everything do not link everything. Numpy only.

Readers rate highest the posts whose halves comment on each other ("Stay Lost (Structured Loss
Function Remix)", "Read My Lips (Visual Question-Answering)"), and the mean-vector relatedness of
relatedness.py picks pairs of everyday words instead (docs/decisions.md, panels 40-41). A link is
one word pair, scored by cross-domain similarity local scaling (CSLS; Conneau, Lample, Ranzato,
Denoyer and Jegou, "Word Translation Without Parallel Data", ICLR 2018, eq. 6):

    link(a, b) = 2 cos(a, b) - r_paper(a) - r_song(b)

where r_paper(a) is the mean cosine of song word a to its HUB_NEIGHBOURS nearest paper-corpus
words, and r_song(b) that of paper word b to its nearest song-corpus words: a word near many
words of the other corpus ("time", "like") must be nearer still to link. Words of the same stem
(the first four letters) do not link, nor numbers.
A pair of texts links with its best word pair; texts without two linkable words get NO_LINK.
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from .evidence import WordStats
from .relatedness import WordVectors, content_words

HUB_NEIGHBOURS = 30
MIN_LETTERS = 3
LINK_MIN = 0.0  # a pair of texts links when its best word pair scores at least this
NO_LINK = -1.0  # below any link of two known words (links lie in about [-1, 0.5])


class Linker:
    """Links between song titles and paper phrases under one word-vector table and the corpora's
    word counts. Caches each word's vector and hub score (about 0.2 MB per 1,000 words)."""

    def __init__(self, vectors: WordVectors, stats: WordStats):
        self.vectors = vectors
        self._unit = _unit(vectors.vectors.astype(np.float32) * np.float32(vectors.scale))
        self._corpus_rows = {source: self._known(counts) for source, counts in (("song", stats.song),
                                                                                  ("arxiv", stats.arxiv))}
        self._hub: dict[tuple[str, str], float] = {}

    def _known(self, counts: dict[str, int]) -> np.ndarray:
        rows = self.vectors.rows(sorted(w for w in counts if len(w) >= MIN_LETTERS))
        return rows[rows >= 0]

    def linkable(self, text: str) -> list[str]:
        """The text's content words that may link: known to the table, letters only (no numbers),
        MIN_LETTERS or more."""
        found = [w for w in content_words(text)
                 if len(w) >= MIN_LETTERS and w.replace("-", "").replace("'", "").isalpha()]
        rows = self.vectors.rows(found)
        return [w for w, r in zip(found, rows) if r >= 0]

    def _hubs(self, words: Sequence[str], against: str) -> np.ndarray:
        """Each word's mean cosine to its HUB_NEIGHBOURS nearest words of corpus `against`."""
        todo = [w for w in dict.fromkeys(words) if (w, against) not in self._hub]
        if todo:
            sims = self._unit[self.vectors.rows(todo)] @ self._unit[self._corpus_rows[against]].T
            k = min(HUB_NEIGHBOURS, sims.shape[1])
            top = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
            for w, r in zip(todo, top.mean(axis=1)):
                self._hub[(w, against)] = float(r)
        return np.array([self._hub[(w, against)] for w in words], dtype=np.float32)

    def _table(self, song_texts: Sequence[str], paper_texts: Sequence[str]):
        """Each text's linkable word indices and the word-pair link table (songs x papers)."""
        song_words = {s: self.linkable(s) for s in song_texts}
        paper_words = {p: self.linkable(p) for p in paper_texts}
        songs = sorted({w for ws in song_words.values() for w in ws})
        papers = sorted({w for ws in paper_words.values() for w in ws})
        if not songs or not papers:
            return None
        cos = self._unit[self.vectors.rows(songs)] @ self._unit[self.vectors.rows(papers)].T
        table = 2 * cos - self._hubs(songs, "arxiv")[:, None] - self._hubs(papers, "song")[None, :]
        stems = np.array([w[:4] for w in songs])[:, None] == np.array([w[:4] for w in papers])[None, :]
        table[stems] = NO_LINK
        at_song = {w: i for i, w in enumerate(songs)}
        at_paper = {w: i for i, w in enumerate(papers)}
        return ({s: [at_song[w] for w in ws] for s, ws in song_words.items()},
                {p: [at_paper[w] for w in ws] for p, ws in paper_words.items()}, table)

    def matrix(self, song_texts: Sequence[str], paper_texts: Sequence[str]) -> np.ndarray:
        """The link of every song title with every paper phrase: float64, shape (songs, papers)."""
        out = np.full((len(song_texts), len(paper_texts)), NO_LINK)
        found = self._table(song_texts, paper_texts)
        if found is None:
            return out
        song_words, paper_words, table = found
        by_song = np.full((len(song_texts), table.shape[1]), NO_LINK, dtype=np.float32)
        for i, s in enumerate(song_texts):
            if song_words[s]:
                by_song[i] = table[song_words[s]].max(axis=0)
        for j, p in enumerate(paper_texts):
            if paper_words[p]:
                out[:, j] = by_song[:, paper_words[p]].max(axis=1)
        return np.maximum(out, NO_LINK)

    def best_pair(self, song: str, paper: str) -> tuple[str, str, float] | None:
        """The word pair (song word, paper word, link) through which the two texts link best,
        or None where they have no linkable pair."""
        found = self._table([song], [paper])
        if found is None:
            return None
        song_words, paper_words, table = found
        a, b = song_words[song], paper_words[paper]
        if not a or not b:
            return None
        sub = table[np.ix_(a, b)]
        i, j = np.unravel_index(int(sub.argmax()), sub.shape)
        if sub[i, j] <= NO_LINK:
            return None
        names_song, names_paper = self.linkable(song), self.linkable(paper)
        return names_song[i], names_paper[j], float(sub[i, j])

    def links(self, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
        """The link of each (song title, paper phrase) pair, float64 array; NO_LINK where either
        side has no linkable word or only same-stem pairs."""
        pairs = list(pairs)
        out = np.full(len(pairs), NO_LINK)
        found = self._table([s for s, _ in pairs], [p for _, p in pairs])
        if found is None:
            return out
        song_words, paper_words, table = found
        for n, (s, p) in enumerate(pairs):
            a, b = song_words[s], paper_words[p]
            if a and b:
                out[n] = max(NO_LINK, float(table[np.ix_(a, b)].max()))
        return out


def _unit(matrix: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms > 0, norms, 1.0)
