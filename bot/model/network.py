"""The network at run time, in numpy float32: the weights arranged for batched steps, and the
reading state of a batch of rows in each of the two semantics (config.SEMANTICS).

- Rows ("incremental"): one LSTM step per token read; attention over the last max_length
  positions, kept as running sums while the window holds the whole row. Rows can save their
  state and rewind to it (to rewrite a word), be reset from a snapshot (a new row in a finished
  row's slot) and be dropped (compaction).
- Windows ("textgenrnn"): textgenrnn's generate() exactly: every prediction reruns the LSTMs over
  the row's last max_length tokens, pre-padded with index 0.

Per step and row the products are: h1 (U) x (U, 4U); for each later layer [h_below, h] (2U) x
(2U, 4U), one 2-D product; features (D) x (D, V) for the output. The first layer's input
projection is a table lookup (it depends only on the token). U: rnn_size, D: dim_embeddings +
layers * U, V: vocabulary + 1.
"""
from __future__ import annotations

import numpy as np

from .modelfile import CharModel

EPSILON = 1e-7  # Keras' backend epsilon, which textgenrnn adds in its attention layer and sampling
COLUMNS = 24  # the output's width is a multiple of this: the sampler draws by blocks of columns
KEPT_BYTES = 16 << 20  # at most this much of a batch's kept attention features (Rows.fitting)
F32 = np.float32


def _gates_ifog(matrix: np.ndarray) -> np.ndarray:
    """Keras' gate blocks (i, f, c, o) reordered to (i, f, o, c), the sigmoid gates halved:
    sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so one tanh over all four gates gives every activation."""
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([0.5 * i, 0.5 * f, 0.5 * o, c], axis=-1)


class Network:
    """A CharModel's weights for batched float32 steps.

    A row's LSTM state is a float32 vector laid out as [embedding (E) | h_1 .. h_L (L*U) |
    c_1 .. c_L (L*U)]: its first D = E + L*U entries are the row's attention features, and the
    input of layer l > 1 is the contiguous [h_(l-1), h_l]."""

    def __init__(self, model: CharModel):
        first = model.lstms[0]
        self.units = first.recurrent.shape[0]
        self.layers = len(model.lstms)
        self.dim = model.embedding.shape[1]  # E
        self.features = self.dim + self.layers * self.units  # D
        self.classes = model.num_classes  # V
        self.width = self.features + self.layers * self.units  # LSTM state per row
        self.embedding = model.embedding.astype(F32)
        # The first layer's input projection depends only on the token: one table row per token.
        self.table = _gates_ifog(model.embedding @ first.kernel + first.bias).astype(F32)
        self.recurrent = _gates_ifog(first.recurrent).astype(F32)
        # Later layers: one (2U, 4U) matrix for [h_below, h] and a bias.
        self.stacked = [(np.ascontiguousarray(_gates_ifog(np.vstack([l.kernel, l.recurrent])), dtype=F32),
                         _gates_ifog(l.bias).astype(F32)) for l in model.lstms[1:]]
        self.attention = model.attention.astype(F32)
        width = -(-self.classes // COLUMNS) * COLUMNS  # columns past V: weight 0
        self.output_kernel = np.zeros((self.features, width), F32)
        self.output_kernel[:, :self.classes] = model.output_kernel
        self.output_bias = np.full(width, -np.inf, F32)
        self.output_bias[:self.classes] = model.output_bias
        self.max_length = model.max_length
        self._padding = None

    @property
    def padding(self) -> tuple[np.ndarray, np.ndarray]:
        """LSTM states (max_length + 1, width) after 0..max_length padding tokens (index 0) from
        zero state, and the padding positions' features (max_length, D): textgenrnn's windows."""
        if self._padding is None:
            state = np.zeros((1, self.width), F32)
            states, features = [state[0].copy()], []
            scratch = Scratch(self, 1)
            for _ in range(self.max_length):
                self.lstm_step(state, np.zeros(1, np.int64), scratch)
                states.append(state[0].copy())
                features.append(state[0, :self.features].copy())
            self._padding = (np.array(states), np.array(features, F32).reshape(self.max_length, self.features))
        return self._padding

    def flops_per_step(self) -> int:
        """Multiply-adds x 2 of one row's step (the products above, attention logit and pooling)."""
        u, d = self.units, self.features
        return 2 * (u * 4 * u + (self.layers - 1) * 2 * u * 4 * u + 2 * d + d * self.classes)

    def lstm_step(self, state: np.ndarray, tokens: np.ndarray, scratch: "Scratch") -> None:
        """Read one token per row into state (B, width) in place."""
        u, e, d = self.units, self.dim, self.features
        z, tmp = scratch.gates, scratch.units
        np.matmul(state[:, e:e + u], self.recurrent, out=z)
        z += self.table[tokens]
        self._cell(state, 0, z, tmp)
        for layer, (kernel, bias) in enumerate(self.stacked, 1):
            np.matmul(state[:, e + (layer - 1) * u: e + (layer + 1) * u], kernel, out=z)
            z += bias
            self._cell(state, layer, z, tmp)
        state[:, :e] = self.embedding[tokens]

    def _cell(self, state, layer, z, tmp):
        u, e, d = self.units, self.dim, self.features
        np.tanh(z, out=z)
        gates = z[:, :3 * u]
        gates *= 0.5
        gates += 0.5
        c = state[:, d + layer * u: d + (layer + 1) * u]
        c *= z[:, u:2 * u]
        np.multiply(z[:, :u], z[:, 3 * u:], out=tmp)
        c += tmp
        np.tanh(c, out=tmp)
        np.multiply(z[:, 2 * u:3 * u], tmp, out=state[:, e + layer * u: e + (layer + 1) * u])

    def output(self, pooled: np.ndarray) -> np.ndarray:
        """(B, D) attention-pooled features -> (B, W) float32 weights of the next token: its
        probabilities times a number per row (exp of the logits less their largest: at most 1),
        W the vocabulary's V columns and zeros up to a multiple of COLUMNS."""
        out = pooled @ self.output_kernel
        out += self.output_bias
        out -= out.max(axis=1, keepdims=True)
        return np.exp(out, out=out)


def normalized(weights: np.ndarray, classes: int) -> np.ndarray:
    """(B, V) probabilities from (B, W) weights (Network.output)."""
    probs = weights[:, :classes]
    probs /= probs.sum(axis=1, keepdims=True)
    return probs


class Scratch:
    """Work arrays for one batch size."""

    def __init__(self, net: Network, batch: int):
        self.gates = np.empty((batch, 4 * net.units), F32)
        self.units = np.empty((batch, net.units), F32)


class Rows:
    """Incremental semantics for a batch of rows: one LSTM step per token read.

    Attention: while a row has read at most max_length positions its window is every position,
    kept as running sums, N (D) = sum of exp(a_t - m) * features_t and Z = sum of exp(a_t - m),
    m the largest attention logit a_t so far: a step costs the same however long the row is.
    Once positions leave the window, the row's attention is computed from the window's kept
    features (a subtraction from the sums would lose every digit when the position leaving held
    nearly all the weight). Positions are kept in a ring of max_length, or, for rows that
    rewind, every one of max_positions (the most positions one row reads, rewound ones not
    counted), so a rewind never finds its window overwritten. float32 throughout: the sums only
    grow (a new largest logit rescales them), so nothing cancels.

    As textgenrnn's attention layer: weights exp(a_t - max) / (sum + 1e-7) (EPSILON)."""

    def __init__(self, net: Network, batch: int, max_positions: int, rewinds: bool = False):
        self.net, self.max_length, self.rewinds = net, net.max_length, rewinds
        d = net.features
        self.state = np.zeros((batch, net.width), F32)
        self.sums = np.zeros((batch, d + 2), F32)  # [N | Z | m]
        self.sums[:, d + 1] = -np.inf
        self.count = np.zeros(batch, np.int64)  # positions read, per row
        slots = self.slots(net, max_positions, rewinds)
        self.kept = np.zeros((batch, slots, d + 1), F32) if slots else None  # features and logit
        self.saved = None
        self.scratch = Scratch(net, batch)

    @staticmethod
    def slots(net: Network, max_positions: int, rewinds: bool) -> int:
        """Positions kept per row (0: the window always holds the whole row)."""
        return 0 if max_positions <= net.max_length else max_positions if rewinds else net.max_length

    @classmethod
    def fitting(cls, net: Network, max_positions: int, rewinds: bool, budget: int = KEPT_BYTES) -> int:
        """The most rows whose kept features fit in budget bytes (at least 16): the batch width
        that keeps a wide network's worker within its memory target."""
        per_row = cls.slots(net, max_positions, rewinds) * (net.features + 1) * 4
        return max(16, budget // per_row) if per_row else 1 << 30

    def __len__(self) -> int:
        return len(self.state)

    def read(self, tokens: np.ndarray) -> None:
        """One token per row (B,)."""
        net, d = self.net, self.net.features
        state, sums = self.state, self.sums
        net.lstm_step(state, tokens, self.scratch)
        features = state[:, :d]
        logit = features @ net.attention
        if self.kept is not None:
            rows = np.arange(len(state))
            slot = self.count % self.kept.shape[1]
            self.kept[rows, slot, :d] = features
            self.kept[rows, slot, d] = logit
        top = sums[:, d + 1]
        higher = np.flatnonzero(logit > top)
        if len(higher):  # a new largest logit: rescale these rows' sums to it
            sums[higher, :d + 1] *= np.exp(top[higher] - logit[higher])[:, None]
            sums[higher, d + 1] = logit[higher]
        weight = np.exp(logit - sums[:, d + 1])
        sums[:, :d] += weight[:, None] * features
        sums[:, d] += weight
        self.count += 1

    def probabilities(self) -> np.ndarray:
        """(B, V) float32 probabilities of each row's next token. Rows that have read nothing
        get those of an empty attention window (zeros)."""
        return normalized(self.weights(), self.net.classes)

    def weights(self) -> np.ndarray:
        """(B, W) the next token's probabilities times a number per row (Network.output)."""
        d = self.net.features
        pooled = np.empty((len(self), d), F32)
        np.divide(self.sums[:, :d], self.sums[:, d:d + 1] + EPSILON, out=pooled)
        sliding = np.flatnonzero(self.count > self.max_length)
        if len(sliding):
            pooled[sliding] = self._window(sliding)
        return self.net.output(pooled)

    def _window(self, rows: np.ndarray) -> np.ndarray:
        """Attention-pooled features of these rows' last max_length positions, from those kept."""
        d, length = self.net.features, self.max_length
        positions = self.count[rows, None] - length + np.arange(length)[None, :]
        window = self.kept[rows[:, None], positions % self.kept.shape[1]]
        logits = window[:, :, d]
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True) + EPSILON
        return np.einsum("rt,rtd->rd", weights, window[:, :, :d])

    def save(self, rows: np.ndarray) -> None:
        """Remember these rows' state: a later rewind returns them to it."""
        if not self.rewinds:
            raise ValueError("rows made without rewinds cannot save")
        if self.saved is None:
            self.saved = (self.state.copy(), self.sums.copy(), self.count.copy())
        else:
            for kept, now in zip(self.saved, (self.state, self.sums, self.count)):
                kept[rows] = now[rows]

    def rewind(self, rows: np.ndarray) -> None:
        """Return these rows to their saved state."""
        for kept, now in zip(self.saved, (self.state, self.sums, self.count)):
            now[rows] = kept[rows]

    def snapshot(self) -> tuple:
        """Row 0's reading state, to start other rows from (reset)."""
        count = int(self.count[0])
        kept = None if self.kept is None else self.kept[0, :min(count, self.kept.shape[1])].copy()
        return self.state[0].copy(), self.sums[0].copy(), count, kept

    def reset(self, rows: np.ndarray, snapshot: tuple) -> None:
        """Start these rows afresh from a snapshot (of a Rows of the same shape); their saved
        state becomes the snapshot too."""
        state, sums, count, kept = snapshot
        self.state[rows], self.sums[rows], self.count[rows] = state, sums, count
        if self.kept is not None and kept is not None:
            self.kept[rows, :len(kept)] = kept
        if self.saved is not None:
            self.saved[0][rows], self.saved[1][rows], self.saved[2][rows] = state, sums, count

    def keep(self, rows: np.ndarray) -> None:
        """Drop every row but these (compaction)."""
        self.state, self.sums, self.count = self.state[rows], self.sums[rows], self.count[rows]
        if self.kept is not None:
            self.kept = self.kept[rows]
        if self.saved is not None:
            self.saved = tuple(a[rows] for a in self.saved)
        self.scratch = Scratch(self.net, len(rows))


class Windows:
    """textgenrnn semantics for a batch of rows: each row's history of tokens; every prediction
    reruns the LSTMs over its last max_length tokens, pre-padded with index 0, from zero state.
    The states after k padding tokens are the same for every row: computed once."""

    def __init__(self, net: Network, batch: int, max_positions: int):
        self.net, self.max_length = net, net.max_length
        self.tokens = np.zeros((batch, max(max_positions, 1)), np.int64)
        self.count = np.zeros(batch, np.int64)
        self.pad_states, self.pad_features = net.padding

    def __len__(self) -> int:
        return len(self.tokens)

    def read(self, tokens: np.ndarray) -> None:
        self.tokens[np.arange(len(tokens)), self.count] = tokens
        self.count += 1

    def probabilities(self) -> np.ndarray:
        """(B, V) float32 probabilities of each row's next token."""
        return normalized(self.weights(), self.net.classes)

    def weights(self) -> np.ndarray:
        """(B, W) the next token's probabilities times a number per row (Network.output)."""
        net, w, d = self.net, self.max_length, self.net.features
        batch = len(self)
        filled = np.minimum(self.count, w)
        window = np.zeros((batch, w), np.int64)  # right-aligned, index 0 before
        columns = np.arange(w)
        take = columns[None, :] >= (w - filled)[:, None]
        source = self.count[:, None] - w + columns[None, :]
        rows = np.nonzero(take)
        window[rows] = self.tokens[rows[0], source[rows]]
        first = int(w - filled.max())  # padding positions every row shares
        state = np.repeat(self.pad_states[first][None], batch, axis=0)
        features = np.empty((batch, w, d), F32)
        features[:, :first] = self.pad_features[:first]
        scratch = Scratch(net, batch)
        for t in range(first, w):
            net.lstm_step(state, window[:, t], scratch)
            features[:, t] = state[:, :d]
        logits = features @ net.attention
        weights = np.exp(logits - logits.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True) + EPSILON
        return net.output(np.einsum("bt,btd->bd", weights, features))

    def snapshot(self) -> tuple:
        return self.tokens[0, :self.count[0]].copy(), int(self.count[0])

    def reset(self, rows: np.ndarray, snapshot: tuple) -> None:
        tokens, count = snapshot
        self.tokens[rows, :count] = tokens
        self.count[rows] = count

    def keep(self, rows: np.ndarray) -> None:
        self.tokens, self.count = self.tokens[rows], self.count[rows]

