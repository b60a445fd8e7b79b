"""Source-conditioned models: every word is introduced by a token naming its corpus.

In training, the space before each word (and the start of the title) becomes `<song>` or
`<arxiv>`, the title's source. When sampling, the model says where a word ends; the sampler picks
which source the next word comes from, so a title can start as a song and go on as a paper.
The tokens are vocabulary entries like textgenrnn's `<s>`; the files keep textgenrnn's format.

Sampling is the corpus-tag decoding policy (CorpusTags, CorpusTagPolicy): which corpus each
word comes from, and, given a word check, the rewriting of words their corpus never used.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .modelfile import META_TOKEN, CharModel
from .policy import ContentWordCheck, DecodingPolicy, PlainPolicy, PolicyFactory, Reader, Step, WordCheck

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
    """<s>, the source token, then the title with each space replaced by the source token, <s>."""
    return encode_words([(word, source) for word in title.split(" ")], vocab)


def encode_words(words: list[tuple[str, str]], vocab: dict[str, int]) -> list[int]:
    """<s>, then each word preceded by its own source's token, then <s>."""
    tokens = [vocab[META_TOKEN]]
    for word, source in words:
        tokens.append(vocab[TOKENS[source]])
        tokens += [vocab[ch] for ch in word]
    return tokens + [vocab[META_TOKEN]]


def add_source_tokens_to_vocab(vocab: dict[str, int]) -> dict[str, int]:
    """For a model trained from scratch: the tokens appended to its new vocabulary."""
    vocab = dict(vocab)
    for token in TOKENS.values():
        vocab.setdefault(token, len(vocab) + 1)
    return vocab


# --- sampling: the corpus-tag policy ----------------------------------------------------------

def policy_for(model: CharModel, switch_probability: float | None = None, use_both: bool | None = None,
               word_check: WordCheck | None = None, word_retries: int | None = None) -> PolicyFactory:
    """The model's own decoding strategy: the corpus-tag policy with these options for a
    source-conditioned model, PlainPolicy (options ignored) for any other."""
    if not is_source_model(model):
        return PlainPolicy
    return CorpusTags(switch_probability, use_both, word_check, word_retries)


@dataclass(frozen=True)
class CorpusTags:
    """PolicyFactory for source-conditioned models; None takes the model config's value
    (ModelConfig: switch_probability, use_both_sources, word_retries). word_check: (word, corpus
    name) -> bool, None for no rewriting. start_corpus: the corpus every title starts in (a name in
    the config's "sources"); None for a random one per title."""

    switch_probability: float | None = None
    use_both: bool | None = None
    word_check: WordCheck | None = None
    word_retries: int | None = None
    start_corpus: str | None = None

    def __call__(self, model: CharModel, batch: int, prefix: str, rng: np.random.Generator) -> "CorpusTagPolicy":
        config = model.config
        switch = config.switch_probability if self.switch_probability is None else self.switch_probability
        use_both = config.use_both_sources if self.use_both is None else self.use_both
        retries = config.word_retries if self.word_retries is None else self.word_retries
        return CorpusTagPolicy(model, batch, prefix, rng, switch, use_both, self.word_check, retries,
                               self.start_corpus)


class CorpusTagPolicy(DecodingPolicy):
    """Which corpus each word of each title comes from: a random start corpus, a switch at a word
    boundary with switch_probability, with use_both no ending before both corpora are used. With a
    word check (incremental semantics), a word it refuses is rewritten: the row rewinds
    to where the word began and samples it again, at most word_retries times per word.

    Per-row state, indexed by batch row: source (current corpus), used (corpora drawn from).
    Corpus tokens are rendered as spaces: one between words, none first or last."""

    def __init__(self, model: CharModel, batch: int, prefix: str, rng: np.random.Generator,
                 switch_probability: float, use_both: bool, word_check: WordCheck | None, word_retries: int,
                 start_corpus: str | None = None):
        self.model, self.batch, self.prefix, self.rng = model, batch, prefix, rng
        self.switch_probability, self.use_both = switch_probability, use_both
        self.check, self.retries = word_check, word_retries
        vocab = model.vocab
        self.names = list(model.config.sources)
        self.markers = np.array([vocab[t] for t in model.config.sources.values()], dtype=np.int64)
        self.meta = vocab[META_TOKEN]
        self._tokens = model.tokens()
        for index in self.markers:
            self._tokens[index] = " "
        if start_corpus is None:
            self.source = rng.integers(0, len(self.markers), size=batch)  # current corpus, per title
        else:
            self.source = np.full(batch, self.names.index(start_corpus), np.int64)
        self._start = self._start_tokens(prefix, vocab)
        self.used = np.zeros((batch, len(self.markers)), bool)  # corpora each title has drawn words from
        self.used[np.arange(batch), self.source] = True
        self.rewrites = False  # decided in begin(): rewinding needs incremental semantics
        self.content_marks = False
        self.word_start = np.zeros(batch, np.int64)  # where the current word begins in its row's characters
        self.word_marker = np.zeros(batch, np.int64)  # the corpus token that began it
        self.tries = np.zeros(batch, np.int64)
        # A prefix that ends inside a word ("Deep") leaves that word open: the first word boundary
        # drawn is a space after it, and the word (its head in the prefix, the rest sampled) is
        # checked as one. A word wholly in the prefix is the caller's and never rewritten.
        self.open = bool(prefix) and not prefix.endswith(" ")
        self.head = prefix.split(" ")[-1] if self.open else ""
        self.in_head = np.full(batch, self.open)
        prefix_words = [w for w in prefix.split(" ") if w]
        if prefix_words and word_check is not None and start_corpus is None:
            # Steering by corpus tags: the prefix's words go under the one corpus that knows them all.
            knows = [i for i, name in enumerate(self.names) if all(word_check(w, name) for w in prefix_words)]
            if len(knows) == 1:
                self.source[:] = knows[0]
                self._start = self._start_tokens(prefix, vocab)
                self.used[:] = False
                self.used[:, knows[0]] = True
        self.prefix_content = bool(prefix_words) and isinstance(word_check, ContentWordCheck) and any(
            word_check.content(w) for w in prefix_words)

    @property
    def tokens(self) -> list[str]:
        return self._tokens

    def _start_tokens(self, prefix: str, vocab: dict[str, int]) -> np.ndarray:
        return np.array([[self.meta, self.markers[s]] + [self.markers[s] if ch == " " else vocab.get(ch, 0)
                                                         for ch in prefix] for s in self.source], np.int64)

    def start(self) -> np.ndarray:
        """<s>, the start corpus' token, then the prefix with its spaces as that token."""
        return self._start

    def begin(self, reader: Reader, tokens: np.ndarray) -> None:
        """With rewriting: read <s>, remember that state, then the first word's corpus token."""
        self.rewrites = bool(self.check and self.retries and reader.can_rewind)
        # With a check that knows content words, a corpus counts as used once one of its content
        # words is in the title (not when its token is merely chosen); the prefix's count.
        self.content_marks = self.rewrites and isinstance(self.check, ContentWordCheck)
        if self.content_marks:
            self.used[:] = False
            if self.prefix_content:
                self.used[np.arange(len(tokens)), self.source] = True
        if not self.rewrites:
            reader.read(tokens)
            return
        # Rewinding returns a row to the state before its current word's last read token: the
        # corpus token of a word begun after the prefix, or the prefix's last token.
        reader.read(tokens[:, :-1])
        reader.save(np.arange(len(tokens)))
        self.word_marker[:] = tokens[:, -1]
        reader.read(tokens[:, -1:])

    def adjust(self, probs: np.ndarray, rows: np.ndarray) -> None:
        """The corpus tokens together are one outcome: "a word ends here"."""
        probs[:, self.markers[0]] = probs[:, self.markers].sum(axis=1)
        probs[:, self.markers[1:]] = 0.0

    def review(self, step: Step) -> np.ndarray:
        """Rewrite refused words, then give each word boundary its corpus (in step.chosen).
        Returns the rows that went back to a word's start (they add no character this step)."""
        redo = self._review_words(step) if self.rewrites else np.zeros(len(step.chosen), bool)
        self._choose(step.chosen, step.rows, skip=redo)
        if self.rewrites:
            self._accept(step, redo)
        return redo

    def text(self, chars: list[str], token: int) -> str:
        """Corpus tokens are word separators: one space between words, none first (but one after a
        prefix that ends inside a word)."""
        text = self._tokens[token]
        return "" if text == " " and ((not chars and not self.open) or (chars and chars[-1] == " ")) else text

    def finish(self, title: str) -> str:
        return title.rstrip(" ")

    def _review_words(self, step: Step) -> np.ndarray:
        """Rows whose just-finished word fails the check go back to its start; returns them.
        With content marks, a kept content word marks its corpus as used."""
        chosen, active, generated = step.chosen, step.rows, step.texts
        ends = np.isin(chosen, self.markers) | (chosen == self.meta)
        redo = np.zeros(len(chosen), bool)
        for i in np.flatnonzero(ends):
            row = active[i]
            sampled = "".join(generated[row][self.word_start[row]:])
            word = self.head + sampled if self.in_head[row] else sampled
            given = self.in_head[row] and not sampled  # the prefix's own word: the caller's choice
            if not given and self.tries[row] < self.retries and not self.check(word, self.names[self.source[row]]):
                redo[i] = True
                self.tries[row] += 1
                del generated[row][self.word_start[row]:]
                chosen[i] = self.word_marker[row]  # read the word's corpus token again
            elif self.content_marks and self.check.content(word):
                self.used[row, self.source[row]] = True
        if redo.any():
            step.reader.rewind(np.flatnonzero(redo))
        return redo

    def _choose(self, chosen: np.ndarray, active: np.ndarray, skip: np.ndarray) -> None:
        """At a word boundary pick the next word's corpus: switch or stay. With use_both, a title
        that would end before using both corpora switches instead. Rows in skip are left alone."""
        forced = np.zeros(len(chosen), bool)
        if self.use_both:
            forced = (chosen == self.meta) & ~self.used[active].all(axis=1) & ~skip
            chosen[forced] = self.markers[0]
        boundary = np.isin(chosen, self.markers) & ~skip
        switch = boundary & ((self.rng.random(len(chosen)) < self.switch_probability) | forced)
        rows = active[switch]
        self.source[rows] = (self.source[rows] + 1) % len(self.markers)
        chosen[boundary] = self.markers[self.source[active[boundary]]]
        if not self.content_marks:
            self.used[active[boundary], self.source[active[boundary]]] = True

    def _accept(self, step: Step, redo: np.ndarray) -> None:
        """Remember where each newly begun word starts, and the state before its corpus token."""
        chosen, active = step.chosen, step.rows
        begun = np.flatnonzero(np.isin(chosen, self.markers) & ~redo)
        for i in begun:
            chars = step.texts[active[i]]
            # a space is about to be added after them (or after a prefix that ends inside a word)
            spaced = (bool(chars) and chars[-1] != " ") or (not chars and self.open)
            self.word_start[active[i]] = len(chars) + spaced
        self.word_marker[active[begun]] = chosen[begun]
        self.tries[active[begun]] = 0
        self.in_head[active[begun]] = False
        if len(begun):
            step.reader.save(begun)
