"""SIGTERM-to-exit of the `bot` worker at random moments, including during the first pool.

Each run starts `python -m bot` on a fresh SQLite database against the local test server
(tests/fake_mastodon.py) with POOL_SIZE=4000 (default), waits a random time (0 to --window
seconds after start: before the connection, while the model loads, while the first pool is
sampled, while posting), sends SIGTERM and measures until the process has exited. Target: exit
status 0 within 10 s every time. Run from bench/: python shutdown.py [--runs 8] [--pool-size 4000]
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, table

sys.path.insert(0, str(ROOT / "tests"))
from fake_mastodon import TOKEN, FakeMastodon  # noqa: E402


def phase(log: str) -> str:
    """What the worker was doing when it was told to stop, from its log."""
    if "pool regenerated" in log:
        return "after the first pool"
    if "started as" in log:
        return "first pool"
    return "start-up"


def one_run(server: FakeMastodon, pool_size: int, delay: float, workdir: Path) -> tuple[float, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTODON_", "POST_", "DATABASE_URL"))}
    env.update({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                "DATABASE_URL": f"sqlite:///{workdir / 'state.sqlite3'}", "POOL_SIZE": str(pool_size),
                "POST_INTERVAL": "1h", "CHECK_EVERY": "1s", "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    log_path = workdir / "bot.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "bot"], cwd=workdir, env=env, stdout=log,
                                stderr=subprocess.STDOUT)
        time.sleep(delay)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        took = time.monotonic() - sent
    return took, proc.returncode, phase(log_path.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--pool-size", type=int, default=4000)
    parser.add_argument("--window", type=float, default=25.0, help="SIGTERM at a uniform time in [0, window] s")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    rows, times = [], []
    with FakeMastodon() as server:
        for i in range(args.runs):
            delay = rng.uniform(0, args.window)
            with tempfile.TemporaryDirectory() as workdir:
                took, code, when = one_run(server, args.pool_size, delay, Path(workdir))
            times.append(took)
            rows.append([i + 1, delay, when, took, code])
            print(f"run {i + 1}: SIGTERM at {delay:.1f} s ({when}): exit {code} after {took:.2f} s", flush=True)
    print(table(["run", "SIGTERM after start (s)", "the worker was in", "exit after (s)", "exit status"], rows))
    print(f"\nmedian {statistics.median(times):.2f} s, max {max(times):.2f} s; "
          f"{sum(t <= 10 for t in times)}/{len(times)} within 10 s; "
          f"{sum(r[4] == 0 for r in rows)}/{len(rows)} exit 0")


if __name__ == "__main__":
    main()
