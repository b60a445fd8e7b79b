"""Blind panel of mashup titles: draw rating sheets, then score the ratings per group.

    python bench/panel.py draw --out bench/results/panel-NAME --seeds 1-40 [--bot-cmd CMD | --bot-file FILE]
                               [--group NAME=FILE ...] [--raters 2] [--seed 0]
    python bench/panel.py score bench/results/panel-NAME [--json]

`draw` collects groups of items: "bot" (the would-post title of `CMD --seed N` for each seed, read
from its JSON key "would_post", or one title per line of --bot-file), "baseline" (as many items from
a no-network baseline: a whole real song title joined to a whole real arXiv-title phrase at one
seam), "best_of" (the 2018 experiment's hand-picked list) and any --group NAME=FILE. Identical texts
are rated once. It writes key.tsv (id, group, text; an item found in two groups has one row per
group) and sheet-raterK.tsv (id TAB text, a different shuffle per rater, no group anywhere). Each
rater reads ../shared/panel/RUBRIC.md and writes ratings-NAME.tsv (header `id score both salad`).

`score` checks every ratings file against the key and prints, per group, the mean score (1-5), the
share rated 4 or 5, the shares marked both=y and salad=y over all raters' ratings, each rater's
mean, and the raters' agreement (Pearson r of item scores per pair of raters). It also writes
scores.md. Bad input ends with one line on stderr and exit status 2.
"""
from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
RUBRIC = ROOT.parent / "shared" / "panel" / "RUBRIC.md"  # the raters' instructions, kept outside the repository

# Where the baseline joins a song title (S) and a paper phrase (P).
SEAMS = {
    "feat": "{s} (feat. {p})",
    "front": "{p} {s}",
    "remix": "{s} ({p} Remix)",
    "colon": "{s}: {p}",
    "dash": "{s} - {p}",
}
MAX_SONG_WORDS, MAX_SONG_CHARS = 6, 40
MAX_PHRASE_WORDS = 5
MAX_TOTAL_WORDS = 10
MAX_FRONT_WORDS = 3  # a longer phrase in front of the song reads as one run-on title
# Song titles that already carry a tag or bracket would give a doubled tag at a seam.
_SONG_TAGGED = re.compile(r"[()\[\]{}\"“”]|\b(feat|ft|featuring|prod|remix|edit|mix|vip|bootleg|rework|cover|"
                          r"version|remaster(ed)?|live|acoustic|demo|intro|interlude)\b|\s[x&+]\s|\s-\s|\s–\s",
                          re.IGNORECASE)
_SONG_CHARS = re.compile(r"[\w'’!?.,&-]+( [\w'’!?.,&-]+)*")
_QUOTES = {("'", "'"), ('"', '"'), ("‘", "’"), ("“", "”")}
# A phrase cut from inside a title must not start or end on one of these.
FUNCTION_WORDS = frozenset(
    "a an the of for and or nor in on at to by via with without from into onto over under using as is are "
    "be its their our this that these those vs versus than through towards toward beyond within between "
    "based do does can how what when which why we you".split())
HEADER = ("id", "score", "both", "salad")


class PanelError(Exception):
    """Bad input to the panel tool; reported as one line."""


# ---------------------------------------------------------------------------------------------- baseline

def clean_song(line: str) -> str | None:
    """A song title fit for the baseline, or None: surrounding quotes stripped; titles with an
    artist ("X - Y"), a tag or bracket already, LaTeX, or over MAX_SONG_WORDS words or
    MAX_SONG_CHARS characters are skipped."""
    s = " ".join(line.split())
    if len(s) >= 2 and (s[0], s[-1]) in _QUOTES:
        s = s[1:-1].strip()
    if not s or _SONG_TAGGED.search(s) or not _SONG_CHARS.fullmatch(s) or s[0] in "'‘’":
        return None
    if len(s.split()) > MAX_SONG_WORDS or len(s) > MAX_SONG_CHARS:
        return None
    return s


def _bare(word: str) -> str:
    return word.strip(",.;:!?\"'").lower()


def paper_phrases(title: str) -> list[str]:
    """Whole phrases of one arXiv title (contiguous words, exactly as written): the part after a
    colon, the name before it, the last 2-4 words, and method/model names (words like "ResNet",
    "CNN-CRF", "word2vec"). Phrases with brackets, LaTeX or a function word at either end are left
    out. Empty for a title with nothing usable."""
    if "$" in title:
        return []
    words = title.split()
    found: list[tuple[list[str], bool]] = []  # (words, may open with a function word)
    if ":" in title:
        head, _, tail = title.partition(":")
        if len(head.split()) <= 3:
            found.append((head.split(), False))
        found.append((tail.split(), True))
    last = title.rpartition(":")[2].split()  # the last words, never across the colon
    for k in (2, 3, 4):
        if len(last) > k:
            found.append((last[-k:], False))
    for w in words[1:]:
        core = w.strip(",.;:!?")
        if len(core) >= 3 and "/" not in core and (re.search(r"[A-Z][a-z]+[A-Z]|[A-Z]{2}.*[a-z]|[A-Za-z]\d|\d[A-Za-z]", core)
                                                   or (core.isupper() and core.isalpha())):
            found.append(([core], False))
    phrases = []
    for ph, open_ok in found:
        text = " ".join(ph).strip(",;: ")
        if not 1 <= len(text.split()) <= MAX_PHRASE_WORDS or re.search(r"[()\[\]{}$\":]", text):
            continue
        first, last = _bare(text.split()[0]), _bare(text.split()[-1])
        if last in FUNCTION_WORDS or (first in FUNCTION_WORDS and not (open_ok and len(ph) >= 3)):
            continue
        if text not in phrases:
            phrases.append(text)
    return phrases


def join(song: str, phrase: str, seam: str) -> str:
    """The baseline text: `song` and `phrase` joined at the named seam (a key of SEAMS)."""
    return SEAMS[seam].format(s=song, p=phrase)


@dataclass(frozen=True)
class BaselineItem:
    text: str
    song: str
    title: str
    phrase: str
    seam: str


def load_baseline_sources(songs_path: Path, arxiv_path: Path) -> tuple[list[str], list[str]]:
    """The cleaned unique song titles and the arXiv titles that give at least one phrase."""
    try:
        songs = dict.fromkeys(s for s in map(clean_song, songs_path.read_text(encoding="utf-8").splitlines()) if s)
        titles = [t for t in dict.fromkeys(" ".join(x.split()) for x in arxiv_path.read_text(encoding="utf-8").splitlines())
                  if paper_phrases(t)]
    except OSError as e:
        raise PanelError(f"cannot read the corpora: {e}") from None
    if not songs or not titles:
        raise PanelError("no usable song titles or arXiv titles for the baseline")
    return list(songs), titles


def baseline(n: int, songs: list[str], titles: list[str], seed: int) -> list[BaselineItem]:
    """n distinct baseline items, seeded: a random song, a random phrase of a random title, a random
    seam; pairs over MAX_TOTAL_WORDS words, or a phrase over MAX_FRONT_WORDS words in front, are
    drawn again. Each song, title and phrase is used once in a draw."""
    rng = random.Random(seed)
    out: list[BaselineItem] = []
    used_s, used_t, used_p, texts = set(), set(), set(), set()
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 100 * n + 1000:
            raise PanelError(f"could only draw {len(out)} of {n} baseline items")
        song, title = rng.choice(songs), rng.choice(titles)
        if song in used_s or title in used_t:
            continue
        phrase = rng.choice(paper_phrases(title))
        if phrase.casefold() in used_p:
            continue
        seam = rng.choice(sorted(SEAMS))
        if seam == "front" and len(phrase.split()) > MAX_FRONT_WORDS:
            continue
        text = join(song, phrase, seam)
        if len(text.split()) > MAX_TOTAL_WORDS or text.casefold() in texts:
            continue
        used_s.add(song), used_t.add(title), used_p.add(phrase.casefold()), texts.add(text.casefold())
        out.append(BaselineItem(text, song, title, phrase, seam))
    return out


# -------------------------------------------------------------------------------------------------- draw

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


def bot_titles(cmd: str, seeds: list[int]) -> list[str]:
    """`cmd --seed N` for each seed; the "would_post" of its JSON output (None ones are skipped)."""
    out = []
    for i, seed in enumerate(seeds, 1):
        argv = shlex.split(cmd) + ["--seed", str(seed)]
        print(f"panel: bot seed {seed} ({i}/{len(seeds)})", file=sys.stderr)
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
            print(f"panel: seed {seed}: no would-post title, skipped", file=sys.stderr)
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


def cmd_draw(args) -> int:
    out = Path(args.out)
    if (out / "key.tsv").exists() and not args.force:
        raise PanelError(f"{out}/key.tsv exists; pick another --out or pass --force")
    groups: dict[str, list[str]] = {}
    groups["bot"] = read_titles(args.bot_file) if args.bot_file else bot_titles(args.bot_cmd, parse_seeds(args.seeds))
    n = args.baseline_n if args.baseline_n is not None else len(groups["bot"])
    songs, titles = load_baseline_sources(Path(args.songs), Path(args.arxiv))
    groups["baseline"] = [b.text for b in baseline(n, songs, titles, args.seed)]
    if not args.no_best_of:
        groups["best_of"] = read_titles(Path(args.best_of))
    for spec in args.group:
        name, sep, file = spec.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not file:
            raise PanelError(f"bad --group {spec!r}: expected NAME=FILE (NAME of letters, digits, _ . -)")
        if name in groups:
            raise PanelError(f"group {name!r} given twice")
        groups[name] = read_titles(Path(file))
    key, sheets, dropped = assemble(groups, args.raters, args.seed)
    out.mkdir(parents=True, exist_ok=True)
    write_tsv(out / "key.tsv", key, ("id", "group", "text"))
    for i, sheet in enumerate(sheets, 1):
        write_tsv(out / f"sheet-rater{i}.tsv", sheet)
    counts = {g: sum(1 for r in key if r[1] == g) for g in groups}
    (out / "draw.json").write_text(json.dumps({
        "seeds": args.seeds if not args.bot_file else None, "bot": args.bot_file or args.bot_cmd,
        "seed": args.seed, "raters": args.raters, "groups": counts, "items": len(sheets[0]),
        "repeats_dropped": dropped, "rubric": str(RUBRIC)}, indent=1) + "\n", encoding="utf-8")
    print(f"{out}: {len(sheets[0])} items ({', '.join(f'{g} {c}' for g, c in counts.items())}; "
          f"{dropped} repeats dropped), {len(sheets)} sheets. Give each rater one sheet-raterK.tsv and {RUBRIC}; "
          f"collect ratings-NAME.tsv into {out}, then: python bench/panel.py score {out}")
    return 0


# ------------------------------------------------------------------------------------------------- score

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


def cmd_score(args) -> int:
    folder = Path(args.folder)
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
    table = render(result)
    (folder / "scores.md").write_text(table, encoding="utf-8")
    print(json.dumps(result, indent=1) if args.json else table, end="" if not args.json else "\n")
    return 0


# -------------------------------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="panel.py", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="command", required=True)
    d = sub.add_parser("draw", help="draw a blind panel: key.tsv and one sheet per rater")
    d.add_argument("--out", required=True, help="folder for key.tsv and the sheets, e.g. bench/results/panel-NAME")
    d.add_argument("--seeds", default="1-40", help="bot seeds, e.g. 1-40 or 1,3,7-9 (default 1-40)")
    src = d.add_mutually_exclusive_group()
    src.add_argument("--bot-cmd", default="bot --dry-run --json",
                     help='command printing JSON with "would_post"; --seed N is appended (default: %(default)s)')
    src.add_argument("--bot-file", help="one bot title per line, instead of running --bot-cmd")
    d.add_argument("--group", action="append", default=[], metavar="NAME=FILE", help="extra group, one title per line")
    d.add_argument("--raters", type=int, default=2, help="number of sheets, one shuffle each (default 2)")
    d.add_argument("--seed", type=int, default=0, help="seed of the baseline, the ids and the shuffles (default 0)")
    d.add_argument("--baseline-n", type=int, help="baseline items (default: as many as the bot group)")
    d.add_argument("--no-best-of", action="store_true", help="leave out the experiment's best-of list")
    d.add_argument("--songs", default=str(DATA / "song_titles.txt"))
    d.add_argument("--arxiv", default=str(DATA / "arxiv_titles.txt"))
    d.add_argument("--best-of", default=str(DATA / "experiment_best_of.txt"))
    d.add_argument("--force", action="store_true", help="overwrite an existing key.tsv")
    s = sub.add_parser("score", help="score the ratings-*.tsv of a panel folder")
    s.add_argument("folder")
    s.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args(argv)
    try:
        return cmd_draw(args) if args.command == "draw" else cmd_score(args)
    except PanelError as e:
        print(f"panel: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
