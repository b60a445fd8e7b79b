"""Write text with a CharModel in numpy: halves for the pool (Sampler.sample_halves),
textgenrnn's generate() for models without corpus tokens (Sampler.generate), and the next
token's probabilities (Sampler.next_probabilities).

One decoding loop serves both writers. Every row of a call, whatever its temperature or corpus,
is written in one batch of up to `width` rows: a row that ends hands its slot to the next row
waiting, so the network's products stay wide, and the batch is compacted only once the queue
is empty and fewer than half its rows are live. The network reads rows as the model's
semantics say (bot/model/network.py); tokens are drawn by textgenrnn's rule (sample_indices).

Halves (models with corpus tokens): every word is written under its corpus' token, so the
network writes one corpus' half at a time; a word the caller's check refuses is written again
from its start (the row rewinds to the state before the word's token).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from .modelfile import META_TOKEN, CharModel
from .network import COLUMNS, EPSILON, Network, Rows, Windows

_COMPACT_BELOW = 0.5  # once the queue is empty, the batch is compacted when fewer rows than this share are live


@runtime_checkable
class WordCheck(Protocol):
    """Whether a word written under a corpus' token belongs to that corpus: (word, corpus name)
    -> bool. A plain function of two arguments is one."""

    def __call__(self, word: str, corpus: str) -> bool: ...


@dataclass(frozen=True)
class Halves:
    """What to write of one corpus: count halves, each starting with prefix; a half that has not
    ended within max_chars characters (prefix included) is stopped at max_chars + 1."""

    source: str  # a corpus of the model config's sources: "song" or "arxiv"
    count: int
    max_chars: int
    prefix: str = ""


def sample_indices(probs: np.ndarray, temperature, rng: np.random.Generator) -> np.ndarray:
    """One token index per row of probs (B, V), as textgenrnn draws it: weights (p + 1e-7) ** (1 / T),
    never the padding index 0 (a draw of it falls back to the likeliest other token).

    probs: probabilities, or any multiple of them per row. temperature: a number >= 0 or one per
    row (B,); 0 takes the likeliest token. Raises ValueError for a negative temperature."""
    p = np.asarray(probs, dtype=np.float32)
    batch, classes = p.shape
    if np.any(np.asarray(temperature) < 0):
        raise ValueError("temperatures must be numbers >= 0")
    weights = np.zeros((batch, -(-classes // COLUMNS) * COLUMNS), np.float32)
    np.multiply(p, (1 / p.max(axis=1))[:, None], out=weights[:, :classes])
    return _draw(weights, classes, temperature, rng)


def _draw(weights: np.ndarray, classes: int, temperature, rng: np.random.Generator) -> np.ndarray:
    """sample_indices on weights (B, W), W a multiple of COLUMNS, the first `classes` columns the
    probabilities times a number per row that makes the largest about 1 (the rest 0), changed in
    place. float32 throughout. The inverse of the cumulative weights is found by blocks of COLUMNS
    columns: numpy's cumulative sum runs one number at a time, so over B * (W / COLUMNS + COLUMNS)
    numbers, not B * W."""
    batch, width = weights.shape
    blocks = width // COLUMNS
    t = np.broadcast_to(np.asarray(temperature, np.float32), (batch,))
    greedy = t == 0
    likeliest = np.argmax(weights[:, 1:classes], axis=1) + 1 if greedy.any() else None
    # log(p + eps) / T, less a constant per row: log(w + eps * sum(w)) / T.
    weights += (EPSILON * weights.sum(axis=1))[:, None]
    np.log(weights, out=weights)
    weights *= (1 / np.where(greedy, 1, t))[:, None]
    np.exp(weights, out=weights)
    weights[:, classes:] = 0
    grouped = weights.reshape(batch, blocks, COLUMNS)
    cumulative = np.cumsum(np.matmul(grouped, np.ones(COLUMNS, np.float32)), axis=1)
    target = rng.random(batch, dtype=np.float32) * cumulative[:, -1]
    block = np.minimum((cumulative < target[:, None]).sum(axis=1), blocks - 1)
    rows = np.arange(batch)
    before = np.where(block > 0, cumulative[rows, block - 1], 0)
    inside = np.cumsum(grouped[rows, block], axis=1)
    index = block * COLUMNS + np.minimum((inside < (target - before)[:, None]).sum(axis=1), COLUMNS - 1)
    # Padding drawn (or nothing to draw: every weight underflowed): the likeliest other token.
    fallback = (index == 0) | (index >= classes) | ~(cumulative[:, -1] > 0)
    if fallback.any():
        index[fallback] = np.argmax(weights[fallback, 1:classes], axis=1) + 1
    if likeliest is not None:
        index[greedy] = likeliest[greedy]
    return index


@dataclass
class Sampler:
    """Batched writing from one model; reproducible for a given seed."""

    model: CharModel

    def __post_init__(self):
        self.network = Network(self.model)
        self._meta = self.model.vocab[META_TOKEN]
        self.row_steps = 0  # network steps taken by rows being written, since the sampler was made

    def next_probabilities(self, prefix: str = "", source: str | None = None) -> np.ndarray:
        """Probabilities (V,) of the token after <s> + prefix (textgenrnn's model.predict on that
        window); with source (a corpus of the model config's sources), after <s>, the corpus'
        token and prefix with its spaces written as that token, as halves are sampled.
        Raises ValueError for an unknown source."""
        tokens = self._start_tokens(prefix, source)
        reader = self._reader(1, len(tokens))
        for token in tokens:
            reader.read(np.array([token]))
        return reader.probabilities()[0].astype(np.float64)

    def generate(self, n: int, temperature: float | Sequence[float] = 0.5, prefix: str = "",
                 max_gen_length: int = 300, seed: int | np.random.Generator | None = None,
                 batch_size: int = 500) -> list[str]:
        """n titles as textgenrnn's generate() writes them, each prefix + what was sampled after it,
        in a batch of up to batch_size rows; for models without corpus tokens (textgenrnn's own).

        temperature: one number >= 0 (0: always the likeliest token), or a list cycled per
        character, as textgenrnn does. max_gen_length counts tokens, <s> and the prefix included:
        a title has at most max_gen_length - 1 characters. The same seed gives the same titles.
        Raises ValueError for a negative or missing temperature, or for a model with corpus
        tokens (sample its halves: sample_halves)."""
        if self.model.config.sources:
            raise ValueError("this model writes halves under corpus tokens: sample it with sample_halves")
        cycle = np.array(_checked(temperature), np.float32)
        start = self._start_tokens(prefix, None)
        room = max_gen_length - len(start)
        if n <= 0 or room <= 0:
            return [prefix] * max(n, 0)
        offset = len(start) - 1
        kind = _Kind(start, room)
        written = self._decode([kind], np.zeros(n, np.int64),
                               lambda rows, lengths: cycle[(offset + lengths) % len(cycle)],
                               batch_size, np.random.default_rng(seed))
        return [prefix + text for text, _ in written]

    def sample_halves(self, wanted: Sequence[Halves], temperatures: Sequence[float], rng: np.random.Generator,
                      word_check: WordCheck | None = None, stop: Callable[[], bool] | None = None,
                      width: int = 256) -> list[list[tuple[str, float]]]:
        """The halves each Halves asks for, as (text, temperature): one list per Halves, its
        count split evenly across temperatures (the first ones get one more when it does not
        divide) and listed in that order. Every row of every corpus and temperature is written in
        one batch of up to width rows (fewer for a network whose kept attention features would
        pass network.KEPT_BYTES). Reproducible for a given rng state.

        With word_check (word, corpus name) -> bool, a word it refuses is written again from its
        start, up to the model config's word_retries times (a prefix's own words are kept). A half
        that has not ended within its max_chars is returned cut, with max_chars + 1 characters,
        for the caller to drop. stop() is asked before every step; once it says yes, the halves
        finished so far are returned.

        Raises ValueError for a source the model has no corpus token for, temperatures that are
        missing or negative, a negative count or max_chars below 1, or a prefix longer than
        max_chars."""
        temperatures = _checked(temperatures)
        sources = self.model.config.sources or {}
        kinds, row_kind, row_temperature = [], [], []
        for k, half in enumerate(wanted):
            if half.count < 0 or half.max_chars < 1 or len(half.prefix) > half.max_chars:
                raise ValueError(f"{half}: count must be >= 0, max_chars >= 1 and the prefix at most max_chars long")
            start = self._start_tokens(half.prefix, half.source)
            kinds.append(_Kind(start, half.max_chars + 1 - len(half.prefix), start[1], half.source, half.prefix))
            per = [half.count // len(temperatures) + (i < half.count % len(temperatures))
                   for i in range(len(temperatures))]
            row_temperature += [t for t, m in zip(temperatures, per) for _ in range(m)]
            row_kind += [k] * half.count
        if self.model.semantics != "incremental":
            raise ValueError("halves are written with incremental semantics only")
        markers = np.array([self.model.vocab[t] for t in sources.values()], np.int64)
        words = _Words(kinds, markers, self._meta, self.network.classes, word_check,
                       self.model.config.word_retries if word_check else 0)
        draw_temperature = np.array(row_temperature, np.float32)
        written = self._decode(kinds, np.array(row_kind, np.int64), lambda rows, lengths: draw_temperature[rows],
                               width, rng, words, stop)
        out: list[list[tuple[str, float]]] = [[] for _ in kinds]
        for row, (text, ended) in enumerate(written):
            if text is not None:
                text = kinds[row_kind[row]].prefix + text
                out[row_kind[row]].append((text.rstrip(" ") if ended else text, row_temperature[row]))
        return out

    def _start_tokens(self, prefix: str, source: str | None) -> list[int]:
        """<s> and the prefix's tokens; with a source, <s>, its corpus token, and the prefix with
        every space written as that token."""
        vocab = self.model.vocab
        if source is None:
            return [self._meta] + self.model.encode(prefix)
        sources = self.model.config.sources or {}
        if source not in sources:
            raise ValueError(f"the model has no corpus {source!r} (it has: {', '.join(sources) or 'none'})")
        marker = vocab[sources[source]]
        return [self._meta, marker] + [marker if ch == " " else vocab.get(ch, 0) for ch in prefix]

    def _reader(self, batch: int, positions: int, rewinds: bool = False):
        if self.model.semantics == "incremental":
            return Rows(self.network, batch, positions, rewinds)
        return Windows(self.network, batch, positions)

    def _decode(self, kinds: list["_Kind"], row_kind: np.ndarray, temperature_of, width: int,
                rng: np.random.Generator, words: "_Words | None" = None, stop=None) -> list:
        """The one decoding loop. Row r reads its kind's start tokens, then draws tokens until it
        draws the end token (ended) or has added its kind's room of tokens (cut). Returns, per
        row, (text, ended), text None for a row stop() kept from finishing.
        temperature_of(rows, lengths) -> (B,) the temperatures of the slots' rows (-1: none)."""
        count = len(row_kind)
        if count == 0:
            return []
        rewinds = words is not None and words.retries > 0
        positions = max(len(k.start) + k.room for k in kinds)
        for kind in kinds:  # its state after every start token but the last: where its rows begin
            first = self._reader(1, positions, rewinds)
            for token in kind.start[:-1]:
                first.read(np.array([token]))
            kind.snapshot = first.snapshot()
        if self.model.semantics == "incremental":
            width = min(width, Rows.fitting(self.network, positions, rewinds))
        reader = self._reader(min(width, count), positions, rewinds)
        render = self.model.tokens()
        if words is not None:
            for index in words.markers:
                render[index] = " "
        rows = _Slots(len(reader), kinds, row_kind, words)
        rows.begin(reader, np.arange(len(reader)))
        if rewinds:
            reader.save(np.arange(len(reader)))
        written: list = [(None, False)] * count
        while rows.live.any():
            if stop is not None and stop():
                break
            if rows.queued >= count and rows.live.sum() < _COMPACT_BELOW * len(rows.live):
                keep = np.flatnonzero(rows.live)
                reader.keep(keep)
                rows.keep(keep)
            self.row_steps += int(rows.live.sum())
            reader.read(rows.pending)
            weights = reader.weights()
            if words is not None:
                words.adjust(weights, rows.pending)
            chosen = _draw(weights, self.network.classes, temperature_of(rows.row, rows.length), rng)
            writing = rows.live.copy()
            if words is not None:
                writing &= ~words.review(chosen, weights, rows, reader, render)
            ended = writing & (chosen == self._meta)
            rows.append(chosen, writing & ~ended)
            done = np.flatnonzero(ended | (writing & (rows.length >= rows.room)))
            for slot in done:
                text = "".join(render[t] for t in rows.chars[slot, :rows.length[slot]])
                written[rows.row[slot]] = (text, bool(ended[slot]))
            rows.pending = chosen
            rows.live[done] = False
            rows.row[done] = -1
            rows.begin(reader, done)
        return written


def _checked(temperatures) -> list[float]:
    temperatures = list(temperatures) if isinstance(temperatures, (list, tuple, np.ndarray)) else [temperatures]
    if not temperatures or any(t is None or t < 0 for t in temperatures):
        raise ValueError("temperatures must be numbers >= 0")
    return temperatures


@dataclass
class _Kind:
    """Rows that begin alike: their start tokens, the tokens they may add (room) and, for
    halves, their corpus' token, name and prefix."""

    start: list[int]
    room: int
    marker: int = 0
    corpus: str = ""
    prefix: str = ""
    snapshot: tuple = ()


class _Slots:
    """The rows being written, one per slot of the batch: which row, its tokens so far, the
    token it reads next. A slot whose row ended takes the next row of the queue."""

    def __init__(self, slots: int, kinds: list[_Kind], row_kind: np.ndarray, words: "_Words | None"):
        self.kinds, self.row_kind, self.words = kinds, row_kind, words
        self.row = np.full(slots, -1)
        self.kind = np.zeros(slots, np.int64)
        self.live = np.zeros(slots, bool)
        self.chars = np.zeros((slots, max(k.room for k in kinds)), np.int32)
        self.length = np.zeros(slots, np.int64)
        self.room = np.zeros(slots, np.int64)
        self.pending = np.zeros(slots, np.int64)
        self.queued = 0
        if words is not None:
            words.start(slots)

    def begin(self, reader, slots: np.ndarray) -> None:
        """Start the next rows of the queue in these slots (as many as are left)."""
        slots = slots[: max(0, len(self.row_kind) - self.queued)]
        if not len(slots):
            return
        self.row[slots] = np.arange(self.queued, self.queued + len(slots))
        self.queued += len(slots)
        self.kind[slots] = self.row_kind[self.row[slots]]
        self.live[slots] = True
        self.length[slots] = 0
        for k in np.unique(self.kind[slots]):
            these = slots[self.kind[slots] == k]
            kind = self.kinds[k]
            reader.reset(these, kind.snapshot)
            self.room[these] = kind.room
            self.pending[these] = kind.start[-1]
        if self.words is not None:
            self.words.begin(slots, self.kind[slots], self.pending[slots])

    def append(self, chosen: np.ndarray, rows: np.ndarray) -> None:
        rows = np.flatnonzero(rows)
        self.chars[rows, self.length[rows]] = chosen[rows]
        self.length[rows] += 1

    def keep(self, slots: np.ndarray) -> None:
        for name in ("row", "kind", "live", "chars", "length", "room", "pending"):
            setattr(self, name, getattr(self, name)[slots])
        if self.words is not None:
            self.words.keep(slots)


class _Words:
    """Halves: every word under its row's corpus token, words the check refuses written again.
    The corpus tokens together are one outcome, "the word ends here", and a word is never
    empty (a corpus token is not drawn right after one)."""

    def __init__(self, kinds: list[_Kind], markers: np.ndarray, meta: int, classes: int, check: WordCheck | None,
                 retries: int):
        self.kinds, self.markers, self.meta, self.check, self.retries = kinds, markers, meta, check, retries
        self.marker_of = np.array([k.marker for k in kinds], np.int64)
        self.is_marker = np.zeros(classes, bool)  # by token index
        self.is_marker[markers] = True
        # A prefix that ends inside a word ("Deep") leaves it open: its head and what the network
        # adds are checked as one word.
        self.head_of = [k.prefix.split(" ")[-1] if k.prefix and not k.prefix.endswith(" ") else "" for k in kinds]
        self.verdicts: dict[tuple[int, bool, bytes], bool] = {}

    def start(self, slots: int) -> None:
        self.word_start = np.zeros(slots, np.int64)  # where each row's current word begins
        self.word_token = np.zeros(slots, np.int64)  # the token read before it (a rewrite reads it again)
        self.tries = np.zeros(slots, np.int64)
        self.in_head = np.zeros(slots, bool)  # still in the prefix's open word

    def begin(self, slots: np.ndarray, kinds: np.ndarray, first: np.ndarray) -> None:
        self.word_start[slots] = 0
        self.word_token[slots] = first
        self.tries[slots] = 0
        self.in_head[slots] = [bool(self.head_of[k]) for k in kinds]

    def keep(self, slots: np.ndarray) -> None:
        for name in ("word_start", "word_token", "tries", "in_head"):
            setattr(self, name, getattr(self, name)[slots])

    def adjust(self, weights: np.ndarray, pending: np.ndarray) -> None:
        """All corpus tokens' weight on the first one's column; none after a corpus token."""
        first = self.markers[0]
        for other in self.markers[1:]:
            weights[:, first] += weights[:, other]
            weights[:, other] = 0
        weights[self.is_marker[pending], first] = 0

    def review(self, chosen, weights, rows: _Slots, reader, render) -> np.ndarray:
        """Every word end drawn becomes the row's corpus token (in chosen); a finished word the
        check refuses sends its row back to the state before the word's token, which it reads
        again. Returns the rows sent back (they write nothing this step)."""
        is_marker = self.is_marker[chosen]
        empty = is_marker & self.is_marker[rows.pending]  # drawn on textgenrnn's epsilon alone
        if empty.any():
            chosen[empty] = np.argmax(weights[empty, 1:], axis=1) + 1  # never a corpus token now
            is_marker &= ~empty
        chosen[is_marker] = self.marker_of[rows.kind[is_marker]]
        redo = np.zeros(len(chosen), bool)
        if self.retries:
            ends = rows.live & (is_marker | (chosen == self.meta)) & (self.tries < self.retries)
            for slot in np.flatnonzero(ends):
                tokens = rows.chars[slot, self.word_start[slot]:rows.length[slot]]
                if self.in_head[slot] and not len(tokens):
                    continue  # the prefix's own word: the caller's choice
                redo[slot] = not self._allowed(rows.kind[slot], self.in_head[slot], tokens, render)
        if redo.any():
            back = np.flatnonzero(redo)
            reader.rewind(back)
            self.tries[back] += 1
            rows.length[back] = self.word_start[back]
            chosen[back] = self.word_token[back]
        begun = np.flatnonzero(rows.live & is_marker & ~redo)
        if len(begun) and self.retries:
            reader.save(begun)  # the state before the word's token: where a rewrite starts
        self.word_start[begun] = rows.length[begun] + 1  # after the space the token writes
        self.word_token[begun] = chosen[begun]
        self.tries[begun] = 0
        self.in_head[begun] = False
        return redo

    def _allowed(self, kind: int, in_head: bool, tokens: np.ndarray, render: list[str]) -> bool:
        """The check's verdict on a word written as tokens, asked once per word and corpus."""
        key = (int(kind), bool(in_head), tokens.tobytes())
        verdict = self.verdicts.get(key)
        if verdict is None:
            word = (self.head_of[kind] if in_head else "") + "".join(render[t] for t in tokens)
            verdict = self.verdicts[key] = bool(self.check(word, self.kinds[kind].corpus))
        return verdict
