"""How close the sampler comes to what one core can compute, beside the previous sampler.

Both samplers write halves as the pool asks for them: --songs song halves and --papers paper
phrases at the worker's temperatures (0.5, 0.7, 0.9), the word check on (bot.curation.wordcheck
over the shipped word statistics). Two networks, each measured with both samplers: the shipped
model (2 x 384 since 3e94eb2) and the model the baseline commit shipped (2 x 128).
Sides, each in a fresh process with BLAS pinned to one thread as the worker pins it
(bot/model/threads.py), alternating, best of --repeats by CPU time of the sampling call alone:
- this checkout: one Sampler.sample_halves call, both corpora and every temperature in one batch
  of up to 256 rows;
- the previous sampler, git commit --baseline (the last one before it; run from `git archive`):
  Sampler.generate per temperature in batches of 250 through the corpus-tag policy, as its pool did.

The FLOP limit: one core's float32 GEMM rate at the sampler's product shapes (256 rows by U x 4U,
2U x 4U and D x V: bot.model.network.Network), measured in this run, best of several. A run's
useful work is its draws (one per live row per step: each needs one token read and one output)
times the multiply-adds of a step (Network.flops_per_step); the fraction of the FLOP limit is
that work at the limit rate over the CPU seconds taken. textgenrnn's own generate() (its
pretrained 2 x 128 network, --reference-n titles) gives the characters per second it reaches.

Where the time goes: one further run per side under cProfile (which slows both), by section.
Run: python bench/sampler_speed.py [--papers 3000] [--songs 150] [--repeats 3] [--reference-n 2]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from common import ROOT, run_reference, table

BASELINE = "e47df62~1"  # the last commit before the wide-batch sampler
TEMPERATURES = (0.5, 0.7, 0.9)
LIMITS = {"song": 40, "arxiv": 50}  # bot.curation.mashups.HALF_MAX_CHARS

CHILD = r"""
import cProfile, json, pstats, sys, time
tree, side, model_dir, songs, papers, seed, profile = sys.argv[1:8]
sys.path.insert(0, tree)
from bot.model.threads import limit_blas
limit_blas(1)
import numpy as np
from bot.curation.evidence import WordStats
from bot.curation.wordcheck import WordCheck
from bot.model import sampler as S
from bot.model.modelfile import ModelPaths, load_model
assert S.__file__.startswith(tree), S.__file__
sampler = S.Sampler(load_model(ModelPaths.in_directory(model_dir)))
check = WordCheck(WordStats.load(__import__("pathlib").Path(sys.argv[8]) / "mashup_words.json.gz"))
temperatures, limits = (0.5, 0.7, 0.9), {"song": 40, "arxiv": 50}
draws = [0]
if side == "old":
    from bot.model.sources import CorpusTags
    drawn = S.sample_indices
    def counting(probs, *a):
        draws[0] += len(probs)
        return drawn(probs, *a)
    S.sample_indices = counting

    def halves(source, count):
        out = []
        for i, t in enumerate(temperatures):
            n = count // 3 + (i < count % 3)
            rng = np.random.default_rng(int(seed) * 1000 + i)
            for start in range(0, n, 250):
                out += sampler.generate(min(250, n - start), temperature=t, seed=rng, max_gen_length=limits[source] + 2,
                                        batch_size=250, policy=CorpusTags(0.0, False, check, None, source))
        return out
    def run():
        return halves("song", int(songs)) + halves("arxiv", int(papers))
else:
    from bot.model.sampler import Halves
    def run():
        wanted = [Halves("song", int(songs), limits["song"]), Halves("arxiv", int(papers), limits["arxiv"])]
        return [t for half in sampler.sample_halves(wanted, temperatures, np.random.default_rng(int(seed)), check)
                for t, _ in half]

run() if not int(profile) else None  # warm-up: allocations, first-call costs
draws[0] = sampler.row_steps = 0
if int(profile):
    profiler = cProfile.Profile()
    profiler.enable()
began = time.thread_time()
texts = run()
seconds = time.thread_time() - began
out = {"seconds": seconds, "chars": sum(map(len, texts)), "halves": len(texts),
       "draws": draws[0] if side == "old" else sampler.row_steps}
if int(profile):
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    out["profile"] = [[f[0], f[1], f[2], v[3]] for f, v in stats.items()]  # file, line, function, cumulative s
print(json.dumps(out))
"""

# Sections of the profile: (name, functions whose cumulative time it is, functions inside those
# counted elsewhere), functions by qualified name in bot/model.
SECTIONS = {
    "new": [
        ("LSTM layers (2 products, gates)", ["Network.lstm_step"], []),
        ("attention (running sums, windows)", ["Rows.read"], ["Network.lstm_step"]),
        ("output (product, exp)", ["Rows.weights"], []),
        ("draw", ["_draw"], []),
        ("corpus tokens, word checks, rewrites", ["_Words.adjust", "_Words.review"], []),
    ],
    "old": [
        ("LSTM layers (2 products, gates)", ["_Network.run"], []),
        ("attention buffer, compaction copies", ["_IncrementalContext.advance", "_IncrementalContext.start"],
         ["_Network.run"]),
        ("output (attention pooling, product, softmax)", ["_IncrementalContext.probabilities"], []),
        ("draw", ["sample_indices"], []),
        ("corpus tokens, word checks, rewrites", ["CorpusTagPolicy.adjust", "CorpusTagPolicy.review"], []),
    ],
}
TOTAL = {"new": "Sampler._decode", "old": "Sampler._generate_batch"}


def gemm_seconds(rows: int, k: int, n: int, repeats: int = 7) -> float:
    """Best one-thread CPU seconds of one (rows, k) x (k, n) float32 product."""
    a = np.random.default_rng(0).standard_normal((rows, k), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((k, n), dtype=np.float32)
    out = np.empty((rows, n), np.float32)
    times = max(3, int(2e8 / (2 * rows * k * n)))
    best = float("inf")
    for _ in range(repeats):
        began = time.thread_time()
        for _ in range(times):
            np.matmul(a, b, out=out)
        best = min(best, (time.thread_time() - began) / times)
    return best


def limit_rate(net, rows: int = 256) -> float:
    """One core's FLOP/s at the sampler's product shapes, weighted by each product's FLOPs."""
    u, d, v = net.units, net.features, net.classes
    shapes = [(u, 4 * u)] + [(2 * u, 4 * u)] * (net.layers - 1) + [(d, v)]
    flops = sum(2 * rows * k * n for k, n in shapes)
    return flops / sum(gemm_seconds(rows, k, n) for k, n in shapes)


def child(tree: Path, side: str, model_dir: Path, args, profile: bool = False) -> dict:
    argv = [sys.executable, "-c", CHILD, str(tree), side, str(model_dir), str(args.songs), str(args.papers),
            str(args.seed), str(int(profile)), str(ROOT / "model_weights")]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=tree)
    if done.returncode:
        sys.exit(f"{side} sampler failed: {done.stderr[-3000:]}")
    return json.loads(done.stdout)


def qualified(path: str, line: int, function: str, cache: dict) -> str:
    """Class.function for a function of a bot/model file (by the class its line is in)."""
    import ast

    if path not in cache:
        tree = ast.parse(Path(path).read_text(encoding="utf8"))
        cache[path] = {f.lineno: f"{c.name}.{f.name}" for c in tree.body if isinstance(c, ast.ClassDef)
                       for f in c.body if isinstance(f, ast.FunctionDef)}
    return cache[path].get(line, function)


def sections(side: str, profile: list) -> list[tuple[str, float]]:
    """Each section's share of the sampling time, from a profile's cumulative times."""
    cumulative, cache = {}, {}
    for path, line, function, seconds in profile:
        if "/bot/model/" in path:
            name = qualified(path, line, function, cache)
            cumulative[name] = cumulative.get(name, 0.0) + seconds
    total = cumulative[TOTAL[side]]
    out = []
    for name, inside, minus in SECTIONS[side]:
        seconds = sum(cumulative.get(k, 0.0) for k in inside) - sum(cumulative.get(k, 0.0) for k in minus)
        out.append((name, seconds / total))
    out.append(("loop and bookkeeping (the rest)", 1 - sum(s for _, s in out)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--songs", type=int, default=150, help="song halves per run (the default pool's)")
    ap.add_argument("--papers", type=int, default=3000, help="paper phrases per run (20 x the default pool's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--baseline", default=BASELINE, help="git commit of the previous sampler")
    ap.add_argument("--reference-n", type=int, default=2, help="textgenrnn titles (0: skip it)")
    args = ap.parse_args()
    if min(args.songs, args.papers) < 0 or args.songs + args.papers < 1 or args.repeats < 1:
        ap.error("--songs and --papers must be >= 0 (not both 0), --repeats >= 1")

    sys.path.insert(0, str(ROOT))
    from bot.model.modelfile import ModelPaths, load_model
    from bot.model.network import Network
    from bot.model.threads import limit_blas

    limit_blas(1)
    with tempfile.TemporaryDirectory(prefix="sampler-speed-") as tmp:
        base = Path(tmp) / "baseline"
        base.mkdir()
        archive = subprocess.run(["git", "archive", args.baseline, "bot", "model_weights"], cwd=ROOT,
                                 capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        networks = {}
        for model_dir, whose in ((base / "model_weights", f"model of {args.baseline}"),
                                 (ROOT / "model_weights", "shipped")):
            net = Network(load_model(ModelPaths.in_directory(model_dir)))
            networks[f"{net.layers} x {net.units} ({whose})"] = (model_dir, net)
        rows, profiles = [], {}
        for label, (model_dir, net) in networks.items():
            best = {}
            for _ in range(args.repeats):
                for side, tree in (("old", base), ("new", ROOT)):
                    run = child(tree, side, model_dir, args)
                    if side not in best or run["seconds"] < best[side]["seconds"]:
                        best[side] = run
                    print(f"{label} {side}: {run['seconds']:.2f} s", file=sys.stderr)
            rate = limit_rate(net)
            for side, name in (("old", f"previous ({args.baseline})"), ("new", "this checkout")):
                run = best[side]
                limit = run["draws"] * net.flops_per_step() / rate
                rows.append([label, name, run["halves"], run["chars"], run["seconds"], run["chars"] / run["seconds"],
                             run["draws"] / run["chars"], rate / 1e9, limit / run["seconds"],
                             best["old"]["seconds"] / run["seconds"]])
            profiles[label] = {side: sections(side, child(tree, side, model_dir, args, profile=True)["profile"])
                               for side, tree in (("old", base), ("new", ROOT))}
    print(table(["network", "sampler", "halves", "chars", "CPU s", "chars/s", "draws/char", "limit GFLOP/s",
                 "fraction of FLOP limit", "x previous"], rows))
    if args.reference_n:
        reference = run_reference("generate", "-n", str(args.reference_n), "--temperature", "0.7")
        small = next(r for r in rows if r[0].startswith("2 x 128") and r[1] == "this checkout")
        print(f"\ntextgenrnn generate() (its pretrained 2 x 128 network, {args.reference_n} titles, wall clock): "
              f"{reference['chars_per_second']:,.1f} chars/s; this checkout's 2 x 128 (CPU time): "
              f"{small[5] / reference['chars_per_second']:,.0f} x that")
    for label, by_side in profiles.items():
        print(f"\nWhere the time goes, {label} (share of sampling time, under cProfile):\n")
        for side, name in (("old", "previous sampler"), ("new", "this checkout")):
            print(table([f"{name}: section", "share"], [[n, f"{100 * s:.0f}%"] for n, s in by_side[side]]))
            print()


if __name__ == "__main__":
    main()
