"""Training titles: read the two corpora, clean them, balance the sources, shuffle into one set."""
from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from ..errors import CorpusError

SOURCES = ("song", "arxiv")
DEFAULT_PATHS = {"song": Path("data/song_titles.txt"), "arxiv": Path("data/arxiv_titles.txt")}
BALANCE_MODES = ("chars", "titles", "none")


def read_titles(path: str | Path) -> list[str]:
    """Raw lines of a one-title-per-line UTF-8 file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf8")
    except FileNotFoundError:
        raise CorpusError(f"corpus file {path} is missing; pass its path (see bot train --help)") from None
    except UnicodeDecodeError as e:
        raise CorpusError(f"corpus file {path} is not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise CorpusError(f"corpus file {path} cannot be read: {e.strerror}") from None
    return text.splitlines()


def normalise_whitespace(title: str) -> str:
    """Control and format characters dropped, runs of whitespace made one space, ends trimmed."""
    kept = "".join(" " if ch.isspace() else ch for ch in title
                   if ch.isspace() or unicodedata.category(ch)[0] != "C")
    return re.sub(r" +", " ", kept).strip()


def clean_titles(lines: list[str], max_chars: int, alphabet: set[str] | None = None) -> list[str]:
    """Trimmed, whitespace-normalised, unique titles of 1..max_chars characters, first copy kept.

    With an alphabet (the model's vocabulary), titles using any other character are dropped:
    the model could neither read nor write them.
    """
    seen, titles = set(), []
    for line in lines:
        title = normalise_whitespace(line)
        if not title or len(title) > max_chars or title in seen:
            continue
        if alphabet is not None and not set(title) <= alphabet:
            continue
        seen.add(title)
        titles.append(title)
    return titles


@dataclass(frozen=True)
class Example:
    title: str
    source: str


def balance(sources: dict[str, list[str]], mode: str, seed: int) -> list[Example]:
    """One shuffled list in which each source has about the same share.

    "titles": every source is cut (randomly) to the smallest source's title count.
    "chars": smaller sources are repeated (whole, then a random part) until each has about as
    many characters as the largest; nothing is thrown away. "none": all titles as they are.
    """
    if mode not in BALANCE_MODES:
        raise CorpusError(f"balance must be one of {', '.join(BALANCE_MODES)}, not {mode!r}")
    for name, titles in sources.items():
        if not titles:
            raise CorpusError(f"the {name} corpus has no usable titles after cleaning")
    rng = random.Random(seed)
    chosen: dict[str, list[str]] = {}
    if mode == "titles":
        smallest = min(len(t) for t in sources.values())
        chosen = {name: rng.sample(titles, smallest) for name, titles in sources.items()}
    elif mode == "chars":
        target = max(sum(map(len, t)) for t in sources.values())
        for name, titles in sources.items():
            picked, chars = [], sum(map(len, titles))
            repeats, rest = divmod(target, chars)
            picked = titles * repeats
            extra = rng.sample(titles, len(titles))
            budget = rest
            for title in extra:
                if budget <= 0:
                    break
                picked.append(title)
                budget -= len(title)
            chosen[name] = picked
    else:
        chosen = dict(sources)
    examples = [Example(t, name) for name, titles in chosen.items() for t in titles]
    rng.shuffle(examples)
    return examples
