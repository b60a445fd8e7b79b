"""Shared fixtures: the textgenrnn pretrained model, the shared corpora and the reference oracle."""
import os
from pathlib import Path

import pytest

from bot.modelfile import ModelPaths, load_model

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("BOT_SHARED_DIR", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def pretrained():
    return load_model(ModelPaths.pretrained())


@pytest.fixture(scope="session")
def corpora() -> dict[str, Path]:
    paths = {"song": SHARED / "data" / "song_titles.txt", "arxiv": SHARED / "data" / "arxiv_titles.txt"}
    missing = [str(p) for p in paths.values() if not p.exists()]
    if missing:
        pytest.skip(f"shared corpora not found ({', '.join(missing)}); set BOT_SHARED_DIR")
    return paths


@pytest.fixture(scope="session")
def reference_script() -> Path:
    script = SHARED / "reference" / "textgenrnn_ref.py"
    if not script.exists():
        pytest.skip(f"textgenrnn reference not found at {script}; set BOT_SHARED_DIR")
    return script


@pytest.fixture(scope="session")
def shipped_model_dir() -> Path:
    return ROOT / "model_weights"


@pytest.fixture(scope="session")
def evidence(shipped_model_dir):
    from bot.evidence import Evidence

    return Evidence.load(shipped_model_dir, "mashup")


@pytest.fixture(scope="session")
def training_titles(corpora) -> list[str]:
    from bot import corpus

    return [t for p in corpora.values() for t in corpus.clean_titles(corpus.read_titles(p), 10**6)]
