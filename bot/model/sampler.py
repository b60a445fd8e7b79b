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
from typing import Sequence

import numpy as np

from .modelfile import META_TOKEN, CharModel
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
        self._net = _Network(self.model, self.dtype)
        self._meta = self.model.vocab[META_TOKEN]
        context = _WindowContext if self.model.semantics == "textgenrnn" else _IncrementalContext
        self._context = lambda: context(self._net, self.model.max_length)
        self._window = None

    def _new_context(self):
        if self.model.semantics == "textgenrnn":  # its padding cache is worth keeping
            self._window = self._window or self._context()
            return self._window
        return self._context()

    def reader(self) -> Reader:
        """A fresh reading state over this model's network, to drive a policy by hand (tests)."""
        return _Reader(self._new_context())

    def next_probabilities(self, prefix: str = "") -> np.ndarray:
        """Probabilities of the token after <s> + prefix (textgenrnn's model.predict on that window)."""
        context = self._new_context()
        context.start(np.array([[self._meta] + self.model.encode(prefix)], dtype=np.int64))
        return context.probabilities()[0].astype(np.float64)

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
