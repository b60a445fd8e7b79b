"""`bot train`: fit the halves model (bot/training/halves.py) on the two corpora with Keras 3 on
TensorFlow (CPU).

Each half is read once, start to end (incremental semantics, recorded in the config), instead of
textgenrnn's one max_length window per character. A fixed share of the unique halves (chosen by
the seed) is held out and its loss measured after every epoch. Output: the three
textgenrnn-format files and MODEL.md, written only when training finishes; every epoch leaves a
resumable checkpoint, a loadable model in `epoch_N/` and the curve so far in `history.json`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import random
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import corpus, halves, model_card
from .derive import derive_from_files
from ..curation.mashups import HALF_MAX_CHARS
from ..files import atomic_write_text
from .options import TrainOptions  # noqa: F401  (TrainOptions: re-exported)
from ..model import sources
from ..errors import CorpusError, TrainingError
from ..model.config import ModelConfig
from ..model.modelfile import META_TOKEN, TEXTGENRNN_CONFIG, ModelPaths, load_model, save_model
from ..model.sampler import Halves, Sampler


@dataclass
class TrainResult:
    paths: ModelPaths
    seconds: float
    epoch_seconds: list[float]
    losses: list[float]  # training loss per epoch, from the first (resumed runs included)
    validation_losses: list[float | None]  # loss on the held-out halves per epoch (None: none held out)
    examples: int
    characters: int
    samples: list[str] = field(default_factory=list)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pretrained(options: TrainOptions):
    if options.init_from is not None:
        model = load_model(ModelPaths.in_directory(options.init_from))
        sizes = (model.config.rnn_size, model.config.rnn_layers, model.config.dim_embeddings)
        if sizes != (options.rnn_size, options.rnn_layers, options.dim_embeddings):
            raise TrainingError(f"the model in {options.init_from} has rnn_size, rnn_layers, dim_embeddings "
                                f"{sizes}; pass the same sizes")
        return model
    if (options.rnn_size, options.rnn_layers, options.dim_embeddings) != (128, 2, 100):
        raise TrainingError("textgenrnn's pretrained weights have rnn_size 128, rnn_layers 2, "
                            "dim_embeddings 100; pass --from-scratch to train another size")
    return load_model(ModelPaths.pretrained())


def _new_vocabulary(titles: list[str]) -> dict[str, int]:
    vocab = {ch: i for i, ch in enumerate(sorted({ch for t in titles for ch in t}), 1)}
    vocab[META_TOKEN] = len(vocab) + 1
    return vocab


def prepare_examples(options: TrainOptions,
                     alphabet: set[str] | None) -> tuple[list[corpus.Example], list[corpus.Example]]:
    """(training, validation) examples: the unique halves of each corpus, validation_share of each
    held out (chosen by the seed, before balancing, so no copy of a held-out half is trained on);
    the rest balanced by options.balance. Validation examples are not balanced."""
    by_source = {}
    for name, path in (("song", options.song_titles), ("arxiv", options.arxiv_titles)):
        lines = corpus.read_titles(path)[: options.limit] if options.limit else corpus.read_titles(path)
        by_source[name] = corpus.clean_titles(lines, options.max_chars, alphabet)
    by_source = halves.examples(by_source["song"], by_source["arxiv"])
    rng = random.Random(options.seed)
    held_out: list[corpus.Example] = []
    for name, titles in by_source.items():
        count = int(round(options.validation_share * len(titles)))
        chosen = set(rng.sample(range(len(titles)), count)) if count < len(titles) else set()
        held_out += [corpus.Example(t, name) for i, t in enumerate(titles) if i in chosen]
        by_source[name] = [t for i, t in enumerate(titles) if i not in chosen]
    return corpus.balance(by_source, options.balance, options.seed), held_out


class _Batches:
    """Titles grouped by similar length, padded to a multiple of 16 (few distinct shapes to trace),
    reshuffled every epoch."""

    def __init__(self, sequences: list[np.ndarray], batch_size: int, seed: int, shuffle: bool = True):
        self.sequences, self.batch_size, self.shuffle = sequences, batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.count = -(-len(sequences) // batch_size)

    def __iter__(self):
        order = self.rng.permutation(len(self.sequences)) if self.shuffle else np.arange(len(self.sequences))
        chunk = self.batch_size * 32
        batches = []
        for start in range(0, len(order), chunk):
            part = sorted(order[start:start + chunk], key=lambda i: len(self.sequences[i]))
            batches += [part[j:j + self.batch_size] for j in range(0, len(part), self.batch_size)]
        if self.shuffle:
            self.rng.shuffle(batches)
        for rows in batches:
            yield self._pad([self.sequences[i] for i in rows])

    @staticmethod
    def _pad(rows):
        steps = -(-max(len(r) - 1 for r in rows) // 16) * 16
        x = np.zeros((len(rows), steps), np.int32)
        y = np.zeros((len(rows), steps), np.int32)
        for r, seq in enumerate(rows):
            x[r, : len(seq) - 1], y[r, : len(seq) - 1] = seq[:-1], seq[1:]
        mask = (y > 0).astype(np.float32)
        # Scaled so the reported loss is the mean over real characters, not over padding too.
        return x, y, mask * (mask.size / mask.sum())

    def dataset(self):
        import tensorflow as tf

        spec = (tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.int32),
                tf.TensorSpec((None, None), tf.float32))
        data = tf.data.Dataset.from_generator(self.__iter__, output_signature=spec)
        return data.apply(tf.data.experimental.assert_cardinality(self.count)).prefetch(2)


def _sequences(examples: list[corpus.Example], vocab: dict[str, int]) -> list[np.ndarray]:
    """Token sequences to train on: each half with every word marked with its corpus
    (bot/model/sources.py), ending with the end token."""
    return [np.array(sources.encode(e.title, e.source, vocab), np.int32) for e in examples]


HISTORY_FILE = "history.json"


def _check_resume(directory: Path, settings: dict) -> list[dict]:
    """Only an unfinished run (Keras' backup still there) binds the directory to its settings: a
    finished or never-started one leaves nothing to resume, and a new run may start over it.
    Returns the finished epochs' records of the unfinished run (history.json), else []."""
    stamp = directory / "settings.json"
    unfinished = (directory / "backup").exists()
    if unfinished and stamp.exists() and json.loads(stamp.read_text()) != settings:
        raise TrainingError(f"checkpoint directory {directory} holds an unfinished run with other settings; "
                            "rerun its command to finish it, delete the directory to drop it, or pass "
                            "another --checkpoint-dir")
    directory.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(settings, indent=1, sort_keys=True))
    history = directory / HISTORY_FILE
    if unfinished and history.exists():
        return json.loads(history.read_text())
    history.unlink(missing_ok=True)
    return []


def check_options(options: TrainOptions) -> None:
    """Everything that can be checked before TensorFlow's start-up (tens of seconds): the
    options' ranges, each error naming the value, and the corpus files."""
    checks = [
        (options.epochs >= 1, f"--epochs must be at least 1, not {options.epochs}"),
        (options.batch_size >= 1, f"--batch-size must be at least 1, not {options.batch_size}"),
        (0 <= options.dropout < 1, f"--dropout must be from 0 up to (not including) 1, not {options.dropout:g}"),
        (0 <= options.validation_share < 0.5,
         f"--validation-share must be from 0 up to (not including) 0.5, not {options.validation_share:g}"),
    ]
    for ok, message in checks:
        if not ok:
            raise TrainingError(message)
    for path in (options.song_titles, options.arxiv_titles):
        if not Path(path).is_file():
            raise CorpusError(f"corpus file {path} is missing; pass its path (see bot train --help)")


def train(options: TrainOptions, report: Callable[[str], None] = print,
          command: str = "bot train") -> TrainResult:
    check_options(options)
    try:
        import keras
    except ImportError:
        raise TrainingError("training needs TensorFlow: pip install -e '.[train]'") from None
    from . import keras_model
    start = time.perf_counter()
    keras.utils.set_random_seed(options.seed)
    if options.from_scratch:
        pretrained = None
        examples, held_out = prepare_examples(options, alphabet=None)
        vocab = sources.add_source_tokens_to_vocab(_new_vocabulary([e.title for e in examples + held_out]))
    else:  # titles with characters textgenrnn's vocabulary lacks are dropped
        pretrained = sources.add_source_tokens(_pretrained(options))
        vocab = pretrained.vocab
        examples, held_out = prepare_examples(options, alphabet=set(vocab) - {META_TOKEN})
    sequences = _sequences(examples, vocab)
    characters = sum(len(e.title) for e in examples)
    by_source = {s: sum(e.source == s for e in examples) for s in corpus.SOURCES}
    report(f"{len(examples)} halves ({by_source['song']} song, {by_source['arxiv']} paper after "
           f"balancing by {options.balance}), {characters} characters, vocabulary {len(vocab)}; "
           f"{len(held_out)} held out for validation")

    config = {**TEXTGENRNN_CONFIG, "rnn_size": options.rnn_size, "rnn_layers": options.rnn_layers,
              "dim_embeddings": options.dim_embeddings, "max_length": options.max_length,
              "semantics": "incremental", "name": options.name}
    # each example is one half, in one corpus: never switch
    config.update(sources=dict(sources.TOKENS), switch_probability=0.0, use_both_sources=False,
                  word_retries=ModelConfig.word_retries, halves=True)
    net = keras_model.build(len(vocab) + 1, config, options.dropout)
    if pretrained is not None:
        keras_model.set_weights(net, pretrained)
    epochs = options.epochs
    net.compile(optimizer=keras.optimizers.Adam(options.learning_rate),
                loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))

    settings = {k: str(v) for k, v in asdict(options).items() if k not in ("checkpoint_dir", "output_dir")}
    history = _check_resume(options.checkpoint_dir, settings)
    batches = _Batches(sequences, options.batch_size, options.seed)
    validation = (_Batches(_sequences(held_out, vocab), options.batch_size, options.seed, shuffle=False).dataset()
                  if held_out else None)

    def record(extra: dict) -> dict:
        return {"command": command, "strategy": "halves", "epochs": epochs, "curve": list(history), **extra}

    class EpochEnd(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.began
            val_loss = float(logs["val_loss"]) if "val_loss" in logs else None
            history[:] = [h for h in history if h["epoch"] <= epoch]  # an epoch rerun after a crash: once
            history.append({"epoch": epoch + 1, "loss": round(float(logs["loss"]), 5),
                            "val_loss": None if val_loss is None else round(val_loss, 5),
                            "seconds": round(seconds, 1)})
            char_model = keras_model.to_char_model(net, config, vocab)
            char_model = dataclasses.replace(char_model, config=dataclasses.replace(
                char_model.config, training=record({"checkpoint_of_epoch": epoch + 1})))
            save_model(char_model, options.checkpoint_dir / f"epoch_{epoch + 1}", options.name)
            atomic_write_text(options.checkpoint_dir / HISTORY_FILE, json.dumps(history, indent=1))
            sampler = Sampler(char_model)
            shown = "" if val_loss is None else f", validation loss {val_loss:.4f}"
            report(f"\nepoch {epoch + 1}/{epochs}: loss {logs['loss']:.4f}{shown}, {seconds:.0f} s")
            for t in options.sample_temperatures:
                report(f"  temperature {t}: " + " | ".join(_samples(sampler, 3, t, options.seed + epoch)))

    callbacks = [
        keras.callbacks.BackupAndRestore(str(options.checkpoint_dir / "backup")),
        keras.callbacks.LearningRateScheduler(lambda e: options.learning_rate * (1 - e / epochs)),
        EpochEnd(),
    ]
    # a progress bar on a terminal, one line per epoch in a log file
    net.fit(batches.dataset(), validation_data=validation, epochs=epochs, callbacks=callbacks,
            verbose=1 if sys.stdout.isatty() else 2)

    char_model = keras_model.to_char_model(net, config, vocab)
    seconds = time.perf_counter() - start
    losses = [h["loss"] for h in history]
    validation_losses = [h["val_loss"] for h in history]
    epoch_seconds = [h["seconds"] for h in history]
    training = record({
        "data": {p.name: _sha256(Path(p)) for p in (options.song_titles, options.arxiv_titles)},
        "titles": len(examples), "characters": characters, "balance": options.balance,
        "validation_halves": len(held_out), "validation_share": options.validation_share,
        "batch_size": options.batch_size, "dropout": options.dropout, "learning_rate": options.learning_rate,
        "from": ("scratch" if options.from_scratch else f"the model in {options.init_from}"
                 if options.init_from is not None else "textgenrnn pretrained weights"),
        "final_loss": losses[-1] if losses else None,
        "final_validation_loss": validation_losses[-1] if validation_losses else None,
        "seconds": round(seconds, 1), "epoch_seconds": epoch_seconds,
    })
    char_model = dataclasses.replace(char_model, config=dataclasses.replace(char_model.config, training=training))
    paths = save_model(char_model, options.output_dir, options.name)
    derive_from_files(options.song_titles, options.arxiv_titles, options.output_dir, options.name)
    shutil.rmtree(options.checkpoint_dir / "backup", ignore_errors=True)
    temperature = options.sample_temperatures[-1]
    samples = _samples(Sampler(char_model), 5, temperature, 0)
    card = options.output_dir / "MODEL.md"
    card.write_text(model_card.render(char_model.config, samples, temperature), encoding="utf8")
    return TrainResult(paths, seconds, epoch_seconds, losses, validation_losses, len(examples), characters, samples)


def _samples(sampler: Sampler, count: int, temperature: float, seed: int) -> list[str]:
    """count song halves and count paper phrases as the network writes them, unscreened."""
    wanted = [Halves(source, count, limit) for source, limit in HALF_MAX_CHARS.items()]
    return [text for half in sampler.sample_halves(wanted, [temperature], np.random.default_rng(seed))
            for text, _ in half]
