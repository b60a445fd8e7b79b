"""Blind panels: draw rating sheets (the bot's would-post titles, the no-network baseline, the
2018 best-of list, any other group, one shuffle per rater, no group on the sheet), then score the
raters' ratings per group. Raters follow the rubric (RUBRIC.md, kept outside the repository).

A panel folder holds key.tsv (id, group, text; an item found in two groups has one row per
group), sheet-raterK.tsv (id TAB text), draw.json (how it was drawn) and, once rated,
ratings-NAME.tsv (header `id score both salad`) and scores.md.
"""
from __future__ import annotations

import itertools
import json
import math
import random
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ...errors import PanelError
from .baseline import baseline, load_baseline_sources

HEADER = ("id", "score", "both", "salad")


def parse_seeds(spec: str) -> list[int]:
    """"1-40", "1,3,7-9" -> the list of seeds, in order, without repeats."""
    seeds: list[int] = []
    try:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            lo, dash, hi = part.partition("-")
            a, b = int(lo), int(hi if dash else lo)
            if b < a:
                raise ValueError
            seeds += range(a, b + 1)
    except ValueError:
        raise PanelError(f"bad --seeds {spec!r}: expected e.g. 1-40 or 1,3,7-9") from None
    if not seeds:
        raise PanelError("--seeds names no seed")
    return list(dict.fromkeys(seeds))


def read_titles(path: Path) -> list[str]:
    """One title per non-blank line, whitespace collapsed."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise PanelError(f"cannot read {path}: {e.strerror or e}") from None
    titles = [" ".join(x.split()) for x in lines if x.strip()]
    if not titles:
        raise PanelError(f"{path} has no titles")
    return titles


def bot_titles(cmd: str, seeds: list[int], report: Callable[[str], None] = lambda line: None) -> list[str]:
    """`cmd --seed N` for each seed; the "would_post" of its JSON output (None ones are skipped,
    and reported). Raises PanelError when the command cannot run, fails or prints no such JSON."""
    out = []
    for i, seed in enumerate(seeds, 1):
        argv = shlex.split(cmd) + ["--seed", str(seed)]
        report(f"bot seed {seed} ({i}/{len(seeds)})")
        try:
            done = subprocess.run(argv, capture_output=True, text=True)
        except OSError as e:
            raise PanelError(f"cannot run {argv[0]}: {e.strerror or e}") from None
        if done.returncode:
            tail = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise PanelError(f"{' '.join(argv)} failed ({done.returncode}): {tail}")
        try:
            title = json.loads(done.stdout)["would_post"]
        except (ValueError, KeyError, TypeError):
            raise PanelError(f"{' '.join(argv)} printed no JSON with a \"would_post\" key") from None
        if title:
            out.append(" ".join(str(title).split()))
        else:
            report(f"seed {seed}: no would-post title, skipped")
    return out


def norm(text: str) -> str:
    """The form two texts are compared in: case folded, whitespace collapsed."""
    return " ".join(text.split()).casefold()


def assemble(groups: dict[str, list[str]], raters: int, seed: int):
    """Opaque ids and sheets for the grouped texts.

    Returns (key rows (id, group, text), sheets: one list of (id, text) per rater, dropped: number
    of repeats within a group). A text in several groups gets one id and one key row per group; a
    repeat within a group is dropped. Each sheet is its own shuffle (sheets differ when there are
    at least 3 items)."""
    if raters < 1:
        raise PanelError("--raters must be at least 1")
    rng = random.Random(seed)
    ids: dict[str, str] = {}
    texts: dict[str, str] = {}
    key: list[tuple[str, str, str]] = []
    dropped = 0
    taken: set[str] = set()
    for group, items in groups.items():
        seen = set()
        for text in items:
            text = " ".join(text.replace("\t", " ").split())
            k = norm(text)
            if not k or k in seen:
                dropped += bool(k)
                continue
            seen.add(k)
            if k not in ids:
                while (new := f"{rng.getrandbits(24):06x}") in taken:
                    pass
                taken.add(new)
                ids[k], texts[new] = new, text
            key.append((ids[k], group, texts[ids[k]]))
    items = sorted(texts.items())
    sheets: list[list[tuple[str, str]]] = []
    for _ in range(raters):
        for _attempt in range(100):
            order = items[:]
            rng.shuffle(order)
            if len(order) < 3 or all(order != s for s in sheets):
                break
        sheets.append(order)
    order = {g: n for n, g in enumerate(groups)}
    key.sort(key=lambda row: (order[row[1]], row[0]))  # groups in the order given, ids sorted within
    return key, sheets, dropped


def write_tsv(path: Path, rows, header=None) -> None:
    lines = (["\t".join(header)] if header else []) + ["\t".join(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class Drawn:
    """What draw() wrote: the items on each sheet, the key rows per group, repeats dropped."""
    out: Path
    items: int
    groups: dict[str, int]
    sheets: int
    dropped: int


def draw(out: Path, bot: list[str], songs_path: Path, arxiv_path: Path, best_of: Path | None,
         extra: dict[str, Path], raters: int, seed: int, baseline_n: int | None, rubric: str,
         source: dict, force: bool = False) -> Drawn:
    """Write a panel folder: the bot's titles, baseline_n baseline items (default: as many as the
    bot's) drawn with seed, the best-of list (unless None) and each extra group (name -> file of
    one title per line). source: how the bot's titles were made (recorded in draw.json). Raises
    PanelError for an existing key.tsv (unless force), bad group names or unreadable files."""
    if (out / "key.tsv").exists() and not force:
        raise PanelError(f"{out}/key.tsv exists; pick another --out or pass --force")
    groups: dict[str, list[str]] = {"bot": bot}
    n = baseline_n if baseline_n is not None else len(bot)
    songs, titles = load_baseline_sources(songs_path, arxiv_path)
    groups["baseline"] = [b.text for b in baseline(n, songs, titles, seed)]
    if best_of is not None:
        groups["best_of"] = read_titles(best_of)
    for name, file in extra.items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise PanelError(f"bad group name {name!r}: use letters, digits, _ . -")
        if name in groups:
            raise PanelError(f"group {name!r} given twice")
        groups[name] = read_titles(file)
    key, sheets, dropped = assemble(groups, raters, seed)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(out / "key.tsv", key, ("id", "group", "text"))
    for i, sheet in enumerate(sheets, 1):
        write_tsv(out / f"sheet-rater{i}.tsv", sheet)
    counts = {g: sum(1 for r in key if r[1] == g) for g in groups}
    (out / "draw.json").write_text(json.dumps({
        **source, "seed": seed, "raters": raters, "groups": counts, "items": len(sheets[0]),
        "repeats_dropped": dropped, "rubric": rubric}, indent=1) + "\n", encoding="utf-8")
    return Drawn(out, len(sheets[0]), counts, len(sheets), dropped)


@dataclass(frozen=True)
class Rating:
    score: int
    both: bool
    salad: bool


def parse_key(text: str, name: str = "key.tsv") -> list[tuple[str, str, str]]:
    """Rows (id, group, text) of a key file (header `id group text`)."""
    rows = []
    lines = text.splitlines()
    if not lines or lines[0].split("\t") != ["id", "group", "text"]:
        raise PanelError(f"{name}: first line must be the header id<TAB>group<TAB>text")
    for n, line in enumerate(lines[1:], 2):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise PanelError(f"{name} line {n}: expected id<TAB>group<TAB>text")
        rows.append((parts[0], parts[1], parts[2]))
    if not rows:
        raise PanelError(f"{name}: no items")
    return rows


def parse_ratings(text: str, ids: set[str], name: str) -> dict[str, Rating]:
    """One rater's ratings: header `id score both salad` (tabs), then one line per item. Every id
    in `ids` rated exactly once, no other id, score an integer 1-5, both/salad y or n. Blank
    lines and lines starting with # are ignored. Raises PanelError naming file and line."""
    rows = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip() and not line.lstrip().startswith("#")]
    if not rows or tuple(c.strip().lower() for c in rows[0][1].split("\t")) != HEADER:
        raise PanelError(f"{name}: first line must be the header id<TAB>score<TAB>both<TAB>salad")
    out: dict[str, Rating] = {}
    for n, line in rows[1:]:
        parts = [c.strip() for c in line.split("\t")]
        if len(parts) != 4:
            raise PanelError(f"{name} line {n}: expected 4 tab-separated fields, got {len(parts)}")
        id_, score, both, salad = parts
        if id_ not in ids:
            raise PanelError(f"{name} line {n}: id {id_!r} is not in the key")
        if id_ in out:
            raise PanelError(f"{name} line {n}: id {id_} rated twice")
        if score not in ("1", "2", "3", "4", "5"):
            raise PanelError(f"{name} line {n}: score {score!r} is not a whole number 1-5")
        flags = []
        for field, value in (("both", both), ("salad", salad)):
            if value.lower() not in ("y", "n"):
                raise PanelError(f"{name} line {n}: {field} {value!r} is not y or n")
            flags.append(value.lower() == "y")
        out[id_] = Rating(int(score), *flags)
    missing = sorted(ids - out.keys())
    if missing:
        raise PanelError(f"{name}: {len(missing)} item(s) not rated, e.g. {', '.join(missing[:3])}")
    return out


def pearson(xs: list[float], ys: list[float]) -> float | None:
    """Pearson correlation of two equally long lists; None when undefined (fewer than 2 pairs or a
    constant list)."""
    if len(xs) != len(ys):
        raise ValueError("lists differ in length")
    n = len(xs)
    if n < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def score_panel(key: list[tuple[str, str, str]], ratings: dict[str, dict[str, Rating]]) -> dict:
    """Per group (in key order): items, ratings, mean score, share 4-5, share both, share salad
    (over all raters' ratings) and each rater's mean; agreement: Pearson r of item scores per pair
    of raters over all items and within each group, and the mean r over pairs."""
    if not ratings:
        raise PanelError("no ratings-*.tsv files")
    raters = sorted(ratings)
    groups: dict[str, list[str]] = {}
    for id_, group, _ in key:
        groups.setdefault(group, []).append(id_)
    all_ids = sorted({r[0] for r in key})
    result = {"raters": raters, "items": len(all_ids), "groups": {}, "agreement": {}}
    for group, ids in groups.items():
        rs = [ratings[r][i] for r in raters for i in ids]
        result["groups"][group] = {
            "n": len(ids), "ratings": len(rs),
            "mean": sum(x.score for x in rs) / len(rs),
            "share_4_5": sum(x.score >= 4 for x in rs) / len(rs),
            "share_both": sum(x.both for x in rs) / len(rs),
            "share_salad": sum(x.salad for x in rs) / len(rs),
            "rater_means": {r: sum(ratings[r][i].score for i in ids) / len(ids) for r in raters},
        }
    pairs = {}
    for a, b in itertools.combinations(raters, 2):
        pairs[f"{a}~{b}"] = {
            "all": pearson([ratings[a][i].score for i in all_ids], [ratings[b][i].score for i in all_ids]),
            **{g: pearson([ratings[a][i].score for i in ids], [ratings[b][i].score for i in ids])
               for g, ids in groups.items()}}
    defined = [p["all"] for p in pairs.values() if p["all"] is not None]
    result["agreement"] = {"pairs": pairs, "mean_r": sum(defined) / len(defined) if defined else None}
    return result


def _f(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x:.0f}%" if pct else f"{x:.2f}"


def render(result: dict) -> str:
    """The Markdown tables of a scored panel."""
    raters = result["raters"]
    head = ["group", "items", "ratings", "mean 1-5", "rated 4-5", "both", "salad"] + [f"mean {r}" for r in raters]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    for g, s in result["groups"].items():
        cells = [g, str(s["n"]), str(s["ratings"]), _f(s["mean"]), _f(s["share_4_5"], True),
                 _f(s["share_both"], True), _f(s["share_salad"], True)] + [_f(s["rater_means"][r]) for r in raters]
        lines.append("| " + " | ".join(cells) + " |")
    out = [f"{result['items']} items, {len(raters)} rater(s): {', '.join(raters)}", "", *lines, ""]
    pairs = result["agreement"]["pairs"]
    if pairs:
        groups = list(result["groups"])
        head = ["raters", "r, all items"] + [f"r, {g}" for g in groups]
        out += ["Agreement (Pearson r of item scores):", "", "| " + " | ".join(head) + " |",
                "|" + "|".join(" --- " for _ in head) + "|"]
        for name, p in pairs.items():
            out.append("| " + " | ".join([name.replace("~", " / "), _f(p["all"])] + [_f(p[g]) for g in groups]) + " |")
        out += ["", f"Mean r over pairs: {_f(result['agreement']['mean_r'])}"]
    if len(raters) < 2:
        out += ["", "Fewer than two raters: this panel does not count (RUBRIC.md)."]
    return "\n".join(out) + "\n"


def score(folder: Path) -> dict:
    """Score a panel folder's ratings-*.tsv against its key.tsv (score_panel) and write scores.md
    (render). Raises PanelError for a missing key, no ratings or a bad ratings file."""
    try:
        key = parse_key((folder / "key.tsv").read_text(encoding="utf-8"), f"{folder}/key.tsv")
    except OSError as e:
        raise PanelError(f"cannot read {folder}/key.tsv: {e.strerror or e}") from None
    ids = {r[0] for r in key}
    files = sorted(folder.glob("ratings-*.tsv"))
    if not files:
        raise PanelError(f"no ratings-*.tsv in {folder}")
    ratings = {f.stem.removeprefix("ratings-"): parse_ratings(f.read_text(encoding="utf-8"), ids, str(f)) for f in files}
    result = score_panel(key, ratings)
    (folder / "scores.md").write_text(render(result), encoding="utf-8")
    return result


def rated_scores(folder: Path) -> dict[tuple[str, str], list[int]]:
    """(group, text) -> its raters' scores, for a rated panel folder."""
    key = parse_key((folder / "key.tsv").read_text(encoding="utf8"), f"{folder}/key.tsv")
    ids = {row[0] for row in key}
    names = {i: (g, t) for i, g, t in key}
    scores: dict[tuple[str, str], list[int]] = {}
    for path in sorted(folder.glob("ratings-*.tsv")):
        for i, rating in parse_ratings(path.read_text(encoding="utf8"), ids, path.name).items():
            scores.setdefault(names[i], []).append(rating.score)
    return scores


def rated_means(folder: Path) -> dict[tuple[str, str], float]:
    """(group, text) -> the mean of its raters' scores, for a rated panel folder."""
    return {k: sum(v) / len(v) for k, v in rated_scores(folder).items()}
