"""Raw mix rate by strategy and temperature: the share of raw samples that pass mixedness and
novelty, with novelty and the real-word share, plus ten unedited samples per strategy.

Each strategy is a model directory and, for source-conditioned models, a switch probability,
":free" to let titles end before they use both corpora, ":raw" to keep every word the model
writes (no rewriting of invented words and of the other corpus' words).
Run: python bench/mixing.py LABEL=DIR[@SWITCH[:free][:raw]] ... [--samples 1000]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from bot.curation import mashups
from bot.curation.wordcheck import word_check
from bot.training.evaluation import evaluate
from bot.curation.evidence import Evidence
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler

TEMPERATURES = (0.5, 0.7, 0.9, 1.0)
BOT_TEMPERATURES = (0.5, 0.7, 0.9)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("strategies", nargs="+", help="LABEL=MODEL_DIR or LABEL=MODEL_DIR@SWITCH_PROBABILITY")
    ap.add_argument("--samples", type=int, default=1000)
    args = ap.parse_args()
    table = ["| strategy | temperature | mixed+novel (raw mix rate) | novel | real words | pass all |",
             "| --- | --- | --- | --- | --- | --- |"]
    summary, examples = [], []
    for spec in args.strategies:
        label, _, target = spec.partition("=")
        directory, _, policy = target.partition("@")
        switch, *flags = policy.split(":")
        use_both = False if "free" in flags else None
        rewrite = "raw" not in flags
        paths = ModelPaths.in_directory(directory)
        sampler = Sampler(load_model(paths))
        evidence = Evidence.load(Path(directory), paths.name)
        p = float(switch) if switch else None
        rows = evaluate(sampler, evidence, TEMPERATURES, args.samples, seed=0, switch_probability=p,
                        use_both=use_both, rewrite_words=rewrite)
        for r in rows:
            table.append(f"| {label} | {r.temperature:g} | {100 * r.mix_rate:.1f}% | {100 * r.novel:.1f}% | "
                         f"{100 * r.real_words:.1f}% | {100 * r.usable:.1f}% |")
        bot_rows = [r for r in rows if r.temperature in BOT_TEMPERATURES]
        summary.append((label, sum(r.mix_rate for r in bot_rows) / len(bot_rows),
                        sum(r.real_words for r in bot_rows) / len(bot_rows)))
        check = word_check(sampler, evidence) if rewrite else None
        if mashups.is_halves_model(sampler):
            titles = mashups.raw_mashups(sampler, list(evidence.seams), 10, 0.7, 0, check)
        else:
            titles = sampler.generate(10, temperature=0.7, seed=0, switch_probability=p, use_both=use_both,
                                      word_check=check)
        examples.append(f"**{label}** (temperature 0.7, seed 0):\n\n" + "\n".join(f"1. {t}" for t in titles))
    print("\n".join(table))
    base_mix, base_real = summary[0][1], summary[0][2]
    print("\n| strategy | raw mix rate at 0.5/0.7/0.9 (mean) | x baseline | real words (mean) |")
    print("| --- | --- | --- | --- |")
    for label, mix, real in summary:
        print(f"| {label} | {100 * mix:.1f}% | {mix / base_mix:.2f} | {100 * real:.1f}% |")
    print("\n" + "\n\n".join(examples))


if __name__ == "__main__":
    main()
