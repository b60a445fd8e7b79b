"""The curator's features for every rated item of a panel, computed again from its text with one
model, so that ratings from all panels (and of the baseline's real titles) can fit one curator.

The bot's items (every group but the baseline and the best-of list) are split into song half,
paper half and seam by the seam parser (bot/curation/seams.py); the baseline items are drawn
again from the panel's seed (draw.json) exactly as the draw drew them (checked against key.tsv).
Each pair is then scored as the pool scores a network-written one: fluency of each half under the
model, whether the corpora hold it and its word pairs, commonness, length, seam, rhyme,
relatedness. Items sampled at some temperature get no temperature feature: the baseline has none.
Writes features-all.jsonl into each folder: {"text", "group", "features"} per line.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ...curation import seams
from ...curation.evidence import Evidence
from ...curation.pipeline import featurize
from ...errors import PanelError
from ...files import atomic_write_text
from ...model.modelfile import ModelPaths, load_model
from ...model.sampler import Sampler
from .baseline import baseline, load_baseline_sources
from .sheets import parse_key

# The baseline's seams under the names the pool gives its own ("front" has no pool counterpart).
BASELINE_SEAMS = {"feat": "feat", "remix": "tag:remix", "colon": "colon", "dash": "dash", "front": "front"}
NOT_FEATURED = {"best_of"}  # the experiment's list is not two halves at a seam
FEATURES_FILE = "features-all.jsonl"


def split_items(folder: Path, key: list[tuple[str, str, str]], songs: list[str],
                titles: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(group, text, song half, paper half, seam name) for each item of the panel's key that has
    two halves; raises PanelError if the baseline drawn again is not the one in the key."""
    out = []
    for _, group, text in key:
        parsed = seams.parse(text) if group not in NOT_FEATURED | {"baseline"} else None
        if parsed:
            out.append((group, text, parsed[1], parsed[2], parsed[0]))
    keyed = {t for _, g, t in key if g == "baseline"}
    if keyed:
        if not (folder / "draw.json").exists():
            raise PanelError(f"{folder} has baseline items but no draw.json to draw them again from")
        draw = json.loads((folder / "draw.json").read_text(encoding="utf8"))
        items = baseline(draw["groups"]["baseline"], songs, titles, draw["seed"])
        if {b.text for b in items} != keyed:
            raise PanelError(f"{folder}: the baseline drawn again differs from key.tsv")
        out += [("baseline", b.text, b.song, b.phrase, BASELINE_SEAMS[b.seam]) for b in items]
    return out


@dataclass(frozen=True)
class Featured:
    folder: Path
    items: int  # items written to features-all.jsonl
    skipped: int  # key rows without two halves at a seam (the best-of list among them)


def compute(folders: list[Path], model_dir: Path, songs_path: Path, arxiv_path: Path) -> list[Featured]:
    """Write features-all.jsonl into each panel folder. Raises PanelError for a folder without
    key.tsv or a baseline that cannot be drawn again, ModelFileError for a bad model directory."""
    paths = ModelPaths.in_directory(model_dir)
    sampler, evidence = Sampler(load_model(paths)), Evidence.load(model_dir, paths.name)
    songs, titles = load_baseline_sources(songs_path, arxiv_path)
    done = []
    for folder in folders:
        if not (folder / "key.tsv").exists():
            raise PanelError(f"{folder} has no key.tsv: not a panel folder")
        key = parse_key((folder / "key.tsv").read_text(encoding="utf8"), f"{folder}/key.tsv")
        items = split_items(folder, key, songs, titles)
        found = featurize(sampler, evidence, [(text, song, paper, seam) for _, text, song, paper, seam in items])
        lines = [json.dumps({"text": text, "group": group, "features": feats}, ensure_ascii=False) + "\n"
                 for (group, text, _, _, _), feats in zip(items, found)]
        atomic_write_text(folder / FEATURES_FILE, "".join(lines))
        done.append(Featured(folder, len(lines), len(key) - len(lines)))
    return done
