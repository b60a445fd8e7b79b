"""The curator's features for every rated item of a panel, computed again from its text with one
model, so that ratings from all panels (and of the baseline's real titles) can fit one curator.

    python bench/panel_features.py bench/results/panel-1 [...] [--model-dir DIR]

The bot's items (every group but the baseline and the best-of list) are split into song half,
paper half and seam by the seam parser (bot/curation/seams.py); the baseline items are drawn
again from the panel's seed (draw.json) exactly as `panel.py draw` drew them (the draw is checked
against key.tsv). Each pair is then scored as the pool scores a network-written one: fluency of
each half under the model, whether the corpora hold it and its word pairs, commonness, length,
seam, rhyme, relatedness. Items sampled at some temperature get no temperature feature: the
baseline has none. Writes features-all.jsonl into each folder: {"text", "group", "features"} per
line.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bot.curation import seams  # noqa: E402
from bot.errors import BotError  # noqa: E402
from bot.curation.evidence import Evidence  # noqa: E402
from bot.curation.features import features  # noqa: E402
from bot.curation.mashups import half_traits, known_traits  # noqa: E402
from bot.curation.relatedness import relatedness_many  # noqa: E402
from bot.model.modelfile import ModelPaths, load_model  # noqa: E402
from bot.model.sampler import Sampler  # noqa: E402
from bot.model.scoring import mean_log_likelihood  # noqa: E402
import panel  # noqa: E402

# The baseline's seams under the names the pool gives its own ("front" has no pool counterpart).
BASELINE_SEAMS = {"feat": "feat", "remix": "tag:remix", "colon": "colon", "dash": "dash", "front": "front"}
NOT_FEATURED = {"best_of"}  # the experiment's list is not two halves at a seam
FEATURES_FILE = "features-all.jsonl"


def split_items(folder: Path, key: list[tuple[str, str, str]], songs: list[str],
                titles: list[str]) -> list[tuple[str, str, str, str, str]]:
    """(group, text, song half, paper half, seam name) for each item of the panel's key that has
    two halves; raises panel.PanelError if the baseline drawn again is not the one in the key."""
    out = []
    for _, group, text in key:
        parsed = seams.parse(text) if group not in NOT_FEATURED | {"baseline"} else None
        if parsed:
            out.append((group, text, parsed[1], parsed[2], parsed[0]))
    keyed = {t for _, g, t in key if g == "baseline"}
    if keyed:
        if not (folder / "draw.json").exists():
            raise panel.PanelError(f"{folder} has baseline items but no draw.json to draw them again from")
        draw = json.loads((folder / "draw.json").read_text(encoding="utf8"))
        items = panel.baseline(draw["groups"]["baseline"], songs, titles, draw["seed"])
        if {b.text for b in items} != keyed:
            raise panel.PanelError(f"{folder}: the baseline drawn again differs from key.tsv")
        out += [("baseline", b.text, b.song, b.phrase, BASELINE_SEAMS[b.seam]) for b in items]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", type=Path, nargs="+")
    ap.add_argument("--model-dir", type=Path, default=ROOT / "model_weights")
    args = ap.parse_args()
    try:
        return run(args.folders, args.model_dir)
    except (panel.PanelError, BotError, OSError, ValueError, KeyError) as e:
        print(f"panel_features: {e}", file=sys.stderr)
        return 2


def run(folders: list[Path], model_dir: Path) -> int:
    paths = ModelPaths.in_directory(model_dir)
    sampler, evidence = Sampler(load_model(paths)), Evidence.load(model_dir, paths.name)
    songs, titles = panel.load_baseline_sources(panel.DATA / "song_titles.txt", panel.DATA / "arxiv_titles.txt")
    cache: dict = {}
    for folder in folders:
        if not (folder / "key.tsv").exists():
            raise panel.PanelError(f"{folder} has no key.tsv: not a panel folder")
        key = panel.parse_key((folder / "key.tsv").read_text(encoding="utf8"))
        items = split_items(folder, key, songs, titles)
        song_fl = mean_log_likelihood(sampler, [i[2] for i in items], "song")
        paper_fl = mean_log_likelihood(sampler, [i[3] for i in items], "arxiv")
        related = relatedness_many(evidence.vectors, [(i[2], i[3]) for i in items])
        lines = []
        for (group, text, song, paper, seam), sf, pf, rel in zip(items, song_fl, paper_fl, related):
            feats = features(song, paper, text, seam, float(sf), float(pf), 0.0)
            del feats["temperature"]
            feats.update(half_traits(song, "song", evidence.stats, evidence.halves, cache))
            feats.update(half_traits(paper, "arxiv", evidence.stats, evidence.halves, cache))
            feats.update(known_traits(feats))
            feats["relatedness"] = float(rel)
            lines.append(json.dumps({"text": text, "group": group, "features": feats}, ensure_ascii=False) + "\n")
        (folder / FEATURES_FILE).write_text("".join(lines), encoding="utf8")
        skipped = len(key) - len(lines)
        print(f"{folder}: {len(lines)} items -> {FEATURES_FILE} ({skipped} without two halves at a seam, "
              "best-of included, left out)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
