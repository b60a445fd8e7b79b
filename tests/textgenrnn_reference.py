#!/usr/bin/env python3
"""textgenrnn 2.0.0 itself, run on today's TensorFlow: the oracle the parity tests and benches use.

The bot reimplements textgenrnn's network in numpy (bot/model/sampler.py). To check that it computes
what textgenrnn computes, this script runs textgenrnn's own package code, not a copy of it. Never
import it from `bot/`: it needs TensorFlow, which the worker must not load.

textgenrnn 2.0.0 (PyPI, 2020) does not import on a TensorFlow that supports Python 3.11, for three
things this script patches before the import, none of which changes any arithmetic:
  * `from tensorflow.keras.utils import multi_gpu_model`: removed in TensorFlow 2.4. Only used for
    multi-GPU training; set to None.
  * `from keras.backend.tensorflow_backend import set_session`: a Keras 2.2 module. Only used to
    configure sessions; replaced by an empty module whose set_session does nothing.
  * Keras 3 is not the Keras textgenrnn was written for: TF_USE_LEGACY_KERAS=1 selects tf-keras
    (Keras 2 API, installed by the [test] extra).
  * numpy 2's np.meshgrid returns a tuple where textgenrnn's training code hands it to np.block,
    which needs a list; wrapped to return a list.

Needs: tensorflow>=2.16, tf-keras, textgenrnn (the [test] extra). textgenrnn writes a weights file
into the working directory: run it in a temporary one.

Usage (each prints one JSON object on stdout; Keras' progress output goes to stderr):
  textgenrnn_reference.py probs PREFIX...      next-character probabilities after each prefix,
      {"max_length", "vocab": {char: index}, "results": [{"prefix", "probs": [float]}]}
  textgenrnn_reference.py generate [-n N] [--temperature T] [--max-gen-length L]
      textgenrnn.generate(N): {"n", "seconds", "texts_per_second", "chars_per_second", "texts"}
  textgenrnn_reference.py train FILE [--epochs E]
      textgenrnn.train_on_texts on FILE's non-empty lines:
      {"texts", "epochs", "seconds", "windows_per_second"}
Options before the command: --weights, --vocab, --config (default: textgenrnn's pretrained model).
"""
import argparse
import contextlib
import json
import os
import sys
import time
import types

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _make_textgenrnn_importable() -> None:
    """The import-time shims described in the module docstring."""
    import numpy as np
    import tensorflow.keras.utils as keras_utils

    keras_utils.multi_gpu_model = None
    backend = types.ModuleType("keras.backend.tensorflow_backend")
    backend.set_session = lambda *args, **kwargs: None
    sys.modules[backend.__name__] = backend

    original_meshgrid = np.meshgrid

    def meshgrid_as_list(*args, **kwargs):
        return list(original_meshgrid(*args, **kwargs))

    np.meshgrid = meshgrid_as_list


def _load(options):
    """(textgenrnn instance, textgenrnn's own sequence encoder)."""
    _make_textgenrnn_importable()
    from textgenrnn import textgenrnn
    from textgenrnn.utils import textgenrnn_encode_sequence

    model = textgenrnn(weights_path=options.weights, vocab_path=options.vocab, config_path=options.config)
    return model, textgenrnn_encode_sequence


def probabilities(options) -> dict:
    """What generate() feeds the network for each prefix (the meta token, then the prefix's characters,
    the last max_length of them, padded in front with index 0) and the distribution it gets back."""
    import numpy as np

    model, encode = _load(options)
    window = model.config["max_length"]
    results = []
    for prefix in options.prefix:
        tokens = [model.META_TOKEN, *prefix][-window:]
        batch = encode(tokens, model.vocab, window)
        distribution = model.model.predict(batch, batch_size=1, verbose=0)[0]
        results.append({"prefix": prefix, "probs": [float(p) for p in np.asarray(distribution)]})
    return {"max_length": window, "vocab": {str(char): index for char, index in model.vocab.items()},
            "results": results}


def generation(options) -> dict:
    model, _ = _load(options)
    started = time.perf_counter()
    texts = model.generate(options.n, return_as_list=True, temperature=options.temperature,
                           max_gen_length=options.max_gen_length, progress=False)
    seconds = time.perf_counter() - started
    return {"n": options.n, "seconds": seconds, "texts_per_second": options.n / seconds,
            "chars_per_second": sum(len(t) for t in texts) / seconds, "texts": texts}


def training(options) -> dict:
    """One window per character plus one for the end token, as textgenrnn trains."""
    model, _ = _load(options)
    with open(options.file, encoding="utf-8") as lines:
        texts = [line.rstrip("\n") for line in lines if line.strip()]
    started = time.perf_counter()
    model.train_on_texts(texts, num_epochs=options.epochs, gen_epochs=0, verbose=0)
    seconds = time.perf_counter() - started
    windows = sum(len(t) + 1 for t in texts) * options.epochs
    return {"texts": len(texts), "epochs": options.epochs, "seconds": seconds,
            "windows_per_second": windows / seconds}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for name in ("--weights", "--vocab", "--config"):
        parser.add_argument(name)
    commands = parser.add_subparsers(dest="command", required=True)
    probs = commands.add_parser("probs")
    probs.add_argument("prefix", nargs="+")
    probs.set_defaults(run=probabilities)
    generate = commands.add_parser("generate")
    generate.add_argument("-n", type=int, default=10)
    generate.add_argument("--temperature", type=float, default=1.0)
    generate.add_argument("--max-gen-length", type=int, default=300)
    generate.set_defaults(run=generation)
    train = commands.add_parser("train")
    train.add_argument("file")
    train.add_argument("--epochs", type=int, default=1)
    train.set_defaults(run=training)
    return parser


def main() -> None:
    options = _parser().parse_args()
    with contextlib.redirect_stdout(sys.stderr):  # Keras writes progress bars to stdout
        answer = options.run(options)
    print(json.dumps(answer))


if __name__ == "__main__":
    main()
