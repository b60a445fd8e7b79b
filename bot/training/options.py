"""`bot train`'s options, each declared once: bot/cli.py builds the command-line flags (with this
help and these defaults) from the fields. Light on purpose: the CLI imports it to build its parser,
so it must not pull in TensorFlow or the training code."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .corpus import BALANCE_MODES, DEFAULT_PATHS
from ..model.modelfile import TEXTGENRNN_CONFIG


def _option(default, help: str, positive: bool = False, choices: tuple | None = None, cli: bool = True):
    """A field with its command-line help; positive: the flag takes whole numbers >= 1."""
    return field(default=default, metadata={"help": help, "positive": positive, "choices": choices, "cli": cli})


@dataclass
class TrainOptions:
    song_titles: Path = _option(DEFAULT_PATHS["song"], "song titles, one per line")
    arxiv_titles: Path = _option(DEFAULT_PATHS["arxiv"], "arXiv paper titles, one per line")
    output_dir: Path = _option(Path("trained_model"), "where the model is written (the shipped model is "
                               "model_weights: a trial run must not replace it)")
    name: str = _option("mashup", "file name prefix of the model files")
    epochs: int = _option(2, "passes over the training halves", positive=True)
    batch_size: int = _option(128, "titles per training batch", positive=True)
    dropout: float = _option(0.2, "spatial dropout on the character embeddings")
    max_length: int = _option(TEXTGENRNN_CONFIG["max_length"], "attention window in characters", positive=True)
    rnn_size: int = _option(TEXTGENRNN_CONFIG["rnn_size"], "units per LSTM layer (textgenrnn's pretrained "
                            "weights need its sizes)", positive=True)
    rnn_layers: int = _option(TEXTGENRNN_CONFIG["rnn_layers"], "LSTM layers", positive=True)
    dim_embeddings: int = _option(TEXTGENRNN_CONFIG["dim_embeddings"], "character embedding size", positive=True)
    from_scratch: bool = _option(False, "new weights and vocabulary instead of textgenrnn's pretrained ones")
    init_from: Path | None = _option(None, "start from this model directory's weights and vocabulary instead "
                                     "of textgenrnn's (to train a model further, e.g. model_weights)")
    balance: str = _option("chars", "give both sources the same number of characters or titles (see "
                           "corpus.balance)", choices=BALANCE_MODES)
    max_chars: int = _option(140, "drop longer titles (about 1%% of the arXiv side)", positive=True)
    validation_share: float = _option(0.02, "share of the unique song halves and paper phrases held out (chosen "
                                      "by --seed) to measure the validation loss after each epoch; 0: none")
    learning_rate: float = _option(4e-3, "first learning rate (textgenrnn's), decayed linearly to 0 over the "
                                   "epochs")
    seed: int = _option(0, "random seed (shuffling, dropout, initial weights)")
    limit: int | None = _option(None, "use only the first N titles of each file, for quick runs", positive=True)
    sample_temperatures: tuple = _option((0.5, 0.8, 1.0), "temperatures of the samples shown after each epoch")
    checkpoint_dir: Path = _option(Path(".train-checkpoints"), "per-epoch checkpoints; rerunning the same "
                                   "command resumes from here")
