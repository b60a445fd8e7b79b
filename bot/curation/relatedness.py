"""How related in meaning two texts are (a song title and a paper phrase): numpy only.

The table (model_weights/mashup_vectors.npz, made by bot.training.relatedness) maps each corpus
word to a unit-length int8 vector. A text's vector is the mean of the vectors of its distinct
content words (bot.curation.words.words, STOPWORDS left out, words missing from the table
ignored); relatedness is the cosine of two such means, in [-1, 1], and 0.0 when either text has no
known content word. About 0.6 MB in memory once loaded.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from ..errors import ModelFileError
from .words import STOPWORDS, words

_KEYS = ("words", "vectors", "scale")


@dataclass(frozen=True)
class WordVectors:
    words: np.ndarray  # sorted, distinct unicode words, shape (n,)
    vectors: np.ndarray  # int8, shape (n, dims); a word's vector is vectors[i] * scale
    scale: float
    source: str = ""

    @classmethod
    def load(cls, path: str | Path) -> "WordVectors":
        """Read and check a table written by bot.training.relatedness.

        Raises ModelFileError naming the file when it is missing, unreadable, not an .npz, or
        its arrays are missing or inconsistent (dtypes, shapes, order, scale).
        """
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                missing = [k for k in _KEYS if k not in data.files]
                if missing:
                    raise ModelFileError(f"word vectors file {path} lacks {', '.join(missing)}; "
                                         "regenerate it: python -m bot.training.relatedness")
                arrays = {k: data[k] for k in data.files if k in _KEYS + ("source",)}
        except FileNotFoundError:
            raise ModelFileError(f"word vectors file {path} is missing; "
                                 "make it with: python -m bot.training.relatedness") from None
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            raise ModelFileError(f"word vectors file {path} is unreadable or corrupt "
                                 f"({type(e).__name__}: {e})") from None
        table, vectors, scale = arrays["words"], arrays["vectors"], arrays["scale"]
        problem = None
        if table.dtype.kind != "U" or table.ndim != 1:
            problem = "words is not a 1-d string array"
        elif vectors.dtype != np.int8 or vectors.ndim != 2 or vectors.shape[0] != table.shape[0]:
            problem = f"vectors is {vectors.dtype} {vectors.shape}, not int8 ({table.shape[0]}, dims)"
        elif table.size == 0 or vectors.shape[1] == 0:
            problem = "the table is empty"
        elif scale.shape != () or not np.isfinite(scale) or float(scale) <= 0:
            problem = "scale is not one positive number"
        elif table.size > 1 and not bool(np.all(table[:-1] < table[1:])):
            problem = "words are not sorted and distinct"
        if problem:
            raise ModelFileError(f"word vectors file {path} is inconsistent: {problem}")
        source = str(arrays["source"]) if "source" in arrays else ""
        return cls(table, vectors, float(scale), source)

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def __len__(self) -> int:
        return int(self.words.shape[0])

    def rows(self, wanted: Iterable[str]) -> np.ndarray:
        """Row index of each word in the table, -1 for words it lacks (int64 array)."""
        wanted = np.asarray(list(wanted), dtype=str)
        if wanted.size == 0:
            return np.zeros(0, dtype=np.int64)
        at = np.searchsorted(self.words, wanted)
        at_clipped = np.minimum(at, len(self) - 1)
        return np.where(self.words[at_clipped] == wanted, at_clipped, -1).astype(np.int64)

    def vector(self, word: str) -> np.ndarray | None:
        """The float32 unit vector of one word, or None when the table lacks it."""
        row = int(self.rows([word])[0])
        return None if row < 0 else self.vectors[row].astype(np.float32) * np.float32(self.scale)


def content_words(text: str) -> list[str]:
    """Distinct non-stopwords of a text, in order of first appearance."""
    return list(dict.fromkeys(w for w in words(text) if w not in STOPWORDS))


def relatedness_many(vectors: WordVectors, pairs: Iterable[tuple[str, str]]) -> np.ndarray:
    """relatedness() of each (a, b) pair, as a float64 array (one vectorised pass)."""
    flat: list[str] = []
    side: list[int] = []  # 2 * pair index for a, 2 * pair index + 1 for b
    n = 0
    for n, (a, b) in enumerate(pairs, start=1):
        for offset, text in enumerate((a, b)):
            found = content_words(text)
            flat.extend(found)
            side.extend([2 * (n - 1) + offset] * len(found))
    if n == 0:
        return np.zeros(0)
    rows = vectors.rows(flat)
    known = rows >= 0
    sums = np.zeros((2 * n, vectors.dims), dtype=np.float32)
    np.add.at(sums, np.asarray(side, dtype=np.int64)[known], vectors.vectors[rows[known]].astype(np.float32))
    sums = sums.reshape(n, 2, vectors.dims)
    a, b = sums[:, 0, :], sums[:, 1, :]
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    cosines = np.divide(dots, norms, out=np.zeros(n, dtype=np.float32), where=norms > 0)
    return np.clip(cosines, -1.0, 1.0).astype(np.float64)


def relatedness(vectors: WordVectors, a: str, b: str) -> float:
    """Cosine, in [-1, 1], between the mean vectors of the content words of a and b; 0.0 when
    either side has no content word in the table."""
    return float(relatedness_many(vectors, [(a, b)])[0])
