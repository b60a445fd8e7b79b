"""Imports point down: model <- curation <- posting; training may use model and curation;
nothing run time imports training, and only training imports TensorFlow/Keras."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOT = ROOT / "bot"

HEAVY = {"tensorflow", "keras", "tf_keras", "textgenrnn", "torch"}
FORBIDDEN = {  # sub-package -> what its modules may not import (bot sub-packages and libraries)
    "model": {"bot.curation", "bot.posting", "bot.training", "bot.cli"} | HEAVY,
    "curation": {"bot.posting", "bot.training", "bot.cli"} | HEAVY,
    "posting": {"bot.training", "bot.cli"} | HEAVY,
    "training": {"bot.posting", "bot.cli"},
}


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, anywhere in it (also inside functions), as absolute names."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)  # `from . import x`
    return found


def violations(path: Path, forbidden: set[str], root: Path = ROOT) -> list[str]:
    return sorted(m for m in imported_modules(path, root) for f in forbidden if m == f or m.startswith(f + "."))


def test_imports_point_down():
    bad = {}
    for room, forbidden in FORBIDDEN.items():
        for path in sorted((BOT / room).rglob("*.py")):
            found = violations(path, forbidden)
            if found:
                bad[str(path.relative_to(ROOT))] = found
    assert bad == {}


def test_errors_is_at_the_bottom():
    assert not {m for m in imported_modules(BOT / "errors.py") if m.startswith("bot")}


@pytest.mark.parametrize("source, room, expected", [
    ("from ...training import corpus", "model", ["bot.training", "bot.training.corpus"]),
    ("from ..training.corpus import read_titles", "curation", ["bot.training.corpus",
                                                               "bot.training.corpus.read_titles"]),
    ("def f():\n    from ..curation import words", "model", ["bot.curation", "bot.curation.words"]),
    ("import tensorflow as tf", "posting", ["tensorflow"]),
    ("from keras import ops", "curation", ["keras", "keras.ops"]),
    ("from bot.posting.state import open_store", "curation", ["bot.posting.state",
                                                              "bot.posting.state.open_store"]),
    ("from . import sampler\nfrom ..errors import BotError\nimport numpy", "model", []),
])
def test_a_wrong_import_is_caught(tmp_path, source, room, expected):
    # The module is written where it would sit in the room, so relative imports resolve as there.
    path = tmp_path / "bot" / room / ("sub" if source.startswith("from ...") else "") / "added.py"
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n", encoding="utf8")
    assert violations(path, FORBIDDEN[room], root=tmp_path) == expected
