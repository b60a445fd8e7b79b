"""Derived statistics shipped beside a model: word counts per source and a novelty index.

Built from the training corpora by bot/training/derive.py when a model is trained (`bot train`,
or `bot derive` for an existing model); they hold counts and hashes, never the titles themselves.
This module only reads them.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import math
import zipfile
from collections import Counter
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from . import curator as curator_module, seams as seams_module
from .curator import Curator
from .links import Linker
from .relatedness import WordVectors
from .words import canonical, compact, fold, words

NGRAM_SIZES = (4, 5, 6)  # word runs hashed for the overlap test
WORDS_FILE = "{name}_words.json.gz"
NOVELTY_FILE = "{name}_novelty.npz"
SEAMS_FILE = "{name}_seams.json"
CURATOR_FILE = "{name}_curator.json"
VECTORS_FILE = "{name}_vectors.npz"
HALVES_FILE = "{name}_halves.npz"


def hash64(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode("utf8"), digest_size=8).digest(), "little")


@dataclass(frozen=True)
class WordStats:
    """How often each word occurs in each source's titles."""

    song: dict[str, int]
    arxiv: dict[str, int]

    @classmethod
    def from_titles(cls, song_titles: list[str], arxiv_titles: list[str]) -> "WordStats":
        return cls(dict(Counter(w for t in song_titles for w in words(t))),
                   dict(Counter(w for t in arxiv_titles for w in words(t))))

    @property
    def totals(self) -> tuple[int, int]:
        return sum(self.song.values()), sum(self.arxiv.values())

    def known(self, word: str) -> bool:
        return word in self.song or word in self.arxiv

    def log_ratio(self, word: str) -> float:
        """log P(word | song) - log P(word | arXiv), add-one smoothed: > 0 leans song."""
        song_total, arxiv_total = self._totals
        vocabulary = self._vocabulary
        p_song = (self.song.get(word, 0) + 1) / (song_total + vocabulary)
        p_arxiv = (self.arxiv.get(word, 0) + 1) / (arxiv_total + vocabulary)
        return math.log(p_song / p_arxiv)

    def __post_init__(self):
        object.__setattr__(self, "_totals", self.totals)
        object.__setattr__(self, "_vocabulary", len(set(self.song) | set(self.arxiv)))

    def save(self, path: Path) -> None:
        data = {"format": "songs-x-arxiv word counts v1", "song": self.song, "arxiv": self.arxiv}
        with gzip.open(path, "wt", encoding="utf8") as f:
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"), sort_keys=True)

    @classmethod
    def load(cls, path: Path) -> "WordStats":
        try:
            with gzip.open(path, "rt", encoding="utf8") as f:
                data = json.load(f)
            return cls(data["song"], data["arxiv"])
        except FileNotFoundError:
            raise ModelFileError(f"word statistics file {path} is missing; rebuild it with `bot derive`") from None
        except (OSError, EOFError, ValueError, KeyError, TypeError) as e:
            raise ModelFileError(f"word statistics file {path} is unreadable ({e}); rebuild it with `bot derive`") from None


def ngrams(tokens: list[str], size: int) -> list[str]:
    return [" ".join(tokens[i:i + size]) for i in range(len(tokens) - size + 1)]


@dataclass(frozen=True)
class NoveltyIndex:
    """64-bit hashes of every training title (canonical and compact form, words.py) and of its
    4- to 6-word runs."""

    titles: np.ndarray  # sorted uint64
    runs: np.ndarray  # sorted uint64

    @classmethod
    def from_titles(cls, titles: list[str]) -> "NoveltyIndex":
        title_hashes, run_hashes = set(), set()
        for title in titles:
            title_hashes.update(hash64(compact(spelling)) for spelling in (title, fold(title)))
            for tokens in {tuple(words(title)), tuple(words(fold(title)))}:  # as written, and folded
                title_hashes.add(hash64(" ".join(tokens)))
                for size in NGRAM_SIZES:
                    run_hashes.update(hash64(g) for g in ngrams(list(tokens), size))
        as_array = lambda s: np.array(sorted(s), dtype=np.uint64)  # noqa: E731
        return cls(as_array(title_hashes), as_array(run_hashes))

    @staticmethod
    def _contains(table: np.ndarray, keys: list[int]) -> np.ndarray:
        keys = np.array(keys, dtype=np.uint64)
        if not len(table):  # a corpus with no word runs (one-word titles only)
            return np.zeros(len(keys), bool)
        at = np.searchsorted(table, keys)
        return (at < len(table)) & (table[np.minimum(at, len(table) - 1)] == keys)

    def is_training_title(self, title: str) -> bool:
        """In any spelling a reader would take for the same: case, punctuation, accents, lookalikes,
        and where spaces and hyphens fall ("Foo Bar Lab" for "FooBar Lab")."""
        keys = [hash64(form(spelling)) for form in (canonical, compact) for spelling in (title, fold(title))]
        return bool(self._contains(self.titles, keys).any())

    def shared_runs(self, tokens: list[str], size: int) -> list[str]:
        """Runs of size words shared with a training title (compared as written and folded)."""
        grams = ngrams(tokens, size)
        if not grams:
            return []
        hits = self._contains(self.runs, [hash64(g) for g in grams])
        folded = self._contains(self.runs, [hash64(fold(g)) for g in grams])
        return [g for g, hit, fhit in zip(grams, hits, folded) if hit or fhit]

    def save(self, path: Path) -> None:
        _save_tables(path, titles=self.titles, runs=self.runs)

    @classmethod
    def load(cls, path: Path) -> "NoveltyIndex":
        """Raises ModelFileError naming the file if it is missing or unreadable."""
        return cls(*_load_tables(path, "novelty index", ("titles", "runs")))


@dataclass(frozen=True)
class KnownHalves:
    """64-bit hashes (canonical form) of the halves the corpora hold: bare song titles and paper
    phrases (bot/training/halves.py), and of the runs of RUN_SIZES words inside them ("semantic
    segmentation", "stay with me"). The curator uses them to tell a half that reads like a real
    title or phrase, and a half made of runs real ones use (a fresh phrase of real parts,
    "Sparse Semantic Segmentation") from one that joins words nobody joins ("Algorithm
    Experiment Air"); no text ships."""

    song: np.ndarray  # sorted uint64, whole halves
    arxiv: np.ndarray
    song_runs: np.ndarray | None = None  # sorted uint64, word runs; None in files from before runs
    arxiv_runs: np.ndarray | None = None

    @classmethod
    def from_halves(cls, by_source: dict[str, list[str]]) -> "KnownHalves":
        table = lambda keys: np.array(sorted(set(keys)), dtype=np.uint64)  # noqa: E731
        wholes = {s: table(hash64(canonical(t)) for t in by_source[s]) for s in ("song", "arxiv")}
        runs = {s: table(h for t in by_source[s] for n in RUN_SIZES for h in _run_hashes(t, n))
                for s in ("song", "arxiv")}
        return cls(wholes["song"], wholes["arxiv"], runs["song"], runs["arxiv"])

    def knows(self, text: str, source: str) -> bool:
        """Whether text (any case, punctuation or spacing) is one of the source's halves."""
        return bool(NoveltyIndex._contains(getattr(self, source), [hash64(canonical(text))])[0])

    def unseen_runs(self, text: str, source: str, size: int) -> int | None:
        """How many of text's runs of size words (case folded, size in RUN_SIZES) no half of the
        source has: 0 for a text shorter than size or made of real runs; None when this index
        has no runs. Raises ValueError for a size not in RUN_SIZES."""
        if size not in RUN_SIZES:
            raise ValueError(f"word runs of {size} are not indexed (RUN_SIZES: {RUN_SIZES})")
        table = getattr(self, f"{source}_runs")
        if table is None:
            return None
        keys = _run_hashes(text, size)
        return int((~NoveltyIndex._contains(table, keys)).sum()) if keys else 0

    def save(self, path: Path) -> None:
        _save_tables(path, song=self.song, arxiv=self.arxiv, song_runs=self.song_runs, arxiv_runs=self.arxiv_runs)

    @classmethod
    def load(cls, path: Path) -> "KnownHalves":
        """Raises ModelFileError naming the file if it is missing or unreadable."""
        return cls(*_load_tables(path, "halves index", ("song", "arxiv"), ("song_runs", "arxiv_runs")))


RUN_SIZES = (2, 3)  # word runs KnownHalves holds: pairs and triples


def _run_hashes(text: str, size: int) -> list[int]:
    found = words(text)
    return [hash64(" ".join(found[i:i + size])) for i in range(len(found) - size + 1)]


def _save_tables(path: Path, **tables: np.ndarray | None) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, **{k: v for k, v in tables.items() if v is not None})


def _load_tables(path: Path, what: str, names: tuple[str, ...],
                 optional: tuple[str, ...] = ()) -> list[np.ndarray | None]:
    """The named uint64 hash tables of an .npz file, then the optional ones (None where the
    file has none); ModelFileError naming the file otherwise."""
    try:
        with np.load(path) as data:
            return ([data[name].astype(np.uint64) for name in names]
                    + [data[name].astype(np.uint64) if name in data.files else None for name in optional])
    except FileNotFoundError:
        raise ModelFileError(f"{what} {path} is missing; rebuild it with `bot derive`") from None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{what} {path} is unreadable ({e}); rebuild it with `bot derive`") from None


@dataclass(frozen=True)
class Evidence:
    """What the curation ships beside the model: word statistics, the novelty index, the seam
    table (seams.py), the corpora's halves (KnownHalves), the curator's fitted weights
    (curator.py) and, optionally, word vectors (relatedness.py)."""

    stats: WordStats
    novelty: NoveltyIndex
    seams: tuple  # of seams.Seam
    curator: Curator
    halves: KnownHalves
    vectors: WordVectors | None = None  # how related two halves are; optional

    @cached_property
    def linker(self) -> Linker | None:
        """Word links between halves (links.py) under the word vectors, made once so that each
        word's hub score is computed once; None without word vectors."""
        return None if self.vectors is None else Linker(self.vectors, self.stats)

    @staticmethod
    def optional_files(name: str) -> tuple[str, ...]:
        return (VECTORS_FILE.format(name=name),)

    @classmethod
    def load(cls, directory: Path, name: str) -> "Evidence":
        """Raises ModelFileError naming the file that is missing or unreadable (every file but
        the optional word vectors is required: without them the pool would grow with worse
        candidates and no warning)."""
        directory = Path(directory)
        required = {f: directory / f.format(name=name) for f in (SEAMS_FILE, CURATOR_FILE)}
        for path in required.values():
            if not path.exists():
                raise ModelFileError(f"{path} is missing; rebuild it with `bot derive` (seams) or `bot panel fit` "
                                     "(curator), or use a complete model directory")
        vector_path = directory / VECTORS_FILE.format(name=name)
        return cls(WordStats.load(directory / WORDS_FILE.format(name=name)),
                   NoveltyIndex.load(directory / NOVELTY_FILE.format(name=name)),
                   tuple(seams_module.load(required[SEAMS_FILE])),
                   curator_module.load(required[CURATOR_FILE]),
                   KnownHalves.load(directory / HALVES_FILE.format(name=name)),
                   WordVectors.load(vector_path) if vector_path.exists() else None)
