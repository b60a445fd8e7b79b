"""The posting worker's steady RSS and its growth over many fast cycles, in one process.

Each cycle regenerates the pool from the shipped model and runs the posting job against a local
Mastodon API server (tests/fake_mastodon.py) with the clock moved one interval on, so every cycle
posts. Targets: steady RSS at most 150 MB; no growth. Baseline: the peak RSS of textgenrnn's
own process generating titles, measured in the same run.
Run: python bench/worker_memory.py [--cycles 1000] [--pool-size 100] [--model-dir DIR]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

from common import REFERENCE, ROOT, run_measured, table

sys.path.insert(0, str(ROOT / "tests"))
from fake_mastodon import TOKEN, FakeMastodon  # noqa: E402

from bot.posting.daemon import pool_maker  # noqa: E402
from bot.runtime import Runtime  # noqa: E402
from bot.posting.gateway import Gateway  # noqa: E402
from bot.posting.settings import load  # noqa: E402
from bot.store import open_store  # noqa: E402
from bot.posting.worker import Worker  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--pool-size", type=int, default=100)
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights",
                    help="another model directory (with its evidence files)")
    args = ap.parse_args()
    samples = []
    with FakeMastodon(max_characters=10**6) as server, tempfile.TemporaryDirectory() as tmp:
        settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                         "DATABASE_URL": f"sqlite:///{tmp}/state.sqlite3", "POST_INTERVAL": "1h",
                         "POOL_SIZE": str(args.pool_size), "BOT_MODEL_DIR": str(args.model_dir)})
        clock = [1_800_000_000.0]
        worker = Worker(settings, open_store(settings.database_url), Gateway(server.url, TOKEN, 5), "1",
                        pool_maker(settings, Runtime.load(settings.model_dir), 100), threading.Event(),
                        clock=lambda: clock[0])
        for cycle in range(args.cycles):
            worker.refill()
            worker.tick()
            server.statuses.clear()  # the fake server's memory is not the worker's
            server.by_key.clear()
            server.keys_seen.clear()
            clock[0] += 3600
            if cycle % max(1, args.cycles // 20) == 0 or cycle == args.cycles - 1:
                samples.append((cycle, rss_mb()))
        posted = len(worker.store.posts())
    warm = [r for c, r in samples if c >= args.cycles // 10]
    _, ref_mb, _ = run_measured([sys.executable, str(REFERENCE), "generate", "-n", "2"])
    rows = [["textgenrnn generate() process (baseline), peak", ref_mb, "", ""],
            [f"bot worker, {args.cycles} cycles ({posted} posts)", warm[0], warm[-1], warm[-1] - warm[0]]]
    print(table(["process", "RSS MB (after warm-up)", "RSS MB (end)", "growth MB"], rows))
    print("\nRSS by cycle: " + ", ".join(f"{c}: {r:.1f}" for c, r in samples))


if __name__ == "__main__":
    main()
