"""Titles per second: the numpy sampler against textgenrnn's generate(), same model and temperature.

Both sides use textgenrnn's pretrained network (2 x 128 LSTM, window 40) at temperature 0.5:
the numpy sampler once in exact textgenrnn mode and once in incremental mode (same weights read
with one LSTM step per character). Run: python bench/sampler_speed.py [--reference-n 10]
"""
from __future__ import annotations

import argparse
import dataclasses
import time

from common import run_reference, table

from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler


def measure(sampler: Sampler, n: int, temperature: float) -> tuple[float, float]:
    sampler.generate(8, temperature=temperature, seed=99)  # warm-up (padding cache, allocations)
    start = time.perf_counter()
    titles = sampler.generate(n, temperature=temperature, seed=0)
    seconds = time.perf_counter() - start
    return n / seconds, sum(map(len, titles)) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference-n", type=int, default=10)
    ap.add_argument("-n", type=int, default=500)
    ap.add_argument("--temperature", type=float, default=0.5)
    args = ap.parse_args()

    reference = run_reference("generate", "-n", str(args.reference_n), "--temperature", str(args.temperature))
    base_titles, base_chars = reference["texts_per_second"], reference["chars_per_second"]
    model = load_model(ModelPaths.pretrained())
    rows = [["textgenrnn generate() (baseline)", args.reference_n, base_titles, base_chars, 1.0, 1.0]]
    for semantics in ("textgenrnn", "incremental"):
        variant = dataclasses.replace(model, config=dict(model.config, semantics=semantics))
        titles, chars = measure(Sampler(variant), args.n, args.temperature)
        rows.append([f"numpy sampler, {semantics} mode", args.n, titles, chars,
                     titles / base_titles, chars / base_chars])
    print(table(["generator", "titles", "titles/s", "chars/s", "x titles/s", "x chars/s"], rows))


if __name__ == "__main__":
    main()
