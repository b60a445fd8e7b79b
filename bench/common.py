"""Helpers for the benchmarks: the corpora in data/, the textgenrnn reference oracle, tables."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "tests" / "textgenrnn_reference.py"
SONGS = ROOT / "data" / "song_titles.txt"
ARXIV = ROOT / "data" / "arxiv_titles.txt"


def run_reference(*args: str) -> dict:
    """The textgenrnn reference oracle in its own process; its JSON answer. It runs in a temporary
    working directory: textgenrnn writes its weights file into the current one."""
    import tempfile

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    with tempfile.TemporaryDirectory(prefix="textgenrnn-ref-") as cwd:
        done = subprocess.run([sys.executable, str(REFERENCE), *args], capture_output=True, text=True, env=env,
                              cwd=cwd)
    if done.returncode:
        sys.exit(f"reference failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout)


def table(headers: list[str], rows: list[list]) -> str:
    cells = [headers] + [[f"{c:,.2f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    lines = ["| " + " | ".join(r) + " |" for r in cells]
    lines.insert(1, "|" + "|".join(" --- " for _ in headers) + "|")
    return "\n".join(lines)


def run_measured(argv: list[str]) -> tuple[float, float, str]:
    """Run a command; its wall seconds, its own peak RSS in MB (os.wait4), and its stdout."""
    import time

    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"{argv} failed with {proc.returncode}")
    return seconds, usage.ru_maxrss / 1024, out
