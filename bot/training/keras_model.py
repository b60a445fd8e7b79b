"""The Keras 3 training network and its conversion to and from CharModel (training only).

Importing this module imports TensorFlow; the posting worker never does.
"""
from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
from keras import ops  # noqa: E402

from ..model.modelfile import CharModel, LSTMWeights  # noqa: E402

EPSILON = 1e-7  # the same epsilon as the numpy sampler and textgenrnn's attention


@keras.saving.register_keras_serializable(package="bot")
class WindowedAttention(keras.layers.Layer):
    """textgenrnn's attention-weighted average, at every position over the last `window` positions.

    Position t pools features t-window+1..t, so one pass over a whole title trains every
    next-character prediction at once (causal: later positions, padding included, never count).
    """

    def __init__(self, window: int, **kwargs):
        super().__init__(**kwargs)
        self.window = window

    def build(self, input_shape):
        self.W = self.add_weight(shape=(input_shape[-1], 1), name="attention_W", initializer="uniform")

    def call(self, x):
        steps = ops.shape(x)[1]
        logits = ops.squeeze(ops.matmul(x, self.W), -1)  # (B, T)
        t = ops.arange(steps)
        band = (t[None, :] <= t[:, None]) & (t[None, :] > t[:, None] - self.window)  # (T, S)
        scores = ops.where(band[None], logits[:, None, :], -1e9)
        weights = ops.exp(scores - ops.max(scores, axis=-1, keepdims=True)) * ops.cast(band, x.dtype)[None]
        weights = weights / (ops.sum(weights, axis=-1, keepdims=True) + EPSILON)
        return ops.matmul(weights, x)  # (B, T, D)

    def get_config(self):
        return {**super().get_config(), "window": self.window}


def build(num_classes: int, config: dict, dropout: float = 0.0) -> keras.Model:
    """Layer names and weight shapes match textgenrnn's, so its weights load by name."""
    tokens = keras.Input(shape=(None,), dtype="int32", name="input")
    embedded = keras.layers.Embedding(num_classes, config["dim_embeddings"], name="embedding")(tokens)
    if dropout > 0:
        embedded = keras.layers.SpatialDropout1D(dropout, name="dropout")(embedded)
    layers = [embedded]
    for i in range(1, config["rnn_layers"] + 1):
        layers.append(keras.layers.LSTM(config["rnn_size"], return_sequences=True,
                                        recurrent_activation="sigmoid", name=f"rnn_{i}")(layers[-1]))
    features = keras.layers.Concatenate(name="rnn_concat")(layers)
    pooled = WindowedAttention(config["max_length"], name="attention")(features)
    logits = keras.layers.Dense(num_classes, name="output")(pooled)
    return keras.Model(tokens, logits)


def set_weights(net: keras.Model, model: CharModel) -> None:
    net.get_layer("embedding").set_weights([model.embedding])
    for i, lstm in enumerate(model.lstms, 1):
        net.get_layer(f"rnn_{i}").set_weights([lstm.kernel, lstm.recurrent, lstm.bias])
    net.get_layer("attention").set_weights([model.attention.reshape(-1, 1)])
    net.get_layer("output").set_weights([model.output_kernel, model.output_bias])


def to_char_model(net: keras.Model, config: dict, vocab: dict[str, int]) -> CharModel:
    (embedding,) = net.get_layer("embedding").get_weights()
    lstms = [LSTMWeights(*net.get_layer(f"rnn_{i}").get_weights()) for i in range(1, config["rnn_layers"] + 1)]
    (attention,) = net.get_layer("attention").get_weights()
    kernel, bias = net.get_layer("output").get_weights()
    return CharModel(dict(config), dict(vocab), embedding, lstms, attention[:, 0], kernel, bias)


def next_probabilities(net: keras.Model, tokens: np.ndarray) -> np.ndarray:
    """Softmax of the network's output at every position of tokens (B, T)."""
    logits = net.predict(tokens, verbose=0)
    logits = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)
