"""The decoding-policy hook: what the sampler asks, at each step, of a generation strategy.

The sampler (bot/model/sampler.py) runs the network and draws tokens; a policy decides what
every row starts with, may change the next-token probabilities, may overwrite the tokens drawn,
may send rows back to a saved state (to rewrite a word), and turns kept tokens into text. The
sampler knows nothing of corpora: the corpus-tag strategy of source-conditioned models is one
policy (bot/model/sources.py), plain models use PlainPolicy.

One policy object is made per batch by a PolicyFactory, so it may keep per-row state in arrays
indexed by batch row (0..batch-1): `Step.rows` maps the live rows of a step to those indices
(rows leave the batch when they end, so the live rows are a shrinking subset).

Order of calls for one batch:
    policy = factory(model, batch, prefix, rng)
    tokens = policy.start()                    # (batch, n) token indices, n >= 1
    policy.begin(reader, tokens)               # must read tokens (the default does exactly that)
    each step, while rows are live:
        policy.adjust(probs, rows)             # in place, before the draw
        chosen = draw(probs)
        rewound = policy.review(Step(...))     # may overwrite step.chosen, rewind rows
        each live row whose token is not <s> and that was not rewound:
            text += policy.text(chars, token index)
        the network reads step.chosen (rewound rows included: they read their forced token)
    title = policy.finish(prefix + text)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from .modelfile import META_TOKEN, CharModel


@runtime_checkable
class WordCheck(Protocol):
    """Whether a word written under a corpus' token belongs to that corpus: (word, corpus name)
    -> bool. A plain function of two arguments is one."""

    def __call__(self, word: str, corpus: str) -> bool: ...


@runtime_checkable
class ContentWordCheck(WordCheck, Protocol):
    """A WordCheck that also tells content words from function words. With it, a corpus counts as
    used once one of its content words is kept, not as soon as its token is drawn."""

    def content(self, word: str) -> bool: ...


class Reader(Protocol):
    """The network's reading state for the live rows of a batch, as a policy may drive it.
    Row arguments are indices into the live rows (0..len(Step.rows)-1), not batch rows."""

    can_rewind: bool  # False for textgenrnn semantics (each step rereads a window): no save/rewind

    def read(self, tokens: np.ndarray) -> None:
        """Read (live rows, k) tokens, every row the same number; the first call starts the rows."""

    def save(self, rows: np.ndarray) -> None:
        """Remember these rows' current state as the point a later rewind returns them to.
        The first save remembers every row."""

    def rewind(self, rows: np.ndarray) -> None:
        """Return these rows to their saved state (the characters are the policy's to delete)."""

    def probabilities(self) -> np.ndarray:
        """(live rows, vocabulary + 1) probabilities of each row's next token."""


@dataclass
class Step:
    """One sampling step as a policy sees it. rows and chosen are over the live rows, texts over
    the whole batch; the policy may overwrite chosen (force a token, <s> ends the row) and delete
    characters at the end of texts when it rewinds a row."""

    rows: np.ndarray  # (live,) the batch row of each live row
    chosen: np.ndarray  # (live,) token drawn for each live row
    texts: list[list[str]]  # (batch,) characters kept so far per row, the prefix not included
    reader: Reader | None = None  # None only where the policy never rewinds


class DecodingPolicy(Protocol):
    """The per-step hook. Subclass it to inherit the plain behaviour of each method."""

    model: CharModel
    prefix: str
    batch: int

    def start(self) -> np.ndarray:
        """(batch, n) int64 token indices each row begins with: <s>, then the prefix's."""
        row = [self.model.vocab[META_TOKEN]] + self.model.encode(self.prefix)
        return np.tile(np.array(row, np.int64), (self.batch, 1))

    def begin(self, reader: Reader, tokens: np.ndarray) -> None:
        """Have the network read the start tokens (a policy that rewinds saves a state here)."""
        reader.read(tokens)

    def adjust(self, probs: np.ndarray, rows: np.ndarray) -> None:
        """Change the live rows' next-token probabilities (live, vocabulary + 1) in place before the
        draw, e.g. forbid a token by setting its column to 0 (at temperature > 0 a zero keeps
        textgenrnn's epsilon of weight: to force a token exactly, overwrite Step.chosen)."""

    def review(self, step: Step) -> np.ndarray | None:
        """After the draw: may overwrite step.chosen and rewind rows (step.reader.rewind, then
        delete their characters from step.texts). Returns a boolean mask over the live rows of
        those that add no character this step (the rewound ones), or None for no such row."""
        return None

    def text(self, chars: list[str], token: int) -> str:
        """What a kept token adds to a row's characters chars ('' adds nothing)."""
        return self.tokens[token]

    def finish(self, title: str) -> str:
        """The finished title (prefix included)."""
        return title

    @property
    def tokens(self) -> list[str]:
        return self.model.tokens()


class PolicyFactory(Protocol):
    """Makes the policy for one batch."""

    def __call__(self, model: CharModel, batch: int, prefix: str, rng: np.random.Generator) -> DecodingPolicy: ...


class PlainPolicy(DecodingPolicy):
    """Every token as drawn: textgenrnn's own generation."""

    def __init__(self, model: CharModel, batch: int, prefix: str, rng: np.random.Generator | None = None):
        self.model, self.batch, self.prefix = model, batch, prefix
        self._tokens = model.tokens()

    @property
    def tokens(self) -> list[str]:
        return self._tokens
