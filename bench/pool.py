"""Pools built as the worker builds them (bot.curation.pipeline.build_pool: halves sampled,
screened, joined at seams, screened, featured and ranked), each in a fresh process with BLAS
pinned to one thread as the worker pins it: wall seconds, CPU seconds (start-up and loading
included, and the pool alone) and peak RSS.

Sizes: -n (default 1000: 500 song halves, 500 paper phrases) and --refresh (default 6000: 3000
paper phrases, twenty times the default pool's 150, with as many song halves). Side by side with
textgenrnn's generate() on its own (same-size) model, whose rate is measured on a few titles in
the same run and scaled to -n. Targets: -n pool at most 5 s and 150 MB; the refresh at most 60
CPU seconds on one core. --model-dir measures another model directory (a checkpoint of
`bot train`, with the shipped evidence files beside it).
Run: python bench/pool.py [-n 1000] [--refresh 6000] [--model-dir DIR] [--reference-n 2]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from common import REFERENCE, ROOT, run_measured, table

POOL = """
import json, sys, time
from bot.model.threads import limit_blas
limit_blas(1)
from bot.curation.pipeline import build_pool
from bot.runtime import Runtime
n, directory = int(sys.argv[1]), sys.argv[2]
runtime = Runtime.load(directory)
began = time.process_time()
pool = build_pool(runtime, n, [0.5, 0.7, 0.9], seed=0)
pool_cpu = time.process_time() - began
assert pool.sampled == n and pool.passing
print(json.dumps({"candidates": len(pool.candidates), "passing": len(pool.passing), "pool_cpu": pool_cpu,
                  "cpu": time.process_time(), "model": runtime.describe()}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--refresh", type=int, default=6000, help="halves of the refresh pool (0: skip it)")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    ap.add_argument("--reference-n", type=int, default=2)
    args = ap.parse_args()
    if args.n < 1 or args.reference_n < 1 or args.refresh < 0:
        ap.error("-n and --reference-n must be at least 1, --refresh at least 0")
    rows, runs = [], {}
    for size in [args.n] + ([args.refresh] if args.refresh else []):
        seconds, mb, out = run_measured([sys.executable, "-c", POOL, str(size), str(args.model_dir)])
        runs[size] = (seconds, mb, json.loads(out))
    _, ref_mb, ref_out = run_measured([sys.executable, str(REFERENCE), "generate", "-n", str(args.reference_n),
                                       "--temperature", "0.9"])
    # Its generation time only (start-up and model load excluded), scaled to the pool size.
    ref_scaled = json.loads(ref_out)["seconds"] / args.reference_n * args.n
    rows.append([f"textgenrnn generate(), {args.reference_n} titles scaled to {args.n}", ref_scaled, "", "", ref_mb,
                 1.0])
    for size, (seconds, mb, run) in runs.items():
        rows.append([f"bot pool, {size} halves ({run['candidates']} candidates, {run['passing']} passing)", seconds,
                     run["cpu"], run["pool_cpu"], mb, ref_scaled / seconds if size == args.n else ""])
    print(f"{runs[args.n][2]['model']}\n")
    print(table(["pool (fresh process)", "wall s", "CPU s", "CPU s, pool alone", "peak RSS MB",
                 "x faster than textgenrnn"], rows))
    seconds, mb, _ = runs[args.n]
    print(f"\ntargets: {args.n}-half pool <= 5 s ({'met' if seconds <= 5 else 'MISSED'}), "
          f"<= 150 MB ({'met' if mb <= 150 else 'MISSED'})", end="")
    if args.refresh:
        cpu = runs[args.refresh][2]["cpu"]
        print(f"; {args.refresh}-half refresh <= 60 CPU s ({'met' if cpu <= 60 else 'MISSED'})", end="")
    print()


if __name__ == "__main__":
    main()
