"""Seams: where a song title and a paper phrase are joined into one post.

The seams are the places where the corpora themselves attach one thing to another: a song title's
featured artist ("Closer (feat. Bishøp)"), producer ("(prod. ...)") and bracketed version tags
("(Motez Remix)", "(Soundcloud Edit)"), an "Artist - Title" line, and a paper title's
"Name: subtitle" colon; and, on the paper side, the joining words that attach a phrase to its
object ("Backpropagation for Holy Ghost": a "join" seam per joining word, the network writes the
phrase). `learn` counts the seams in the corpora at training time and keeps the kinds readers
rate well (POSTED_KINDS); the table ships beside the model (`<name>_seams.json`) and the pool draws
seams in proportion to the square root of those counts, so the rarer seams still come up. The
other kinds still parse, for the posts and panel items made with them.

Tried and dropped (blind panels, docs/decisions.md): openings that take an object ("Towards X
with Y"; lowest in panels 8 and 9), the joins ("X for Song": 2.41 of 5 over 66 network items in
panels 8-10, the lowest kind left; readers: "a clunky preposition and no link between the halves")
and the "Paper - Song" dash (2.57, read as "Artist - Title").
"""
from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelFileError

MIN_TAG_COUNT = 20  # a version tag must end this many bracketed song-title groups to be a seam
MIN_JOIN_COUNT = 25  # a joining word must attach the object of this many paper titles
# Paper-side seams: joining words after which a title names its object ("... for X"); how often
# each is drawn is counted in the corpus.
OBJECT_JOINERS = ("for", "with", "via", "using")
_LAST_GROUP = re.compile(r"\(([^()]*)\)\s*$")
_FEATURE = re.compile(r"(?:^|\s|\()(?:feat|ft)\.?\s", re.IGNORECASE)
_PRODUCER = re.compile(r"\(prod\.?\s", re.IGNORECASE)


@dataclass(frozen=True)
class Seam:
    """One way of joining the halves. kind: "feat", "prod", "tag", "dash", "colon" or "join";
    tag: see below; count: how often the corpora use it."""

    kind: str
    tag: str = ""  # the version word ("Remix") or joining word ("for")
    count: int = 0

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.tag.lower()}" if self.kind in TAGGED else self.kind

    def join(self, song: str, paper: str) -> str:
        """The post: song half and paper phrase joined at this seam."""
        if self.kind == "feat":
            return f"{song} (feat. {paper})"
        if self.kind == "prod":
            return f"{song} (prod. {paper})"
        if self.kind == "tag":
            return f"{song} ({paper} {self.tag})"
        if self.kind == "dash":
            return f"{_title_start(paper)} - {song}"
        if self.kind == "colon":  # a paper's "Name: subtitle", the phrase as the name
            return f"{_title_start(paper)}: {song}"
        if self.kind == "join":  # the phrase's object is the song: "Backpropagation for Holy Ghost"
            return f"{_title_start(paper)} {self.tag} {song}"
        raise ValueError(f"unknown seam kind {self.kind!r}")


def _title_start(text: str) -> str:
    """A phrase that opens the post starts with a capital, as titles do ("recognition" ->
    "Recognition"); the rest is left as written ("word2vec" stays, "iPhone" is left alone)."""
    return text[:1].upper() + text[1:] if text[:1].islower() and not text[1:2].isupper() else text


KINDS = ("feat", "prod", "tag", "dash", "colon", "join")
POSTED_KINDS = ("feat", "prod", "tag", "colon")  # what learn keeps: the module docstring says why
TAGGED = ("tag", "join")  # kinds whose name carries their word: "tag:remix", "join:for"
_PARSERS = (
    ("feat", re.compile(r"^(?P<song>.+) \(feat\. (?P<paper>[^()]+)\)$")),
    ("prod", re.compile(r"^(?P<song>.+) \(prod\. (?P<paper>[^()]+)\)$")),
    ("tag", re.compile(r"^(?P<song>.+) \((?P<paper>[^()]+) (?P<tag>[A-Z][a-z]+)\)$")),
    ("colon", re.compile(r"^(?P<paper>[^:]+): (?P<song>.+)$")),
    ("dash", re.compile(r"^(?P<paper>.+?) - (?P<song>.+)$")),
    ("join", re.compile(rf"^(?P<paper>[^()]+?) (?P<tag>{'|'.join(OBJECT_JOINERS)}) (?P<song>.+)$")),
)


def parse(text: str) -> tuple[str, str, str] | None:
    """(seam name, song half, paper half) of a post made by Seam.join, or None for other texts.
    Lets the worker see the seams and halves of what it posted from the texts alone."""
    for kind, pattern in _PARSERS:
        m = pattern.match(text)
        if m:
            name = f"{kind}:{m.group('tag').lower()}" if kind in TAGGED else kind
            return name, m.group("song"), m.group("paper")
    return None


def learn(song_titles: list[str], arxiv_titles: list[str], kinds: tuple[str, ...] = POSTED_KINDS) -> list[Seam]:
    """The seams of the given kinds that the corpora use, with their counts, most used first."""
    tags: Counter = Counter()
    spelled: dict[str, Counter] = {}
    feats = prods = dashes = 0
    for title in song_titles:
        group = _LAST_GROUP.search(title)
        words = group.group(1).split() if group else []
        if len(words) >= 2 and words[-1].isalpha() and words[0].lower() not in ("feat.", "ft.", "feat", "prod."):
            key = words[-1].lower()
            tags[key] += 1
            spelled.setdefault(key, Counter())[words[-1] if not words[-1].isupper() else words[-1].title()] += 1
        feats += bool(_FEATURE.search(title))
        prods += bool(_PRODUCER.search(title))
        dashes += " - " in title
    colons = sum(": " in t for t in arxiv_titles)
    seams = [Seam("feat", count=feats), Seam("prod", count=prods), Seam("dash", count=dashes),
             Seam("colon", count=colons)]
    seams += [Seam("tag", spelled[k].most_common(1)[0][0], n) for k, n in tags.items() if n >= MIN_TAG_COUNT]
    seams += [Seam("join", j, n) for j, n in _object_joiners(arxiv_titles).items() if n >= MIN_JOIN_COUNT]
    return sorted((s for s in seams if s.count and s.kind in kinds), key=lambda s: (-s.count, s.name))


def _object_joiners(arxiv_titles: list[str]) -> Counter:
    """How many paper titles attach an object to an opening phrase with each joining word: the
    first joining word of the title, after a capitalised phrase ("Deep Learning for ...")."""
    found: Counter = Counter()
    for title in arxiv_titles:
        words = title.split(":")[0].split()
        first = next((i for i, w in enumerate(words) if w.lower() in OBJECT_JOINERS), None)
        if first and first < len(words) - 1 and words[0][:1].isupper():
            found[words[first].lower()] += 1
    return found


def save(seams: list[Seam], path: Path) -> None:
    from ..files import atomic_write_text

    text = json.dumps([{"kind": s.kind, "tag": s.tag, "count": s.count} for s in seams], indent=1)
    atomic_write_text(path, text)


def load(path: Path) -> list[Seam]:
    """The shipped seam table. Raises ModelFileError naming the file if it is missing or broken."""
    try:
        rows = json.loads(Path(path).read_text(encoding="utf8"))
        seams = [Seam(str(r["kind"]), str(r.get("tag", "")), int(r["count"])) for r in rows]
    except FileNotFoundError:
        raise ModelFileError(f"seam table {path} is missing; run bot derive to write it") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelFileError(f"seam table {path} is unreadable ({e}); run bot derive to rewrite it") from None
    for s in seams:
        if s.kind not in KINDS or s.count < 1 or (s.kind in TAGGED) != bool(s.tag):
            raise ModelFileError(f"seam table {path} has a bad row {s}; run bot derive to rewrite it")
    if not seams:
        raise ModelFileError(f"seam table {path} is empty; run bot derive to rewrite it")
    return seams


def weights(seams: list[Seam]) -> list[float]:
    """Drawing weights: square roots of the counts, normalised."""
    roots = [math.sqrt(s.count) for s in seams]
    total = sum(roots)
    return [r / total for r in roots]
