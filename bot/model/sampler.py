"""Generate titles from a CharModel with numpy, a whole batch of titles per step.

Two ways to read the context, as the model's config says (CharModel.semantics):
- "textgenrnn": textgenrnn's generate(), exactly: every character reruns the LSTMs over a window
  of the last max_length tokens pre-padded with index 0. The padding prefix is the same for every
  title, so its LSTM states are computed once and reused.
- "incremental": one LSTM step per character; attention over the last max_length positions.

Source-conditioned models (bot/sources.py) also get a policy for which corpus each word comes
from (_SourcePolicy) and, given a word check, rewrite refused words (_WordReviser).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from .modelfile import META_TOKEN, CharModel

EPSILON = 1e-7  # Keras' backend epsilon, which textgenrnn adds in attention and sampling


def _gates_ifog(matrix: np.ndarray) -> np.ndarray:
    """Reorder Keras' gate blocks (i, f, c, o) to (i, f, o, c) and halve the sigmoid gates.

    sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so with i, f, o pre-halved one tanh over all four gates
    gives every activation: fewer numpy calls per step, and no overflow.
    """
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, c], axis=-1)


def sample_indices(probs: np.ndarray, temperature: float, rng: np.random.Generator) -> np.ndarray:
    """One token index per row, as textgenrnn samples: log(p + eps) / T, never the padding index 0."""
    p = np.asarray(probs, dtype=np.float64)
    if not temperature:
        return np.argmax(p[:, 1:], axis=1) + 1
    logits = np.log(p + EPSILON) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    weights = np.exp(logits)
    cdf = np.cumsum(weights, axis=1)
    draws = rng.random(len(p)) * cdf[:, -1]
    index = np.minimum((cdf < draws[:, None]).sum(axis=1), p.shape[1] - 1)
    padding = index == 0
    if padding.any():  # textgenrnn falls back to the next most likely token
        index[padding] = np.argmax(weights[padding, 1:], axis=1) + 1
    return index


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


class _WordReviser:
    """Rewrites words a check refuses: the row rewinds to where the word began and samples it
    again, at most `retries` times per word (source models, incremental semantics)."""

    def __init__(self, check, names, meta, markers, retries, batch):
        self.check, self.names, self.meta, self.markers, self.retries = check, names, meta, markers, retries
        self.start = np.zeros(batch, np.int64)  # where the current word begins in its row's characters
        self.marker = np.zeros(batch, np.int64)  # the source token that began it
        self.tries = np.zeros(batch, np.int64)

    def begin(self, context, start: np.ndarray):
        """Read <s>, remember that state, then read the first word's source token."""
        everyone = np.arange(len(start))
        context.start(start[:, :1])
        context.save(everyone)
        self.marker[:] = start[:, 1]
        context.advance(start[:, 1], everyone)

    def review(self, chosen, active, generated, source, used, context) -> np.ndarray:
        """Rows whose just-finished word fails the check go back to its start; returns them.
        A kept content word marks its corpus as used."""
        ends = np.isin(chosen, self.markers) | (chosen == self.meta)
        redo = np.zeros(len(chosen), bool)
        for i in np.flatnonzero(ends):
            row = active[i]
            word = "".join(generated[row][self.start[row]:])
            if self.tries[row] < self.retries and not self.check(word, self.names[source[row]]):
                redo[i] = True
                self.tries[row] += 1
                del generated[row][self.start[row]:]
                chosen[i] = self.marker[row]  # read the word's source token again
            elif getattr(self.check, "content", None) and self.check.content(word):
                used[row, source[row]] = True
        if redo.any():
            context.rewind(np.flatnonzero(redo))
        return redo

    def accept(self, chosen, active, generated, context, redo):
        """Remember where each newly begun word starts, and the state before its source token."""
        begun = np.flatnonzero(np.isin(chosen, self.markers) & ~redo)
        for i in begun:
            chars = generated[active[i]]
            spaced = bool(chars) and chars[-1] != " "  # a space is about to be added after them
            self.start[active[i]] = len(chars) + spaced
        self.marker[active[begun]] = chosen[begun]
        self.tries[active[begun]] = 0
        if len(begun):
            context.save(begun)


@dataclass
class Sampler:
    """Batched generation from one model; reproducible for a given seed."""

    model: CharModel
    dtype: type = np.float32

    def __post_init__(self):
        self._net = _Network(self.model, self.dtype)
        self._tokens = self.model.tokens()
        self._meta = self.model.vocab[META_TOKEN]
        # Source-conditioned models (bot/sources.py): word-start tokens, one per corpus, shown as spaces.
        markers = self.model.config.get("sources") or {}
        self._markers = np.array([self.model.vocab[t] for t in markers.values()], dtype=np.int64) if markers else None
        for index in self._markers if self._markers is not None else ():
            self._tokens[index] = " "
        context = _WindowContext if self.model.semantics == "textgenrnn" else _IncrementalContext
        self._context = lambda: context(self._net, self.model.max_length)
        self._window = None

    def _new_context(self):
        if self.model.semantics == "textgenrnn":  # its padding cache is worth keeping
            self._window = self._window or self._context()
            return self._window
        return self._context()

    def next_probabilities(self, prefix: str = "") -> np.ndarray:
        """Probabilities of the token after <s> + prefix (textgenrnn's model.predict on that window)."""
        context = self._new_context()
        context.start(np.array([[self._meta] + self.model.encode(prefix)], dtype=np.int64))
        return context.probabilities()[0].astype(np.float64)

    def generate(self, n: int, temperature: float | Sequence[float] = 0.5, prefix: str = "",
                 max_gen_length: int = 300, seed: int | None = None, batch_size: int = 500,
                 switch_probability: float | None = None, use_both: bool | None = None,
                 word_check: Callable[[str, str], bool] | None = None, word_retries: int | None = None) -> list[str]:
        """n titles. A temperature list is cycled per character, as textgenrnn does.

        For source-conditioned models each title starts in a random corpus and, at each word
        boundary, changes corpus with switch_probability; with use_both, a title cannot end
        before it has used both corpora (defaults: the model config's). With word_check
        (word, corpus name) -> bool, a refused word is sampled again, up to word_retries times."""
        if switch_probability is None:
            switch_probability = float(self.model.config.get("switch_probability", 0.5))
        if use_both is None:
            use_both = bool(self.model.config.get("use_both_sources", True))
        if word_retries is None:
            word_retries = int(self.model.config.get("word_retries", 3))
        temperatures = list(temperature) if isinstance(temperature, (list, tuple)) else [temperature]
        if not temperatures or any(t is None or t < 0 for t in temperatures):
            raise ValueError("temperatures must be numbers >= 0")
        rng = np.random.default_rng(seed)
        titles: list[str] = []
        while len(titles) < n:
            titles += self._generate_batch(min(batch_size, n - len(titles)), temperatures, prefix,
                                           max_gen_length, rng, switch_probability, use_both,
                                           word_check, word_retries)
        return titles

    def _generate_batch(self, batch, temperatures, prefix, max_gen_length, rng, switch_probability,
                        use_both=False, word_check=None, word_retries=0) -> list[str]:
        sources = None
        if self._markers is not None:
            sources = _SourcePolicy(self, batch, prefix, rng, switch_probability, use_both, word_check, word_retries)
            start = sources.start
        else:
            start = np.tile(np.array([self._meta] + self.model.encode(prefix), np.int64), (batch, 1))
        generated = [[] for _ in range(batch)]
        active = np.arange(batch)
        length = start.shape[1]
        if length < max_gen_length:
            context = self._new_context()
            if sources:
                sources.begin(context)
            else:
                context.start(start)
        while length < max_gen_length and len(active):
            temperature = temperatures[(length - 1) % len(temperatures)]
            probs = context.probabilities()
            if sources:
                sources.merge_markers(probs)
            chosen = sample_indices(probs, temperature, rng)
            redo = sources.decide(chosen, active, generated, context) if sources else np.zeros(len(chosen), bool)
            length += 1
            going = chosen != self._meta
            for row, index in zip(active[going & ~redo], chosen[going & ~redo]):
                token = self._tokens[index]
                if not (sources and sources.extra_space(generated[row], token)):
                    generated[row].append(token)
            active, keep = active[going], np.flatnonzero(going)
            if len(active) and length < max_gen_length:
                context.advance(chosen[keep], keep)
        titles = [prefix + "".join(chars) for chars in generated]
        return [t.rstrip(" ") for t in titles] if sources else titles


class _SourcePolicy:
    """Which corpus each word of each title comes from, for source-conditioned models
    (bot/sources.py): a random start corpus, a switch at a word boundary with switch_probability,
    with use_both no ending before both corpora are used, and with a word check the rewriting of
    refused words (_WordReviser)."""

    def __init__(self, sampler: Sampler, batch, prefix, rng, switch_probability, use_both, word_check, retries):
        self.markers, self.meta, self.rng = sampler._markers, sampler._meta, rng
        self.switch_probability, self.use_both = switch_probability, use_both
        vocab = sampler.model.vocab
        self.source = rng.integers(0, len(self.markers), size=batch)  # current corpus, per title
        self.start = np.array([[self.meta, self.markers[s]] + [self.markers[s] if ch == " " else vocab.get(ch, 0)
                                                               for ch in prefix] for s in self.source], np.int64)
        self.used = np.zeros((batch, len(self.markers)), bool)  # corpora each title has drawn words from
        self.used[np.arange(batch), self.source] = True
        self.reviser = None
        if word_check and retries and not prefix and sampler.model.semantics == "incremental":
            names = list(sampler.model.config["sources"])
            self.reviser = _WordReviser(word_check, names, self.meta, self.markers, retries, batch)
        # With a check that knows content words, a corpus counts as used once one of its content
        # words is in the title (not when its token is merely chosen).
        self.content_marks = bool(self.reviser and hasattr(word_check, "content"))
        if self.content_marks:
            self.used[:] = False

    def begin(self, context):
        if self.reviser:
            self.reviser.begin(context, self.start)
        else:
            context.start(self.start)

    def merge_markers(self, probs):
        """The source tokens together are one outcome: "a word ends here"."""
        probs[:, self.markers[0]] = probs[:, self.markers].sum(axis=1)
        probs[:, self.markers[1:]] = 0.0

    def decide(self, chosen, active, generated, context) -> np.ndarray:
        """Rewrite refused words, then give each word boundary its corpus. Changes chosen in place;
        returns the rows that went back to a word's start (they add no character this step)."""
        redo = np.zeros(len(chosen), bool)
        if self.reviser:
            redo = self.reviser.review(chosen, active, generated, self.source, self.used, context)
        self.choose(chosen, active, skip=redo)
        if self.reviser:
            self.reviser.accept(chosen, active, generated, context, redo)
        return redo

    def choose(self, chosen, active, skip=None):
        """At a word boundary pick the next word's corpus: switch or stay. With use_both, a title
        that would end before using both corpora switches instead. Rows in skip are left alone."""
        skip = np.zeros(len(chosen), bool) if skip is None else skip
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
        return chosen

    @staticmethod
    def extra_space(chars: list[str], token: str) -> bool:
        """Source tokens are word separators: one space between words, none first."""
        return token == " " and (not chars or chars[-1] == " ")
