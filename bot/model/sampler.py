"""Generate titles from a CharModel with numpy, a whole batch of titles per step.

Two ways to read the context, as the model's config says (CharModel.semantics):
- "textgenrnn": textgenrnn's generate(), exactly: every character reruns the LSTMs over a window
  of the last max_length tokens pre-padded with index 0. The padding prefix is the same for every
  title, so its LSTM states are computed once and reused.
- "incremental": one LSTM step per character; attention over the last max_length positions.

What is drawn and kept at each step is a decoding policy's business (bot/model/policy.py): plain
models take every token as drawn; source-conditioned models use the corpus-tag policy of
bot/model/sources.py, which picks each word's corpus and can rewrite refused words.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .modelfile import META_TOKEN, CharModel
from .network import Network, Rows, Windows
from .policy import PolicyFactory, Reader, Step, WordCheck
from .sources import policy_for

EPSILON = 1e-7  # Keras' backend epsilon, which textgenrnn adds in attention and sampling


def _gates_ifog(matrix: np.ndarray) -> np.ndarray:
    """Reorder Keras' gate blocks (i, f, c, o) to (i, f, o, c) and halve the sigmoid gates.

    sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so with i, f, o pre-halved one tanh over all four gates
    gives every activation: fewer numpy calls per step, and no overflow.
    """
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, c], axis=-1)


def sample_indices(probs: np.ndarray, temperature, rng: np.random.Generator) -> np.ndarray:
    """One token index per row of probs (B, V), as textgenrnn draws it: weights (p + 1e-7) ** (1 / T),
    never the padding index 0 (a draw of it falls back to the likeliest other token).

    probs: probabilities, or any multiple of them per row. temperature: a number >= 0 or one per
    row (B,); 0 takes the likeliest token. float32 throughout; the inverse of the cumulative
    weights is found in blocks of _BLOCK columns, so the slow cumulative sum runs over
    B * (V / _BLOCK + _BLOCK) numbers, not B * V."""
    p = np.asarray(probs, dtype=np.float32)
    batch, classes = p.shape
    t = np.broadcast_to(np.asarray(temperature, np.float32), (batch,))
    greedy = t == 0
    blocks = -(-classes // _BLOCK)
    weights = np.zeros((batch, blocks * _BLOCK), np.float32)
    w = weights[:, :classes]
    # (p / s + eps) ** (1 / T) for a row total s, scaled by its largest value: no underflow.
    scale = 1 / p.max(axis=1)
    np.multiply(p, scale[:, None], out=w)
    w += (EPSILON * p.sum(axis=1) * scale)[:, None]
    np.log(w, out=w)
    w *= (1 / np.where(greedy, 1, t))[:, None]
    np.exp(w, out=w)
    grouped = weights.reshape(batch, blocks, _BLOCK)
    cumulative = np.cumsum(np.matmul(grouped, np.ones(_BLOCK, np.float32)), axis=1)
    target = rng.random(batch, dtype=np.float32) * cumulative[:, -1]
    block = np.minimum((cumulative < target[:, None]).sum(axis=1), blocks - 1)
    rows = np.arange(batch)
    before = np.where(block > 0, cumulative[rows, block - 1], 0)
    inside = np.cumsum(grouped[rows, block], axis=1)
    index = block * _BLOCK + np.minimum((inside < (target - before)[:, None]).sum(axis=1), _BLOCK - 1)
    index = np.minimum(index, classes - 1)
    redo = greedy | (index == 0)
    if redo.any():  # textgenrnn falls back to the next most likely token
        index[redo] = np.argmax(p[redo, 1:], axis=1) + 1
    return index


_BLOCK = 24


class _Network:
    """The model's weights, arranged for batched numpy inference."""

    def __init__(self, model: CharModel, dtype=np.float32):
        self.dtype = dtype
        first = model.lstms[0]
        self.embedding = model.embedding.astype(dtype)
        # The first layer's input projection depends only on the token: one table row per token.
        self.input_table = _gates_ifog(model.embedding @ first.kernel + first.bias).astype(dtype)
        self.kernels = [(_gates_ifog(l.kernel).astype(dtype), _gates_ifog(l.bias).astype(dtype))
                        for l in model.lstms]
        self.recurrents = [_gates_ifog(l.recurrent).astype(dtype) for l in model.lstms]
        self.units = model.lstms[0].recurrent.shape[0]
        self.attention = model.attention.astype(dtype)
        self.output_kernel = model.output_kernel.astype(dtype)
        self.output_bias = model.output_bias.astype(dtype)

    def zero_states(self, batch: int):
        zeros = np.zeros((batch, self.units), self.dtype)
        return [(zeros, zeros) for _ in self.recurrents]

    def run(self, tokens: np.ndarray, states):
        """LSTMs over tokens (B, T) from states; returns features (B, T, D) and the final states."""
        batch, steps = tokens.shape
        features = [self.embedding[tokens]]
        projected = self.input_table[tokens]
        final = []
        u = self.units
        for layer, (recurrent, (h, c)) in enumerate(zip(self.recurrents, states)):
            h = np.broadcast_to(h, (batch, u))
            c = np.broadcast_to(c, (batch, u))
            outputs = np.empty((batch, steps, u), self.dtype)
            for t in range(steps):
                z = h @ recurrent
                z += projected[:, t]
                np.tanh(z, out=z)
                sig = z[:, : 3 * u]
                sig *= 0.5
                sig += 0.5
                c = sig[:, u: 2 * u] * c + sig[:, :u] * z[:, 3 * u:]
                h = sig[:, 2 * u:] * np.tanh(c)
                outputs[:, t] = h
            features.append(outputs)
            final.append((h, c))
            if layer + 1 < len(self.kernels):
                kernel, bias = self.kernels[layer + 1]
                projected = outputs @ kernel + bias
        return np.concatenate(features, axis=2), final

    def probabilities(self, features: np.ndarray, logits: np.ndarray, mask=None) -> np.ndarray:
        """Attention-weighted average of features (B, T, D) with logits (B, T), then softmax output."""
        if mask is not None:
            logits = np.where(mask, logits, -np.inf)
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True) + EPSILON
        pooled = np.einsum("bt,btd->bd", weights, features)
        out = pooled @ self.output_kernel + self.output_bias
        out = np.exp(out - out.max(axis=1, keepdims=True))
        return out / out.sum(axis=1, keepdims=True)


class _WindowContext:
    """textgenrnn's context: the last max_length tokens, pre-padded, rerun from zero state."""

    def __init__(self, net: _Network, max_length: int):
        self.net, self.max_length = net, max_length
        # Every window shorter than max_length starts with the same padding: precompute the states
        # after k padding tokens and the padding positions' features once.
        states = net.zero_states(1)
        self.pad_states, pad_features = [states], []
        pad = np.zeros((1, 1), dtype=np.int64)
        for _ in range(max_length):
            features, states = net.run(pad, states)
            self.pad_states.append(states)
            pad_features.append(features[0, 0])
        self.pad_features = np.array(pad_features, dtype=net.dtype).reshape(max_length, -1)

    def start(self, tokens: np.ndarray):
        self.tokens = tokens  # (B, n): every row has the same length

    def advance(self, new_tokens: np.ndarray, keep: np.ndarray):
        self.tokens = np.concatenate([self.tokens[keep], new_tokens[:, None]], axis=1)

    def probabilities(self) -> np.ndarray:
        net, length = self.net, self.tokens.shape[1]
        pads = max(self.max_length - length, 0)
        window = self.tokens[:, -self.max_length:]
        features, _ = net.run(window, self.pad_states[pads])
        if pads:
            padding = np.broadcast_to(self.pad_features[:pads], (len(window),) + self.pad_features[:pads].shape)
            features = np.concatenate([padding, features], axis=1)
        return net.probabilities(features, features @ net.attention)


class _IncrementalContext:
    """One LSTM step per token; attention over a ring buffer of the last max_length positions.
    Rows can save their state and rewind to it later (to rewrite a word)."""

    def __init__(self, net: _Network, max_length: int):
        self.net, self.max_length = net, max_length
        self.saved = None

    def start(self, tokens: np.ndarray):
        batch = len(tokens)
        dim = self.net.attention.shape[0]
        self.states = self.net.zero_states(batch)
        self.features = np.zeros((batch, self.max_length, dim), self.net.dtype)
        self.logits = np.zeros((batch, self.max_length), self.net.dtype)
        self.counts = np.zeros(batch, np.int64)  # tokens read, per row
        for t in range(tokens.shape[1]):
            self._push(tokens[:, t])

    def _push(self, tokens: np.ndarray):
        features, self.states = self.net.run(tokens[:, None], self.states)
        rows = np.arange(len(tokens))
        slot = self.counts % self.max_length  # attention is order-free: any slot will do
        self.features[rows, slot] = features[:, 0]
        self.logits[rows, slot] = features[:, 0] @ self.net.attention
        self.counts += 1

    def _arrays(self) -> list[np.ndarray]:
        return [a for h, c in self.states for a in (h, c)] + [self.features, self.logits, self.counts]

    def save(self, rows: np.ndarray):
        if self.saved is None:
            self.saved = [a.copy() for a in self._arrays()]
        else:
            for kept, now in zip(self.saved, self._arrays()):
                kept[rows] = now[rows]

    def rewind(self, rows: np.ndarray):
        for kept, now in zip(self.saved, self._arrays()):
            now[rows] = kept[rows]

    def advance(self, new_tokens: np.ndarray, keep: np.ndarray):
        if len(keep) != len(self.features):
            self.states = [(h[keep], c[keep]) for h, c in self.states]
            self.features, self.logits, self.counts = self.features[keep], self.logits[keep], self.counts[keep]
            if self.saved is not None:
                self.saved = [a[keep] for a in self.saved]
        self._push(new_tokens)

    def probabilities(self) -> np.ndarray:
        filled = np.minimum(self.counts, self.max_length)
        width = int(filled.max())
        mask = None if filled.min() == width else np.arange(width)[None, :] < filled[:, None]
        return self.net.probabilities(self.features[:, :width], self.logits[:, :width], mask)


class _Reader:
    """A context as a policy drives it (policy.Reader): read, save, rewind."""

    def __init__(self, context):
        self.context = context
        self.can_rewind = isinstance(context, _IncrementalContext)
        self._started = False

    def read(self, tokens: np.ndarray) -> None:
        tokens = np.asarray(tokens, dtype=np.int64)
        if not self._started:
            self.context.start(tokens)
            self._started = True
            return
        everyone = np.arange(len(tokens))
        for t in range(tokens.shape[1]):
            self.context.advance(tokens[:, t], everyone)

    def save(self, rows: np.ndarray) -> None:
        if not self.can_rewind:
            raise ValueError("textgenrnn semantics cannot save or rewind rows")
        self.context.save(rows)

    def rewind(self, rows: np.ndarray) -> None:
        if not self.can_rewind:
            raise ValueError("textgenrnn semantics cannot save or rewind rows")
        self.context.rewind(rows)

    def advance(self, tokens: np.ndarray, keep: np.ndarray) -> None:
        self.context.advance(tokens, keep)

    def probabilities(self) -> np.ndarray:
        return self.context.probabilities()


@dataclass
class Sampler:
    """Batched generation from one model; reproducible for a given seed."""

    model: CharModel
    dtype: type = np.float32

    def __post_init__(self):
        self._legacy_net = _Network(self.model, self.dtype)
        self._meta = self.model.vocab[META_TOKEN]
        context = _WindowContext if self.model.semantics == "textgenrnn" else _IncrementalContext
        self._context = lambda: context(self._legacy_net, self.model.max_length)
        self._window = None
        self._net = Network(self.model)
        self.row_steps = 0  # network steps taken by rows being written, since this sampler was made

    def _new_context(self):
        if self.model.semantics == "textgenrnn":  # its padding cache is worth keeping
            self._window = self._window or self._context()
            return self._window
        return self._context()

    def reader(self) -> Reader:
        """A fresh reading state over this model's network, to drive a policy by hand (tests)."""
        return _Reader(self._new_context())

    def next_probabilities(self, prefix: str = "", source: str | None = None) -> np.ndarray:
        """Probabilities (V,) of the token after <s> + prefix (textgenrnn's model.predict on that
        window); with source (a corpus of the model config's sources), after <s>, the corpus'
        token and prefix with its spaces written as that token, as halves are sampled."""
        tokens = self._start_tokens(prefix, source)
        reader = self._reader(1, len(tokens))
        for token in tokens:
            reader.read(np.array([token]))
        return reader.probabilities()[0].astype(np.float64)

    def _start_tokens(self, prefix: str, source: str | None) -> list[int]:
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
            return Rows(self._net, batch, positions, rewinds)
        return Windows(self._net, batch, positions)

    def sample_halves(self, source: str, count: int, temperatures: Sequence[float], rng: np.random.Generator,
                      max_chars: int, word_check: WordCheck | None = None, prefix: str = "",
                      stop: Callable[[], bool] | None = None, width: int = 256) -> list[tuple[str, float]]:
        """count halves of one corpus (a name in the model config's sources, "song" or "arxiv"), as
        (text, temperature), split evenly across temperatures (the first ones get one more when
        count does not divide) and listed in that order; each starts with prefix.

        All rows are sampled in one batch of up to width rows, whatever their temperature: a row
        that ends makes room for the next. Every word is written under the corpus' token; with
        word_check (word, corpus name) -> bool, a word it refuses is written again from its start,
        up to the model config's word_retries times (a prefix's own words are never rewritten).
        A half that reaches max_chars + 1 characters without ending is stopped there and returned
        cut (longer than max_chars: the caller drops it). Reproducible for a given rng state.
        stop() is asked before every step; once it says yes, the halves finished so far are returned.

        Raises ValueError for an unknown source, temperatures that are missing or negative, a
        negative count, or a prefix of more than max_chars characters."""
        temperatures = _checked(temperatures)
        if count < 0 or len(prefix) > max_chars:
            raise ValueError("count must be >= 0 and the prefix at most max_chars characters")
        if self.model.semantics != "incremental":
            raise ValueError("halves are sampled with incremental semantics only")
        start = self._start_tokens(prefix, source)
        sources, marker = self.model.config.sources, start[1]
        per = [count // len(temperatures) + (i < count % len(temperatures)) for i in range(len(temperatures))]
        row_temperature = np.repeat(np.array(temperatures, np.float32), per)
        words = _Words(np.array([self.model.vocab[t] for t in sources.values()]), marker, self._meta, source, word_check,
                       self.model.config.word_retries if word_check else 0, prefix)
        written = self._decode(start, count, lambda rows, lengths: row_temperature[rows],
                               max_chars + 1 - len(prefix), width, rng, words, stop)
        row_temperatures = [t for t, n in zip(temperatures, per) for _ in range(n)]
        return [((prefix + text).rstrip(" ") if ended else prefix + text, row_temperatures[row])
                for row, (text, ended) in enumerate(written) if text is not None]

    def _decode(self, start: list[int], count: int, temperature_of, room: int, width: int,
                rng: np.random.Generator, words: "_Words | None" = None, stop=None) -> list:
        """The one decoding loop: count rows, each reading start, then drawing tokens until it draws
        the end token (ended) or has added room tokens (cut). Returns, per row, (text, ended);
        text is None for a row stop() kept from finishing. temperature_of(rows, lengths) -> (B,)
        temperatures of the live slots' rows at their current lengths."""
        if count == 0:
            return []
        rewinds = words is not None and words.retries > 0
        positions = len(start) + room

        first = self._reader(1, positions, rewinds)
        for token in start[:-1]:
            first.read(np.array([token]))
        snapshot = first.snapshot()
        slots = min(width, count)
        reader = self._reader(slots, positions, rewinds)
        render = self._render(words)
        state = _Slots(slots, room, start[-1], words)
        written: list = [(None, False)] * count
        state.begin(reader, snapshot, np.arange(slots), 0, count)
        if rewinds:
            reader.save(np.arange(slots))
        while state.live.any():
            if stop is not None and stop():
                break
            if state.queued >= count and 2 * state.live.sum() < len(state.live):
                keep = np.flatnonzero(state.live)
                reader.keep(keep)
                state.keep(keep)
            self.row_steps += int(state.live.sum())
            reader.read(state.pending)
            probs = reader.weights()
            if words is not None:
                words.adjust(probs, state.pending)
            chosen = sample_indices(probs, temperature_of(state.row, state.length), rng)
            writing = state.live.copy()
            if words is not None:
                writing = writing & ~words.review(chosen, probs, state, reader, render)
            ended = writing & (chosen == self._meta)
            state.append(chosen, writing & ~ended)
            cut = writing & ~ended & (state.length >= room)
            done = np.flatnonzero(ended | cut)
            for slot in done:
                written[state.row[slot]] = ("".join(render[t] for t in state.chars[slot, :state.length[slot]]),
                                            bool(ended[slot]))
            state.pending = chosen
            state.live[done] = False
            state.begin(reader, snapshot, done, state.queued, count)
        return written

    def _render(self, words) -> list[str]:
        table = self.model.tokens()
        if words is not None:
            for index in words.markers:
                table[index] = " "
        return table

    def generate(self, n: int, temperature: float | Sequence[float] = 0.5, prefix: str = "",
                 max_gen_length: int = 300, seed: int | None = None, batch_size: int = 500,
                 switch_probability: float | None = None, use_both: bool | None = None,
                 word_check: WordCheck | None = None, word_retries: int | None = None,
                 policy: PolicyFactory | None = None) -> list[str]:
        """n titles, each prefix + what was sampled after it, in batches of batch_size rows.

        temperature: one number >= 0 (0: always the likeliest token), or a list cycled per
        character, as textgenrnn does. max_gen_length counts tokens, <s> and the prefix included:
        a title has at most max_gen_length - 1 characters. The same seed gives the same titles.

        policy: the decoding policy (bot/model/policy.py), made afresh for each batch. Without
        one, the model's own strategy (sources.policy_for): for source-conditioned models the
        corpus-tag policy, with these options (None: the model config's) - each title starts in a
        random corpus and switches at a word boundary with switch_probability; with use_both it
        cannot end before using both corpora; with word_check (word, corpus name) -> bool a
        refused word is sampled again, up to word_retries times. Plain models ignore them.

        Raises ValueError for a negative or missing temperature, or for strategy options given
        together with a policy."""
        temperatures = list(temperature) if isinstance(temperature, (list, tuple)) else [temperature]
        if not temperatures or any(t is None or t < 0 for t in temperatures):
            raise ValueError("temperatures must be numbers >= 0")
        options = dict(switch_probability=switch_probability, use_both=use_both, word_check=word_check,
                       word_retries=word_retries)
        if policy is None:
            policy = policy_for(self.model, **options)
        elif any(v is not None for v in options.values()):
            raise ValueError("strategy options belong to the policy: pass them to its factory")
        rng = np.random.default_rng(seed)
        titles: list[str] = []
        while len(titles) < n:
            titles += self._generate_batch(min(batch_size, n - len(titles)), temperatures, prefix,
                                           max_gen_length, rng, policy)
        return titles

    def _generate_batch(self, batch, temperatures, prefix, max_gen_length, rng, factory) -> list[str]:
        policy = factory(self.model, batch, prefix, rng)
        start = policy.start()
        generated = [[] for _ in range(batch)]
        active = np.arange(batch)
        length = start.shape[1]
        if length < max_gen_length:
            reader = _Reader(self._new_context())
            policy.begin(reader, start)
        while length < max_gen_length and len(active):
            temperature = temperatures[(length - 1) % len(temperatures)]
            probs = reader.probabilities()
            policy.adjust(probs, active)
            step = Step(active, sample_indices(probs, temperature, rng), generated, reader)
            rewound = policy.review(step)
            chosen = step.chosen
            length += 1
            going = chosen != self._meta
            kept = going if rewound is None else going & ~rewound
            for row, index in zip(active[kept], chosen[kept]):
                text = policy.text(generated[row], index)
                if text:
                    generated[row].append(text)
            active, keep = active[going], np.flatnonzero(going)
            if len(active) and length < max_gen_length:
                reader.advance(chosen[keep], keep)
        return [policy.finish(prefix + "".join(chars)) for chars in generated]


def _checked(temperatures) -> list[float]:
    temperatures = list(temperatures) if isinstance(temperatures, (list, tuple, np.ndarray)) else [temperatures]
    if not temperatures or any(t is None or t < 0 for t in temperatures):
        raise ValueError("temperatures must be numbers >= 0")
    return temperatures


class _Slots:
    """The rows being written, one per slot of the batch: which row, its characters so far, the
    token it reads next. A slot whose row ended takes the next row of the queue."""

    def __init__(self, slots: int, room: int, last_start: int, words: "_Words | None"):
        self.row = np.full(slots, -1)
        self.live = np.zeros(slots, bool)
        self.chars = np.zeros((slots, room), np.int32)
        self.length = np.zeros(slots, np.int64)
        self.pending = np.full(slots, last_start, np.int64)
        self.last_start, self.words, self.queued = last_start, words, 0
        if words is not None:
            words.start(slots)

    def begin(self, reader, snapshot, slots: np.ndarray, queued: int, count: int) -> None:
        """Start the next rows of the queue in these slots (as many as are left)."""
        slots = slots[: max(0, count - queued)]
        if not len(slots):
            return
        self.row[slots] = np.arange(queued, queued + len(slots))
        self.queued = queued + len(slots)
        self.live[slots] = True
        self.length[slots] = 0
        self.pending[slots] = self.last_start
        reader.reset(slots, snapshot)
        if self.words is not None:
            self.words.begin(slots, self.last_start)

    def append(self, chosen: np.ndarray, rows: np.ndarray) -> None:
        rows = np.flatnonzero(rows)
        self.chars[rows, self.length[rows]] = chosen[rows]
        self.length[rows] += 1

    def keep(self, slots: np.ndarray) -> None:
        self.row, self.live, self.chars = self.row[slots], self.live[slots], self.chars[slots]
        self.length, self.pending = self.length[slots], self.pending[slots]
        if self.words is not None:
            self.words.keep(slots)


class _Words:
    """Halves: every word under one corpus' token, and rewriting of words the check refuses."""

    def __init__(self, markers: np.ndarray, marker: int, meta: int, corpus: str, check: WordCheck | None,
                 retries: int, prefix: str):
        self.markers, self.marker, self.meta = markers, marker, meta
        self.others = [int(m) for m in markers if m != marker]
        self.corpus, self.check, self.retries = corpus, check, retries
        self.open = bool(prefix) and not prefix.endswith(" ")  # the prefix ends inside a word
        self.head = prefix.split(" ")[-1] if self.open else ""
        self.verdicts: dict[tuple[bytes, bool], bool] = {}

    def start(self, slots: int) -> None:
        self.word_start = np.zeros(slots, np.int64)  # where each row's current word begins
        self.word_token = np.zeros(slots, np.int64)  # the token read before it (rewinds read it again)
        self.tries = np.zeros(slots, np.int64)
        self.in_head = np.zeros(slots, bool)  # still in the prefix's open word

    def begin(self, slots: np.ndarray, last_start: int) -> None:
        self.word_start[slots] = 0
        self.word_token[slots] = last_start
        self.tries[slots] = 0
        self.in_head[slots] = self.open

    def keep(self, slots: np.ndarray) -> None:
        for name in ("word_start", "word_token", "tries", "in_head"):
            setattr(self, name, getattr(self, name)[slots])

    def adjust(self, probs: np.ndarray, pending: np.ndarray) -> None:
        """The corpus tokens together are one outcome, "the word ends here"; no word is empty."""
        for other in self.others:
            probs[:, self.marker] += probs[:, other]
            probs[:, other] = 0
        probs[np.isin(pending, self.markers), self.marker] = 0

    def review(self, chosen, probs, state: _Slots, reader, render) -> np.ndarray:
        """Every word end drawn becomes this corpus' token (in chosen); a finished word the check
        refuses sends its row back to the word's start, to read the word's first token again.
        Returns the rows sent back (they write nothing this step)."""
        is_marker = np.isin(chosen, self.markers)
        empty = is_marker & np.isin(state.pending, self.markers)  # drawn on textgenrnn's epsilon weight
        if empty.any():
            chosen[empty] = np.argmax(probs[empty, 1:], axis=1) + 1
            is_marker &= ~empty
        chosen[is_marker] = self.marker
        redo = np.zeros(len(chosen), bool)
        if self.retries:
            ends = state.live & (is_marker | (chosen == self.meta)) & (self.tries < self.retries)
            for slot in np.flatnonzero(ends):
                tokens = state.chars[slot, self.word_start[slot]:state.length[slot]]
                if self.in_head[slot] and not len(tokens):
                    continue  # the prefix's own word: the caller's choice
                redo[slot] = not self._allowed(tokens, self.in_head[slot], render)
        if redo.any():
            rows = np.flatnonzero(redo)
            reader.rewind(rows)
            self.tries[rows] += 1
            state.length[rows] = self.word_start[rows]
            chosen[rows] = self.word_token[rows]
        begun = np.flatnonzero(state.live & is_marker & ~redo)
        if len(begun) and self.retries:
            reader.save(begun)  # the state before the word's token: where a rewrite starts
        self.word_start[begun] = state.length[begun] + 1  # after the space the token adds
        self.word_token[begun] = self.marker
        self.tries[begun] = 0
        self.in_head[begun] = False
        return redo

    def _allowed(self, tokens: np.ndarray, in_head: bool, render: list[str]) -> bool:
        """The check's verdict on a word written as tokens (after the prefix's open word's head
        when in_head), asked once per word."""
        key = (tokens.tobytes(), bool(in_head))
        verdict = self.verdicts.get(key)
        if verdict is None:
            word = (self.head if in_head else "") + "".join(render[t] for t in tokens)
            verdict = self.verdicts[key] = bool(self.check(word, self.corpus))
        return verdict
