"""numpy's BLAS pool is pinned by the dry run and the worker (BLAS_THREADS), and in the tests."""
import json
import os
import subprocess
import sys

from bot.model.threads import blas_threads

CAPS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")
PROBE = """
import json
from bot import cli
from bot.model.threads import blas_threads
cli.main(["--dry-run", "--pool-size", "3", "--seed", "0", "--json"])
print(json.dumps(blas_threads()))
"""


def _threads_after_dry_run(**env) -> list[int]:
    clean = {k: v for k, v in os.environ.items() if k not in CAPS and k != "BLAS_THREADS"}
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env={**clean, **env},
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])


def test_dry_run_pins_blas_to_one_thread_by_default():
    assert _threads_after_dry_run() and set(_threads_after_dry_run()) == {1}


def test_blas_threads_setting_is_honoured():
    threads = _threads_after_dry_run(BLAS_THREADS="2")
    assert threads and set(threads) == {min(2, os.cpu_count() or 1)}


def test_tests_run_with_one_blas_thread():
    assert set(blas_threads()) == {1}
