"""How likely the model finds a given text: its fluency, for ranking candidates.

The texts are read the way the sampler writes halves (incremental semantics: one LSTM step per
token, attention over the last max_length positions), all rows of a batch at once.
"""
from __future__ import annotations

import numpy as np

from .modelfile import META_TOKEN, CharModel
from .network import Rows
from .sampler import Sampler


def encode(model: CharModel, text: str, source: str | None) -> list[int]:
    """<s>, the text (each word introduced by its corpus token for source models), <s>.
    Characters outside the vocabulary are skipped."""
    vocab = model.vocab
    if source is not None and model.config.get("sources"):
        marker = vocab[model.config["sources"][source]]
        tokens = [vocab[META_TOKEN]]
        for word in text.split(" "):
            tokens.append(marker)
            tokens += [vocab[ch] for ch in word if ch in vocab]
        return tokens + [vocab[META_TOKEN]]
    return [vocab[META_TOKEN]] + [vocab[ch] for ch in text if ch in vocab] + [vocab[META_TOKEN]]


def mean_log_likelihood(sampler: Sampler, texts: list[str], source: str | None = None,
                        batch_size: int = 256) -> np.ndarray:
    """Mean natural-log probability per token of each text, end token included (shape (n,),
    values <= 0; higher is more fluent), batch_size texts at a time (fewer for a network whose
    kept attention features would pass network.KEPT_BYTES). source: the corpus name every word is written under,
    for source-conditioned models ("song" or "arxiv"); None for plain models.
    Raises KeyError for a source the model does not know."""
    model = sampler.model
    if source is not None and source not in (model.config.sources or {source: None}):
        raise KeyError(source)
    tags = model.config.sources or {}
    markers = np.array([model.vocab[t] for t in tags.values()], np.int64) if tags else None
    encoded = [encode(model, t, source) for t in texts]
    out = np.zeros(len(texts))
    batch_size = min(batch_size, Rows.fitting(sampler.network, max(map(len, encoded), default=1), False))
    for start in range(0, len(texts), batch_size):
        rows = encoded[start:start + batch_size]
        steps = max(map(len, rows))
        tokens = np.zeros((len(rows), steps), np.int64)
        for i, r in enumerate(rows):
            tokens[i, : len(r)] = r
        reader = Rows(sampler.network, len(rows), steps)
        total = np.zeros(len(rows))
        for t in range(steps - 1):
            reader.read(tokens[:, t])
            probs = reader.probabilities()
            target = tokens[:, t + 1]
            if markers is not None:  # every corpus token means "a word ends": merged, as sampled
                probs[:, markers[0]] = probs[:, markers].sum(axis=1)
                target = np.where(np.isin(target, markers), markers[0], target)
            real = np.flatnonzero(target > 0)
            total[real] += np.log(probs[real, target[real]].astype(np.float64) + 1e-12)
        out[start:start + len(rows)] = total / np.array([len(r) - 1 for r in rows])
    return out
