"""Cold start of `bot --dry-run` (new process: imports, model and evidence load, 300-candidate
pool, screening, ranking, output). Target: well under 10 s on 2 cores. Run: python bench/dry_run.py
"""
from __future__ import annotations

import statistics
import sys

from common import run_measured, table


def main(runs: int = 5):
    results = [run_measured([sys.executable, "-m", "bot", "--dry-run", "--seed", str(s)]) for s in range(runs)]
    seconds = [r[0] for r in results]
    rss = [r[1] for r in results]
    print(table(["runs", "median s", "max s", "max peak RSS MB"],
                [[runs, statistics.median(seconds), max(seconds), max(rss)]]))


if __name__ == "__main__":
    main()
