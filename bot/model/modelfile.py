"""Read and write models in textgenrnn's file format: weights .hdf5, vocab .json, config .json.

Reads textgenrnn's pretrained weights (LSTMs in CuDNN layout), weights saved by textgenrnn's
own training, and this project's, with h5py and numpy only: no TensorFlow.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ModelFileError
from ..files import atomic_write
from .config import SEMANTICS, ModelConfig  # noqa: F401  (SEMANTICS: re-exported)

META_TOKEN = "<s>"

# textgenrnn's own defaults: the config of its pretrained model, which ships without a config file.
TEXTGENRNN_CONFIG = {
    "rnn_layers": 2,
    "rnn_size": 128,
    "rnn_bidirectional": False,
    "max_length": 40,
    "max_words": 10000,
    "dim_embeddings": 100,
    "word_level": False,
    "single_text": False,
}


@dataclass
class LSTMWeights:
    kernel: np.ndarray  # (input_dim, 4 * units), gates i, f, c, o
    recurrent: np.ndarray  # (units, 4 * units)
    bias: np.ndarray  # (4 * units,)


@dataclass
class CharModel:
    """A character-level textgenrnn network: its settings, vocabulary and weights. A config
    given as a dict is validated into a ModelConfig (ModelFileError if it is not valid)."""

    config: ModelConfig
    vocab: dict[str, int]  # token -> index; index 0 is padding and belongs to no token
    embedding: np.ndarray  # (num_classes, dim_embeddings)
    lstms: list[LSTMWeights]
    attention: np.ndarray  # (dim_embeddings + layers * units,)
    output_kernel: np.ndarray  # (features, num_classes)
    output_bias: np.ndarray  # (num_classes,)

    def __post_init__(self):
        if not isinstance(self.config, ModelConfig):
            self.config = ModelConfig.from_dict(dict(self.config))

    @property
    def max_length(self) -> int:
        return self.config.max_length

    @property
    def semantics(self) -> str:
        return self.config.semantics

    @property
    def num_classes(self) -> int:
        return len(self.vocab) + 1

    def tokens(self) -> list[str]:
        """Index -> token; index 0 (padding) is the empty string."""
        table = [""] * self.num_classes
        for token, index in self.vocab.items():
            table[index] = token
        return table

    def encode(self, text: str) -> list[int]:
        """Characters to indices the way textgenrnn does: unknown characters become 0."""
        return [self.vocab.get(ch, 0) for ch in text]


def _pretrained_paths() -> tuple[Path, Path]:
    """The weights and vocab inside the installed textgenrnn package (its code is not imported)."""
    import importlib.util

    spec = importlib.util.find_spec("textgenrnn")
    if spec is None or not spec.submodule_search_locations:
        raise ModelFileError(
            "textgenrnn's pretrained weights were asked for but the textgenrnn package is not "
            "installed: pip install textgenrnn (only its data files are used)")
    root = Path(list(spec.submodule_search_locations)[0])
    return root / "textgenrnn_weights.hdf5", root / "textgenrnn_vocab.json"


@dataclass
class ModelPaths:
    weights: Path
    vocab: Path
    config: Path | None  # None: textgenrnn's default config

    @property
    def name(self) -> str:
        """The shared file-name prefix: `mashup` for mashup_weights.hdf5."""
        return self.weights.name.removesuffix(".hdf5").removesuffix("_weights")

    @classmethod
    def pretrained(cls) -> "ModelPaths":
        weights, vocab = _pretrained_paths()
        return cls(weights, vocab, None)

    @classmethod
    def in_directory(cls, directory: str | os.PathLike) -> "ModelPaths":
        """The one model in a directory, found by its `<name>_config.json`."""
        directory = Path(directory)
        if not directory.is_dir():
            raise ModelFileError(f"model directory {directory} does not exist")
        configs = sorted(directory.glob("*_config.json"))
        if len(configs) != 1:
            found = ", ".join(p.name for p in configs) or "none"
            raise ModelFileError(
                f"model directory {directory} must hold exactly one *_config.json (found: {found})")
        name = configs[0].name[: -len("_config.json")]
        return cls(directory / f"{name}_weights.hdf5", directory / f"{name}_vocab.json", configs[0])


def _read_json(path: Path, what: str):
    try:
        with open(path, encoding="utf8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ModelFileError(f"{what} file {path} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{what} file {path} is not valid JSON: {e}") from None


def _read_vocab(path: Path) -> dict[str, int]:
    vocab = _read_json(path, "vocab")
    if not isinstance(vocab, dict) or not vocab:
        raise ModelFileError(f"vocab file {path} must be a non-empty JSON object of token -> index")
    indices = sorted(vocab.values()) if all(isinstance(v, int) for v in vocab.values()) else None
    if indices != list(range(1, len(vocab) + 1)):
        raise ModelFileError(f"vocab file {path}: indices must be the integers 1..{len(vocab)}, each once")
    if META_TOKEN not in vocab:
        raise ModelFileError(f"vocab file {path} lacks the meta token {META_TOKEN!r}")
    return vocab


def _read_config(path: Path | None) -> tuple[dict, ModelConfig]:
    """The config as read (textgenrnn's defaults when path is None), and validated."""
    if path is None:
        return dict(TEXTGENRNN_CONFIG), ModelConfig.from_dict(dict(TEXTGENRNN_CONFIG), "textgenrnn's default config")
    raw = _read_json(path, "config")
    return raw, ModelConfig.from_dict(raw, f"config file {path}")


# The last release that samples the retired strategies' models (bot/runtime.py names it too).
RETIRED_UP_TO = "songs-x-arxiv-bot 0.1.0 (commit 0334321)"


def _check_strategy(config: dict, paths: "ModelPaths") -> None:
    """Models trained here must be halves models: the whole-title ('plain') and corpus-switching
    ('sources') strategies are retired. textgenrnn's own files (no training record, no corpus
    tokens) still load: their weights start training and check the sampler against textgenrnn."""
    if config.get("halves") is True or not (config.get("sources") or "training" in config):
        return
    strategy = (config.get("training") or {}).get("strategy") or ("sources" if config.get("sources") else "plain")
    raise ModelFileError(f"config file {paths.config}: a model of the retired '{strategy}' strategy; this version "
                         f"samples halves models only (bot train); {RETIRED_UP_TO} samples it")


def _check_tokens(config: dict, vocab: dict[str, int], paths: "ModelPaths") -> None:
    """A config that lost the keys its vocabulary and training need is an error, not a silent
    fall-back: corpus tokens without `sources` would be sampled as text, and a model trained here
    without `semantics` would be read as textgenrnn's."""
    markers = sorted(t for t in vocab if len(t) > 1 and t.startswith("<") and t.endswith(">") and t != META_TOKEN)
    if markers and not config.get("sources"):
        raise ModelFileError(f"config file {paths.config}: the vocab has the corpus tokens {', '.join(markers)} "
                             "but the config has no 'sources'; restore it from the trained model")
    if "training" in config and "semantics" not in config:
        raise ModelFileError(f"config file {paths.config} lacks 'semantics' (models trained by `bot train` are "
                             "'incremental'); restore it from the trained model")
    absent = [t for t in (config.get("sources") or {}).values() if t not in vocab]
    if absent:
        raise ModelFileError(f"config file {paths.config}: the sources' tokens {', '.join(absent)} are not in "
                             f"vocab file {paths.vocab}")


def _layer_arrays(f, name: str, path: Path) -> list[np.ndarray]:
    """A layer's weights in the order Keras 2 saved them (its `weight_names` attribute)."""
    if name not in f:
        raise ModelFileError(f"weights file {path} has no layer {name!r}")
    group = f[name]
    names = [n.decode() if isinstance(n, bytes) else str(n) for n in group.attrs.get("weight_names", [])]
    if not names:
        raise ModelFileError(f"weights file {path}: layer {name!r} holds no weights")
    try:
        return [np.asarray(group[n], dtype=np.float32) for n in names]
    except (KeyError, OSError) as e:
        raise ModelFileError(f"weights file {path}: layer {name!r} is unreadable ({e})") from None


def _cudnn_to_keras(kernel, recurrent, bias, units, path, name) -> LSTMWeights:
    """CuDNN stores each gate's input kernel transposed in raw memory and two biases per gate."""
    if bias.shape == (8 * units,):
        kernel = np.hstack([k.T.reshape(k.shape, order="F") for k in np.hsplit(kernel, 4)])
        recurrent = np.hstack([k.T for k in np.hsplit(recurrent, 4)])
        bias = bias[: 4 * units] + bias[4 * units:]
    elif bias.shape != (4 * units,):
        raise ModelFileError(
            f"weights file {path}: layer {name!r} bias has shape {bias.shape}, "
            f"expected ({4 * units},) or CuDNN's ({8 * units},)")
    return LSTMWeights(np.ascontiguousarray(kernel), np.ascontiguousarray(recurrent), bias)


def _expect(shape, expected, path, what):
    if tuple(shape) != tuple(expected):
        raise ModelFileError(f"weights file {path}: {what} has shape {tuple(shape)}, expected {tuple(expected)}")


def load_model(paths: ModelPaths) -> CharModel:
    """Read and cross-check the three files; any problem is one ModelFileError naming the file."""
    import h5py

    raw, config = _read_config(paths.config)
    _check_strategy(raw, paths)
    vocab = _read_vocab(paths.vocab)
    _check_tokens(raw, vocab, paths)
    num_classes = len(vocab) + 1
    dim, units, layers = config.dim_embeddings, config.rnn_size, config.rnn_layers
    path = paths.weights
    if not path.exists():
        raise ModelFileError(f"weights file {path} is missing")
    try:
        with h5py.File(path, "r") as f:
            root = f["model_weights"] if "model_weights" in f else f
            (embedding,) = _layer_arrays(root, "embedding", path)
            if embedding.shape[0] != num_classes:
                raise ModelFileError(
                    f"weights file {path}: embedding has {embedding.shape[0]} rows but vocab file "
                    f"{paths.vocab} has {len(vocab)} tokens (+1 padding = {num_classes})")
            _expect(embedding.shape, (num_classes, dim), path, "embedding (dim_embeddings in config)")
            lstms = []
            for i in range(1, layers + 1):
                arrays = _layer_arrays(root, f"rnn_{i}", path)
                if len(arrays) != 3:
                    raise ModelFileError(f"weights file {path}: layer 'rnn_{i}' holds {len(arrays)} arrays, expected 3")
                in_dim = dim if i == 1 else units
                _expect(arrays[0].shape, (in_dim, 4 * units), path, f"rnn_{i} kernel (rnn_size in config)")
                _expect(arrays[1].shape, (units, 4 * units), path, f"rnn_{i} recurrent kernel")
                lstms.append(_cudnn_to_keras(*arrays, units, path, f"rnn_{i}"))
            if f"rnn_{layers + 1}" in root:
                raise ModelFileError(f"weights file {path} has more LSTM layers than rnn_layers={layers} in config")
            features = dim + layers * units
            (attention,) = _layer_arrays(root, "attention", path)
            _expect(attention.shape, (features, 1), path, "attention weights")
            kernel, bias = _layer_arrays(root, "output", path)
            _expect(kernel.shape, (features, num_classes), path, "output kernel")
            _expect(bias.shape, (num_classes,), path, "output bias")
    except ModelFileError:
        raise
    except (OSError, KeyError, ValueError) as e:
        raise ModelFileError(f"weights file {path} is not a readable HDF5 weights file ({e})") from None
    return CharModel(config, vocab, embedding, lstms, attention[:, 0].copy(), kernel, bias)


WEIGHT_PRECISIONS = ("float32", "float16", "compact")
COMPACT_DROPPED_BITS = 4  # "compact": float16 with its 10 mantissa bits rounded to 6 (bfloat16 keeps 7)


def _compact(a: np.ndarray) -> np.ndarray:
    """a as float16 with the last COMPACT_DROPPED_BITS mantissa bits rounded away (to nearest):
    a relative error under 2**-7, and bytes that gzip packs (a 2 x 512 network: 4.9 MB, not 6.9)."""
    bits = np.asarray(a, dtype=np.float16).view(np.uint16).astype(np.uint32)
    step = 1 << COMPACT_DROPPED_BITS
    return (((bits + step // 2) // step) * step).astype(np.uint16).view(np.float16)


def save_model(model: CharModel, directory: str | os.PathLike, name: str, precision: str = "float32") -> ModelPaths:
    """Write weights (Keras 2 layout, readable by textgenrnn too), vocab and config. precision:
    how the weights are stored, "float32", "float16" (half the file) or "compact" (float16 rounded
    to 7 significant bits, gzip-compressed: a shipped model under 5 MB; _compact); load_model
    reads each as float32. Raises ValueError for another precision."""
    import h5py

    if precision not in WEIGHT_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(WEIGHT_PRECISIONS)}, not {precision!r}")

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = ModelPaths(directory / f"{name}_weights.hdf5", directory / f"{name}_vocab.json",
                       directory / f"{name}_config.json")
    layers = {"embedding": {"embeddings": model.embedding}}
    for i, lstm in enumerate(model.lstms, 1):
        layers[f"rnn_{i}"] = {"kernel": lstm.kernel, "recurrent_kernel": lstm.recurrent, "bias": lstm.bias}
    layers["attention"] = {"attention_W": model.attention.reshape(-1, 1)}
    layers["output"] = {"kernel": model.output_kernel, "bias": model.output_bias}

    def write_weights(tmp):
        with h5py.File(tmp, "w") as f:
            f.attrs["layer_names"] = [n.encode() for n in layers]
            f.attrs["backend"] = b"tensorflow"
            for layer, arrays in layers.items():
                group = f.create_group(layer)
                names = [f"{layer}/{k}:0" for k in arrays]
                group.attrs["weight_names"] = [n.encode() for n in names]
                for n, a in zip(names, arrays.values()):
                    if precision == "compact":
                        group.create_dataset(n, data=_compact(a), compression="gzip", compression_opts=9, shuffle=True)
                    else:
                        group.create_dataset(n, data=np.asarray(a, dtype=precision))

    def write_json(obj):
        def write(tmp):
            with open(tmp, "w", encoding="utf8") as f:
                json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
                f.write("\n")
        return write

    atomic_write(paths.weights, write_weights)
    atomic_write(paths.vocab, write_json(model.vocab))
    atomic_write(paths.config, write_json(model.config.to_dict()))
    return paths
