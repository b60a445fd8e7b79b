"""The readers' heads table (bot/curation/heads.py) learned from rated panels: every rated item
with two halves, the bot's split by the seam parser and the baseline's drawn again from its seed
(features.split_items), gives its paper phrase and its raters' scores."""
from __future__ import annotations

from pathlib import Path

from ...curation import heads
from ...errors import PanelError
from .baseline import load_baseline_sources
from .features import split_items
from .sheets import parse_key, rated_scores


def rated_phrases(folders: list[Path], songs: list[str], titles: list[str]) -> list[tuple[str, list[int]]]:
    """(paper phrase, raters' scores) of every rated item with two halves in the folders. Raises
    PanelError for a folder without key.tsv or ratings, or whose baseline cannot be drawn again."""
    out = []
    for folder in folders:
        if not (folder / "key.tsv").exists():
            raise PanelError(f"{folder} has no key.tsv: not a panel folder")
        scores = rated_scores(folder)
        if not scores:
            raise PanelError(f"{folder} has no ratings-*.tsv: rate it before learning from it")
        key = parse_key((folder / "key.tsv").read_text(encoding="utf8"), f"{folder}/key.tsv")
        for group, text, _song, paper, _seam in split_items(folder, key, songs, titles):
            if (group, text) in scores:
                out.append((paper, scores[(group, text)]))
    return out


def learn(folders: list[Path], songs_path: Path, arxiv_path: Path) -> heads.Heads:
    """The table from the folders' rated items (heads.learn). Raises PanelError as rated_phrases
    does, and for folders with no rated phrase at all."""
    songs, titles = load_baseline_sources(songs_path, arxiv_path)
    rated = rated_phrases(folders, songs, titles)
    if not rated:
        raise PanelError("no rated item with two halves in those folders")
    return heads.learn(rated, ", ".join(f.name for f in folders))
