"""A pool of 1,000 samples from the shipped model, built as the worker builds it (for the halves
model: 500 song halves and 500 paper phrases, paired at seams, screened and ranked): wall time and
peak RSS of a fresh process.

Side by side with textgenrnn's generate() on its own (same-size) model, whose rate is measured on
a few titles in the same run and scaled to 1,000. Targets: at most 5 s and 150 MB.
Run: python bench/pool.py
"""
from __future__ import annotations

import argparse
import json
import sys

from common import REFERENCE, ROOT, run_measured, table

POOL = """
import sys
from bot.curation.pipeline import build_pool
from bot.runtime import Runtime
n, directory = int(sys.argv[1]), sys.argv[2]
pool = build_pool(Runtime.load(directory), n, [0.5, 0.7, 0.9], seed=0)
assert pool.sampled == n and pool.passing
print(len(pool.candidates), len(pool.passing))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=1000)
    ap.add_argument("--reference-n", type=int, default=5)
    args = ap.parse_args()
    if args.n < 1 or args.reference_n < 1:
        ap.error("-n and --reference-n must be at least 1")
    ours_s, ours_mb, ours_out = run_measured([sys.executable, "-c", POOL, str(args.n), str(ROOT / "model_weights")])
    candidates, passing = (int(x) for x in ours_out.split())
    _, ref_mb, ref_out = run_measured([sys.executable, str(REFERENCE),
                                     "generate", "-n", str(args.reference_n), "--temperature", "0.9"])
    # Its generation time only (start-up and model load excluded), scaled to the pool size.
    ref_scaled = json.loads(ref_out)["seconds"] / args.reference_n * args.n
    rows = [[f"textgenrnn generate(), {args.reference_n} titles scaled to {args.n}", ref_scaled, ref_mb, 1.0],
            [f"bot pool, {args.n} samples ({candidates} candidates, {passing} passing), fresh process",
             ours_s, ours_mb, ref_scaled / ours_s]]
    print(table(["pool", "seconds", "peak RSS MB", "x faster"], rows))
    print(f"\ntargets: <= 5 s ({'met' if ours_s <= 5 else 'MISSED'}), "
          f"<= 150 MB ({'met' if ours_mb <= 150 else 'MISSED'})")


if __name__ == "__main__":
    main()
