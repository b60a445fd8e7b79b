"""numpy's BLAS threads: `bot --dry-run` (a new process, the 300-candidate pool) with BLAS_THREADS
1 and 2, on an idle host and while a CPU hog (one busy process per core) runs beside it, which is
what a shared dyno or a busy CI box looks like. The bot pins the pool with threadpoolctl
(bot/model/threads.py); this chooses the default. Run: python bench/threads.py [runs]
(OPENBLAS_NUM_THREADS and friends are removed from the children's environment: they would cap
the pool before threadpoolctl sees it)."""
from __future__ import annotations

import multiprocessing
import os
import statistics
import subprocess
import sys
import time

from common import ROOT, table

CAPS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def _spin(stop):
    while not stop.is_set():
        sum(i * i for i in range(10_000))


class Hog:
    """One busy process per core, until the block ends."""

    def __enter__(self):
        self.stop = multiprocessing.Event()
        self.procs = [multiprocessing.Process(target=_spin, args=(self.stop,), daemon=True)
                      for _ in range(os.cpu_count() or 2)]
        for p in self.procs:
            p.start()
        time.sleep(0.5)
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for p in self.procs:
            p.join(5)


def dry_run_seconds(threads: int, seed: int) -> float:
    env = {k: v for k, v in os.environ.items() if k not in CAPS}
    env.update(BLAS_THREADS=str(threads), PYTHONPATH=str(ROOT))
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "bot", "--dry-run", "--seed", str(seed)], cwd=ROOT, env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        sys.exit(f"bot --dry-run failed: {done.stderr[-2000:]}")
    return time.perf_counter() - began


def main(runs: int = 3):
    rows = []
    for load in ("idle", "loaded"):
        for threads in (1, 2):
            if load == "loaded":
                with Hog():
                    seconds = [dry_run_seconds(threads, s) for s in range(runs)]
            else:
                seconds = [dry_run_seconds(threads, s) for s in range(runs)]
            rows.append([load, threads, runs, statistics.median(seconds), max(seconds)])
            print(rows[-1], file=sys.stderr)
    print(table(["host", "BLAS threads", "runs", "median s", "max s"], rows))


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
