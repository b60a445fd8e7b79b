"""A model's config (`<name>_config.json`), typed: read and validated once when the model loads.

The JSON keys are textgenrnn's (rnn_layers, rnn_size, max_length, ...) plus this project's
(semantics, sources, halves, word_retries and the training record). Keys neither
knows are kept as they are and written back, so textgenrnn's own files load and save unchanged.
Every default is stated here, once. A ModelConfig also reads as a read-only mapping of its JSON
keys (`config["rnn_size"]`, `{**config}`), for code that builds networks from the raw keys.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

from ..errors import ModelFileError

# How the network reads its context. "textgenrnn": every prediction reruns the LSTMs over a
# window of the last max_length tokens, pre-padded with index 0 (textgenrnn's generate()).
# "incremental": the LSTMs run once over the whole title and attention sees the last
# max_length positions; one LSTM step per character when sampling.
SEMANTICS = ("textgenrnn", "incremental")
SIZES = ("rnn_layers", "rnn_size", "max_length", "dim_embeddings")  # required, whole numbers >= 1


@dataclass(frozen=True, eq=False)
class ModelConfig(Mapping):
    """The network's sizes, how to read it, and (source-conditioned models) how to sample it."""

    rnn_layers: int
    rnn_size: int  # units per LSTM layer
    max_length: int  # attention window (and textgenrnn's context window), in tokens
    dim_embeddings: int
    rnn_bidirectional: bool = False  # textgenrnn's; only False is supported
    max_words: int = 10000  # textgenrnn's (word-level models); unused here
    word_level: bool = False  # textgenrnn's; only False is supported
    single_text: bool = False  # textgenrnn's; only False is supported
    semantics: str = "textgenrnn"  # one of SEMANTICS
    name: str | None = None
    sources: dict[str, str] | None = None  # corpus name -> its token (bot/model/sources.py)
    word_retries: int = 3  # halves: rewrites of a word the word check refuses (Sampler.sample_halves)
    halves: bool = False  # trained on whole halves (bot/training/halves.py): posts join two at a seam
    training: dict | None = None  # how `bot train` made the model (bot/training/model_card.py)
    unknown: dict = field(default_factory=dict)  # keys neither textgenrnn nor this project knows

    @classmethod
    def from_dict(cls, data, where: str = "model config") -> "ModelConfig":
        """Validated; `where` begins every error message, e.g. "config file model/x_config.json".
        Raises ModelFileError (one line naming the key) for a missing or bad value."""
        if not isinstance(data, dict):
            raise ModelFileError(f"{where} must be a JSON object")
        missing = [k for k in SIZES if k not in data]
        if missing:
            raise ModelFileError(f"{where} lacks {', '.join(missing)}")
        known = {f.name for f in fields(cls)} - {"unknown"}
        values = {k: v for k, v in data.items() if k in known}
        for key in SIZES:
            _whole(where, key, values[key], 1)
        _whole(where, "max_words", values.get("max_words", 1), 1)
        _whole(where, "word_retries", values.get("word_retries", 0), 0)
        for key in ("rnn_bidirectional", "word_level", "single_text", "halves"):
            if key in values and not isinstance(values[key], bool):
                raise ModelFileError(f"{where}: {key} must be true or false, not {values[key]!r}")
        if values.get("rnn_bidirectional"):
            raise ModelFileError(f"{where}: bidirectional models are not supported")
        if values.get("word_level") or values.get("single_text"):
            raise ModelFileError(f"{where}: only character-level, per-title models are supported")
        if values.get("semantics", cls.semantics) not in SEMANTICS:
            raise ModelFileError(f"{where}: semantics must be one of {', '.join(SEMANTICS)}")
        sources = values.get("sources")
        if sources is not None and not (isinstance(sources, dict) and all(
                isinstance(k, str) and isinstance(v, str) for k, v in sources.items())):
            raise ModelFileError(f"{where}: sources must map corpus names to tokens, not {sources!r}")
        if values.get("halves") and not sources:
            raise ModelFileError(f"{where}: a halves model needs 'sources' (its corpus tokens, e.g. "
                                 "{\"song\": \"<song>\", \"arxiv\": \"<arxiv>\"}); restore it from the trained model")
        if values.get("halves") and values.get("semantics") != "incremental":
            raise ModelFileError(f"{where}: a halves model needs 'semantics': 'incremental' (models trained by "
                                 "`bot train` are); restore it from the trained model")
        if values.get("name") is not None and not isinstance(values["name"], str):
            raise ModelFileError(f"{where}: name must be a string, not {values['name']!r}")
        if values.get("training") is not None and not isinstance(values["training"], dict):
            raise ModelFileError(f"{where}: training must be a JSON object, not {values['training']!r}")
        return cls(**values, unknown={k: v for k, v in data.items() if k not in known})

    def to_dict(self) -> dict:
        """The JSON object to write: every key with a value, unknown keys included."""
        return dict(self)

    def _items(self) -> dict:
        known = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "unknown"}
        return {**{k: v for k, v in known.items() if v is not None}, **self.unknown}

    def __getitem__(self, key):
        return self._items()[key]

    def __iter__(self):
        return iter(self._items())

    def __len__(self) -> int:
        return len(self._items())

    def __repr__(self) -> str:
        return f"ModelConfig({self._items()!r})"


def _whole(where: str, key: str, value, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ModelFileError(f"{where}: {key} must be a whole number of at least {least}, not {value!r}")
