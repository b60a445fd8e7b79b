"""Seconds per epoch on the full corpora: `bot train` against textgenrnn's train_on_texts.

Both train on the same texts: every halves example (bot/training/halves.py: bare song titles and
paper phrases) of both files, no balancing, no validation split, batch 128,
textgenrnn's 2 x 128 LSTM from its pretrained weights. textgenrnn is measured on a subset (its
cost is linear in the number of windows, one per character) and scaled to the full set.
Run: python bench/training.py [--reference-titles 400]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

from common import ARXIV, SONGS, run_reference, table

from bot.training import corpus, halves
from bot.training.train import TrainOptions, train


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reference-titles", type=int, default=400)
    args = ap.parse_args()
    clean = {name: corpus.clean_titles(corpus.read_titles(path), 140) for name, path in (("song", SONGS), ("arxiv", ARXIV))}
    titles = [t for examples in halves.examples(clean["song"], clean["arxiv"]).values() for t in examples]
    windows = sum(len(t) + 1 for t in titles)  # textgenrnn: one window per character and one end token

    with tempfile.TemporaryDirectory() as tmp:
        subset = random.Random(0).sample(titles, args.reference_titles)
        subset_file = Path(tmp) / "subset.txt"
        subset_file.write_text("\n".join(subset) + "\n", encoding="utf8")
        ref = run_reference("train", str(subset_file), "--epochs", "1")
        ref_epoch = windows / ref["windows_per_second"]

        options = TrainOptions(song_titles=SONGS, arxiv_titles=ARXIV, output_dir=Path(tmp) / "out",
                               checkpoint_dir=Path(tmp) / "ck", epochs=1, balance="none", validation_share=0.0,
                               sample_temperatures=(1.0,))
        result = train(options, report=lambda line: print(line, file=sys.stderr))
    ours = result.epoch_seconds[0]
    rows = [[f"textgenrnn train_on_texts ({args.reference_titles} titles, scaled)", ref["windows_per_second"],
             ref_epoch, 1.0],
            ["bot train (full corpora, measured)", windows / ours, ours, ref_epoch / ours]]
    print(table(["trainer", "characters/s", "s per epoch", "x faster"], rows))
    print(f"\n{len(titles)} halves, {windows} characters per epoch")


if __name__ == "__main__":
    main()
