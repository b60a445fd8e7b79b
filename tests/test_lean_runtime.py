"""The posting worker must not carry TensorFlow."""
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import sys
from bot import cli
from bot.posting import daemon
from bot.posting import worker
from bot.curation import candidates
from bot.model import sampler
from bot.curation import evidence
from bot import store
from bot.posting import gateway as mastodon_gateway
from bot.posting import registration
from bot.runtime import Runtime
from bot.curation.pipeline import build_pool
pool = build_pool(Runtime.load(sys.argv[1]), 30, (0.5, 0.7, 0.9), seed=0)
heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras', 'tf_keras', 'textgenrnn', 'torch'))
print(pool.sampled, heavy)
"""


def test_worker_imports_and_samples_without_tensorflow(shipped_model_dir):
    done = subprocess.run([sys.executable, "-c", WORKER, str(shipped_model_dir)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["30", "[]"]


def test_worker_requirements_leave_training_out():
    names = [re.split(r"[<>=\[ ]", line)[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert "tensorflow" not in names and "keras" not in names and "textgenrnn" not in names
    assert {"mastodon.py", "apscheduler", "python-dotenv", "numpy", "h5py"} <= set(names)


def test_procfile_runs_without_the_package_installed():
    """Heroku installs requirements.txt only: no `bot` script, so the Procfile runs the module."""
    [line] = (ROOT / "Procfile").read_text().splitlines()
    assert line == "worker: python -m bot"
    done = subprocess.run([sys.executable, "-m", "bot", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("bot ")


def test_docs_name_no_closed_server():
    for path in ("README.md", ".env.example", "bot/cli.py"):
        assert "botsin.space" not in (ROOT / path).read_text().replace("botsin.space, long the usual home", "")


def test_every_source_path_the_docs_name_exists():
    import re

    for doc in ("README.md", "bench/README.md", "model_weights/MODEL.md"):
        named = set(re.findall(r"`(bot/[\w/]+\.py)`", (ROOT / doc).read_text()))
        missing = sorted(p for p in named if not (ROOT / p).is_file())
        assert not missing, f"{doc} names {missing}"
