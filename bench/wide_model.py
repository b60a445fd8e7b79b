"""The shipped model widened to 2 x N LSTM units, for measuring a larger network's cost: its
extra units have zero weights, so it writes exactly the shipped model's text (a zero unit's
gates stay at 0.5 and its cell at 0) while every product has the wider network's shapes.
Random weights would write random characters, in rows whose lengths no trained model gives.

Run: python bench/wide_model.py DIR [--units 384]: DIR gets the widened model and a copy of the
shipped evidence files, so `bot`, bench/pool.py --model-dir and bench/worker_memory.py
--model-dir run on it.
"""
from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
from pathlib import Path

import numpy as np

from common import ROOT

sys.path.insert(0, str(ROOT))
from bot.model.modelfile import CharModel, LSTMWeights, ModelPaths, load_model, save_model  # noqa: E402


def widen(model: CharModel, units: int) -> CharModel:
    """The model with every LSTM layer widened to `units`, the new units' weights zero."""
    u, e = model.lstms[0].recurrent.shape[0], model.embedding.shape[1]

    def gates(matrix, rows):
        out = np.zeros((rows, 4 * units), np.float32)
        for g in range(4):  # Keras' gate blocks i, f, c, o, each `units` wide now
            out[:matrix.shape[0], g * units:g * units + u] = matrix[:, g * u:(g + 1) * u]
        return out

    lstms = [LSTMWeights(gates(l.kernel, e if i == 0 else units), gates(l.recurrent, units), gates(l.bias[None], 1)[0])
             for i, l in enumerate(model.lstms)]

    def features(v):  # [embedding | h_1 | h_2 ...], each h padded with zeros
        pad = np.zeros((units - u,) + v.shape[1:], np.float32)
        return np.concatenate([v[:e]] + [np.concatenate([v[e + i * u:e + (i + 1) * u], pad])
                                         for i in range(len(model.lstms))])

    training = {**(model.config.training or {}), "widened": f"zero units added to {u} per layer (bench/wide_model.py)"}
    config = dataclasses.replace(model.config, rnn_size=units, training=training)
    return dataclasses.replace(model, config=config, lstms=lstms, attention=features(model.attention),
                               output_kernel=features(model.output_kernel))


def write(directory: Path, units: int) -> ModelPaths:
    """The widened shipped model and the shipped evidence files in directory."""
    shipped = ModelPaths.in_directory(ROOT / "model_weights")
    directory.mkdir(parents=True, exist_ok=True)
    for path in (ROOT / "model_weights").iterdir():
        if path.is_file() and path not in (shipped.weights, shipped.vocab, shipped.config):
            shutil.copy2(path, directory / path.name)
    return save_model(widen(load_model(shipped), units), directory, shipped.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", type=Path)
    ap.add_argument("--units", type=int, default=384)
    args = ap.parse_args()
    if args.units < 128:
        ap.error("--units must be at least the shipped model's 128")
    print(write(args.directory, args.units).config)


if __name__ == "__main__":
    main()
