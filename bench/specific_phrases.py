"""Specific phrases (issue 18's proxy): how many paper phrases a model writes that readers could
rate 4-5, for a model directory against the shipped one, on the same seeds.

A *specific phrase* is a sampled paper phrase that passes the half guards
(bot.curation.mashups.half_rejection: length, dangling word, repeated word, salad, invented word),
has two or more words, has a word outside the 300 most frequent words of the corpus' paper
phrases (bot.training.halves.paper_phrases over data/arxiv_titles.txt), and has every
neighbouring word pair in some real paper phrase. On earlier panels' real items such phrases
scored 3.29 with 35% rated 4-5, against 3.11 and 20% for the rest (issue 18).

Two counts, each the mean over the seeds of distinct specific phrases:
- per 1,000 samples (the generator): 1,000 paper phrases sampled across the temperatures;
- per pool (generator and volume): the paper phrases one pool keeps (bot.curation.pipeline:
  pool_size / 2 x paper volume sampled, screened as the worker screens them, modal ones dropped,
  pool_size / 2 kept by the worker's paper choice), with each side's own pool size and volume
  (--pool-size, --paper-volume: default the worker's; --baseline-pool-size, --baseline-volume:
  default 1, as before issue 18).
Both sides use the shipped evidence (model_weights): word statistics and known halves depend on
the corpora, not the network. Real phrases (a random 150 per seed, through the same guards)
are shown for scale.

Run: python bench/specific_phrases.py model_weights --baseline OLD_MODEL_DIR   # the worker's volume against 1
     python bench/specific_phrases.py trained_model/2x384 [--seeds 0-9] [--pool-size 300] [--paper-volume 1]
     python bench/specific_phrases.py .train-checkpoints/2x384/epoch_5
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from common import ARXIV, ROOT, table

from bot.curation import mashups, pipeline
from bot.curation.evidence import Evidence
from bot.curation.features import COMMON_WORDS  # a specific phrase has a word outside the 300 most frequent
from bot.curation.wordcheck import WordCheck
from bot.curation.words import words
from bot.model.modelfile import ModelPaths, load_model
from bot.model.sampler import Sampler
from bot.model.threads import limit_blas
from bot.training import corpus, halves
from bot.training.panel.sheets import parse_seeds



@dataclass(frozen=True)
class Reference:
    """What the corpus' paper phrases say: their most frequent words and their word pairs."""
    common: frozenset[str]
    pairs: frozenset[tuple[str, str]]
    phrases: tuple[str, ...]

    @classmethod
    def from_titles(cls, arxiv_titles: list[str], common_words: int = COMMON_WORDS) -> "Reference":
        phrases = halves.examples([], arxiv_titles)["arxiv"]
        counts: Counter = Counter()
        pairs = set()
        for phrase in phrases:
            found = words(phrase)
            counts.update(found)
            pairs.update(zip(found, found[1:]))
        return cls(frozenset(w for w, _ in counts.most_common(common_words)), frozenset(pairs), tuple(phrases))

    def is_specific(self, phrase: str) -> bool:
        """Two or more words, one of them outside the common words, every neighbouring pair real
        (the guards are checked by the caller)."""
        found = words(phrase)
        return (len(found) >= 2 and any(w not in self.common for w in found)
                and all(pair in self.pairs for pair in zip(found, found[1:])))


def generator_count(sampler: Sampler, evidence: Evidence, reference: Reference, samples: int,
                    temperatures: tuple[float, ...], seed: int) -> tuple[int, list[str]]:
    """Distinct specific phrases among `samples` paper phrases that pass the half guards."""
    check = WordCheck(evidence.stats)
    written = pipeline.sample_halves(sampler, "arxiv", samples, temperatures, seed, check)
    found = sorted({text for text, _ in written
                    if mashups.half_rejection(text, "arxiv", check, evidence.halves) is None
                    and reference.is_specific(text)})
    return len(found), found


def pool_count(sampler: Sampler, evidence: Evidence, reference: Reference, pool_size: int,
               temperatures: tuple[float, ...], seed: int, paper_volume: int = 1) -> int:
    """Distinct specific phrases among the paper phrases one pool of pool_size keeps: with a
    paper_volume above 1, pool_size / 2 * paper_volume sampled and pool_size / 2 of them kept by
    the worker's own paper choice (pipeline.select_papers: specific ones first)."""
    check = WordCheck(evidence.stats)
    written = pipeline.sample_halves(sampler, "arxiv", pool_size // 2 * paper_volume, temperatures, seed, check)
    kept, _ = pipeline.screen_halves(written, "arxiv", sampler, evidence, check)
    if paper_volume > 1:
        kept, _ = pipeline.select_papers(kept, pool_size // 2, evidence)
    return sum(reference.is_specific(h.text) for h in kept)


def measure(model_dir: Path, evidence: Evidence, reference: Reference, seeds: list[int], samples: int,
            pool_size: int, temperatures: tuple[float, ...], paper_volume: int = 1) -> dict:
    sampler = Sampler(load_model(ModelPaths.in_directory(model_dir)))
    start = time.perf_counter()
    per_thousand, per_pool, examples = [], [], []
    real = {p.casefold() for p in reference.phrases}
    for seed in seeds:
        n, found = generator_count(sampler, evidence, reference, samples, temperatures, seed)
        per_thousand.append(n * 1000 / samples)
        examples += found
        per_pool.append(pool_count(sampler, evidence, reference, pool_size, temperatures, seed, paper_volume))
    return {"model": str(model_dir), "size": f"{sampler.model.config.rnn_layers}x{sampler.model.config.rnn_size}",
            "pool_size": pool_size, "paper_volume": paper_volume, "per_1000": statistics.mean(per_thousand), "per_pool": statistics.mean(per_pool),
            "per_1000_by_seed": per_thousand, "per_pool_by_seed": per_pool,
            "copied_share": sum(e.casefold() in real for e in examples) / len(examples) if examples else 0.0,
            "examples": random.Random(0).sample(examples, min(12, len(examples))),
            "seconds": round(time.perf_counter() - start, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model_dir", type=Path, help="the model to measure (a trained_model folder or an epoch checkpoint)")
    ap.add_argument("--baseline", type=Path, default=ROOT / "model_weights", help="default: the shipped model")
    ap.add_argument("--seeds", default="0-9", help="seeds, the same for both models, e.g. 0-9 or 1,3,7-9 "
                    "(the shipped model writes about one specific phrase per pool: few seeds make noisy ratios)")
    ap.add_argument("--samples", type=int, default=1000, help="paper phrases sampled per seed for the generator count")
    ap.add_argument("--pool-size", type=int, default=300, help="the measured model's pool size (the worker's POOL_SIZE)")
    ap.add_argument("--baseline-pool-size", type=int, default=300, help="the baseline's pool size")
    ap.add_argument("--paper-volume", type=int, default=pipeline.PAPER_VOLUME,
                    help="the measured model's paper phrases sampled per one a pool keeps (the worker's)")
    ap.add_argument("--baseline-volume", type=int, default=1, help="the baseline's (1: before issue 18)")
    ap.add_argument("--temperatures", default="0.5,0.7,0.9", help="the worker's TEMPERATURES")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    limit_blas(1)  # one core: the machine is shared with training
    seeds = parse_seeds(args.seeds)
    temperatures = tuple(float(t) for t in args.temperatures.split(","))
    evidence = Evidence.load(ROOT / "model_weights", "mashup")
    reference = Reference.from_titles(corpus.clean_titles(corpus.read_titles(ARXIV), max_chars=10**6))

    baseline = measure(args.baseline, evidence, reference, seeds, args.samples, args.baseline_pool_size, temperatures,
                       args.baseline_volume)
    measured = measure(args.model_dir, evidence, reference, seeds, args.samples, args.pool_size, temperatures,
                       args.paper_volume)
    check = WordCheck(evidence.stats)
    real = statistics.mean(sum(mashups.half_rejection(p, "arxiv", check, evidence.halves) is None
                               and reference.is_specific(p) for p in random.Random(s).sample(reference.phrases, 150))
                           for s in seeds)
    ratio = lambda key: measured[key] / baseline[key] if baseline[key] else float("inf")  # noqa: E731
    rows = [[f"{r['model']} ({r['size']})", r["pool_size"], r["paper_volume"], r["per_1000"], r["per_pool"], r["seconds"]]
            for r in (baseline, measured)]
    print(table(["model", "pool size", "paper volume", "specific per 1,000 samples", "specific per pool", "seconds"], rows))
    print(f"\nratios to the baseline: per 1,000 samples {ratio('per_1000'):.2f}x (target 5x), "
          f"per pool {ratio('per_pool'):.2f}x (target 20x); seeds {args.seeds}, temperatures {args.temperatures}")
    print(f"real paper phrases: {real:.1f} specific per 150; specific phrases that are real ones, copied: "
          f"baseline {100 * baseline['copied_share']:.0f}%, measured {100 * measured['copied_share']:.0f}%")
    print("examples from the measured model: " + " | ".join(measured["examples"]))
    if args.json:
        args.json.write_text(json.dumps({"baseline": baseline, "measured": measured, "real_per_150": real,
                                         "ratio_per_1000": ratio("per_1000"), "ratio_per_pool": ratio("per_pool")},
                                        indent=1))


if __name__ == "__main__":
    sys.exit(main())
