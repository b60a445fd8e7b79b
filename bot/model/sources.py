"""Corpus tokens: in a halves model every word is introduced by a token naming its corpus.

In training, the space before each word (and the start of the half) becomes `<song>` or
`<arxiv>`, the half's corpus. When sampling, the model says where a word ends and the sampler
writes the row's own corpus token there (Sampler.sample_halves). The tokens are vocabulary
entries like textgenrnn's `<s>`; the files keep textgenrnn's format.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .modelfile import META_TOKEN, CharModel

TOKENS = {"song": "<song>", "arxiv": "<arxiv>"}


def is_source_model(model: CharModel) -> bool:
    return bool(model.config.sources)


def add_source_tokens(model: CharModel) -> CharModel:
    """The model with the two source tokens added, each starting out as a copy of the space
    character (embedding and output column), sharing its probability."""
    vocab = dict(model.vocab)
    space = vocab[" "]
    rows = []
    for token in TOKENS.values():
        if token in vocab:
            continue
        vocab[token] = len(vocab) + 1
        rows.append(space)
    if not rows:
        return model
    share = math.log(len(rows))
    bias = np.concatenate([model.output_bias, model.output_bias[rows] - share])
    bias[space] -= 30.0  # a plain space is never a target any more: the markers take over its share
    return dataclasses.replace(
        model, vocab=vocab,
        config=dataclasses.replace(model.config, sources=dict(TOKENS)),
        embedding=np.vstack([model.embedding, model.embedding[rows]]),
        output_kernel=np.hstack([model.output_kernel, model.output_kernel[:, rows]]),
        output_bias=bias)


def encode(title: str, source: str, vocab: dict[str, int]) -> list[int]:
    """<s>, then each word of the title preceded by the source's token, then <s>."""
    marker = vocab[TOKENS[source]]
    tokens = [vocab[META_TOKEN]]
    for word in title.split(" "):
        tokens.append(marker)
        tokens += [vocab[ch] for ch in word]
    return tokens + [vocab[META_TOKEN]]


def add_source_tokens_to_vocab(vocab: dict[str, int]) -> dict[str, int]:
    """For a model trained from scratch: the tokens appended to its new vocabulary."""
    vocab = dict(vocab)
    for token in TOKENS.values():
        vocab.setdefault(token, len(vocab) + 1)
    return vocab

