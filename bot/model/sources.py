"""Source-conditioned models: every word is introduced by a token naming its corpus.

In training, the space before each word (and the start of the title) becomes `<song>` or
`<arxiv>`, the title's source. When sampling, the model says where a word ends; the sampler picks
which source the next word comes from, so a title can start as a song and go on as a paper.
The tokens are vocabulary entries like textgenrnn's `<s>`; the files keep textgenrnn's format.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np

from .modelfile import META_TOKEN, CharModel

TOKENS = {"song": "<song>", "arxiv": "<arxiv>"}


def is_source_model(model: CharModel) -> bool:
    return bool(model.config.get("sources"))


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
        config={**model.config, "sources": dict(TOKENS)},
        embedding=np.vstack([model.embedding, model.embedding[rows]]),
        output_kernel=np.hstack([model.output_kernel, model.output_kernel[:, rows]]),
        output_bias=bias)


def encode(title: str, source: str, vocab: dict[str, int]) -> list[int]:
    """<s>, the source token, then the title with each space replaced by the source token, <s>."""
    return encode_words([(word, source) for word in title.split(" ")], vocab)


def encode_words(words: list[tuple[str, str]], vocab: dict[str, int]) -> list[int]:
    """<s>, then each word preceded by its own source's token, then <s>."""
    tokens = [vocab[META_TOKEN]]
    for word, source in words:
        tokens.append(vocab[TOKENS[source]])
        tokens += [vocab[ch] for ch in word]
    return tokens + [vocab[META_TOKEN]]


def splices(song_titles: list[str], arxiv_titles: list[str], count: int, rng) -> list[list[tuple[str, str]]]:
    """Training examples that change corpus at a word boundary: the start of one title and the end
    of another, each word marked with its own source. Trained on alongside the real titles, they
    teach the network to follow a source token whatever came before it."""
    examples = []
    for _ in range(count):
        first, second = ("song", "arxiv") if rng.random() < 0.5 else ("arxiv", "song")
        pick = {"song": song_titles, "arxiv": arxiv_titles}
        head = rng.choice(pick[first]).split(" ")
        tail = rng.choice(pick[second]).split(" ")
        head = head[: rng.randint(1, max(1, len(head) - 1))]
        tail = tail[rng.randint(1, len(tail) - 1):] if len(tail) > 1 else tail
        examples.append([(w, first) for w in head] + [(w, second) for w in tail])
    return examples


def add_source_tokens_to_vocab(vocab: dict[str, int]) -> dict[str, int]:
    """For a model trained from scratch: the tokens appended to its new vocabulary."""
    vocab = dict(vocab)
    for token in TOKENS.values():
        vocab.setdefault(token, len(vocab) + 1)
    return vocab
