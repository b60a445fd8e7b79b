"""Deriving the statistics shipped beside a model (bot/curation/evidence.py) from the corpora:
at the end of `bot train`, and by `bot derive` for an existing model."""
from __future__ import annotations

from pathlib import Path

from . import corpus, halves
from ..files import atomic_write
from ..curation import seams
from ..curation.curator import PRIOR
from ..curation.evidence import (HALVES_FILE, NOVELTY_FILE, SEAMS_FILE, WORDS_FILE, Evidence, KnownHalves,
                                 NoveltyIndex, WordStats)


def derive(song_titles: list[str], arxiv_titles: list[str], directory: Path, name: str) -> Evidence:
    """Build and write the word statistics, the novelty index, the seam table and the index of
    known halves (through temporary names, so a failure leaves the old ones)."""
    evidence = Evidence(WordStats.from_titles(song_titles, arxiv_titles),
                        NoveltyIndex.from_titles(song_titles + arxiv_titles),
                        tuple(seams.learn(song_titles, arxiv_titles)), PRIOR,
                        KnownHalves.from_halves(halves.examples(song_titles, arxiv_titles)))
    targets = [(evidence.stats.save, directory / WORDS_FILE.format(name=name)),
               (evidence.novelty.save, directory / NOVELTY_FILE.format(name=name)),
               (lambda path: seams.save(list(evidence.seams), path), directory / SEAMS_FILE.format(name=name)),
               (evidence.halves.save, directory / HALVES_FILE.format(name=name))]
    for save, path in targets:
        atomic_write(path, lambda tmp: save(Path(tmp)))
    return evidence


def derive_from_files(song_path: Path, arxiv_path: Path, directory: Path, name: str) -> Evidence:
    """derive() over every title of the two corpus files, cleaned as for training but without
    the length limit: a long title is still one the bot must not repeat. Raises CorpusError for
    an unreadable corpus."""
    clean = lambda path: corpus.clean_titles(corpus.read_titles(path), max_chars=10**6)  # noqa: E731
    return derive(clean(song_path), clean(arxiv_path), Path(directory), name)
