"""Candidate filters: pure functions from a title (and shipped evidence) to a Verdict.

Each says why it rejects, with a short reason code for counting and a detail for people.
"""
from __future__ import annotations

import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .evidence import NoveltyIndex, WordStats
from .words import STOPWORDS, one_word, words


@dataclass(frozen=True)
class Verdict:
    passed: bool
    reason: str = ""  # short code, e.g. "not-mixed"; empty when passed
    detail: str = ""
    score: float = 0.0

    @classmethod
    def ok(cls, score: float = 0.0, detail: str = "") -> "Verdict":
        return cls(True, "", detail, score)

    @classmethod
    def reject(cls, reason: str, detail: str, score: float = 0.0) -> "Verdict":
        return cls(False, reason, detail, score)


# --- mixedness -------------------------------------------------------------------------------

LEAN = 1.0  # |log ratio| a word needs to count as one source's: e^1, 2.7x likelier there
MIN_COUNT = 2  # ... and this many occurrences in that source: invented and one-off words count for neither
CAP = 4.0  # no single word's evidence counts for more than this


@dataclass(frozen=True)
class Mix:
    song: list[str]
    arxiv: list[str]
    song_evidence: float
    arxiv_evidence: float

    @property
    def score(self) -> float:
        """Harmonic mean of the two sides' evidence: high only when both are."""
        s, a = self.song_evidence, self.arxiv_evidence
        return 2 * s * a / (s + a) if s and a else 0.0


def mix(title: str, stats: WordStats) -> Mix:
    song, arxiv, s_ev, a_ev = [], [], 0.0, 0.0
    for word in dict.fromkeys(words(title)):  # each word once, in order
        if word in STOPWORDS or word.isdigit():
            continue
        lean = stats.log_ratio(word)
        if lean >= LEAN and stats.song.get(word, 0) >= MIN_COUNT:
            song.append(word)
            s_ev += min(lean, CAP)
        elif lean <= -LEAN and stats.arxiv.get(word, 0) >= MIN_COUNT:
            arxiv.append(word)
            a_ev += min(-lean, CAP)
    return Mix(song, arxiv, s_ev, a_ev)


def mixedness(title: str, stats: WordStats) -> Verdict:
    """Passes titles that use both song and arXiv vocabulary; the score says how strongly."""
    m = mix(title, stats)
    detail = f"song: {', '.join(m.song) or '-'}; arXiv: {', '.join(m.arxiv) or '-'}"
    if not m.song or not m.arxiv:
        side = "arXiv" if m.song else "song" if m.arxiv else "song or arXiv"
        return Verdict.reject("not-mixed", f"no {side} words ({detail})")
    return Verdict.ok(m.score, detail)


# --- novelty ---------------------------------------------------------------------------------

OVERLAP_RATIO = 0.7  # markovify's default: a run of 70% of the title's words is a copy


def overlap_limit(word_count: int) -> int:
    """Longest allowed run of words shared with one training title, minus one."""
    return min(max(math.ceil(OVERLAP_RATIO * word_count), 4), 6)


def novelty(title: str, index: NoveltyIndex) -> Verdict:
    if index.is_training_title(title):
        return Verdict.reject("training-title", "is a training title")
    tokens = words(title)
    if len(tokens) >= 4:
        shared = index.shared_runs(tokens, overlap_limit(len(tokens)))
        if shared:
            return Verdict.reject("copied-run", f"shares {shared[0]!r} with a training title")
    return Verdict.ok()


# --- safety ----------------------------------------------------------------------------------

# wordfilter's list (the text-bot community's: slurs, and ableist and sexual insults) is matched
# inside words too, so "xslurx" fails. Inside-word matching also hits innocent words, so these
# stems, which carry a listed term inside them, are taken out of a word before it is matched
# (found by running the list over both corpora's words).
INNOCENT_STEMS = (
    "night", "knight", "enigma", "benign", "koenig", "nigel", "hannigan", "omniglot",
    "about", "above", "collabor", "sabot", "gabor", "taboo", "metabol", "adaboost", "arabo", "fabolous",
    "script", "manipul", "snip", "miniplate", "flame", "blame", "filament", "homog", "homol", "homom",
    "homot", "homograph", "japan", "mickey", "micky", "mimick", "mustard", "stardust", "stardata",
    "tardigrade", "egypt", "strategyproof", "cocoon", "raccoon", "spice", "aspic", "saltwat",
    "pedagog", "kasperg", "scunthorpe",
)
# Mentions and hashtags are matched more widely than any Mastodon version parses them, after NFKC
# (which maps full-width ＠ and ＃ and the small ﹫ and ﹟ to @ and #): an @ before a username
# character unless a word character, = or / precedes it (Mastodon's rule: "@@name" mentions
# @name, "me@home" mentions nobody), and a # before a run of word
# characters, marks and Mastodon's tag separators (_ · ・ ZWNJ) that holds a letter, a mark or a
# separator ("#1_2" is a tag on 4.x; "#1" is not).
_MENTION = re.compile(r"(?<![\w=/])@[A-Za-z0-9_]")
_TAG_SEPARATORS = "_\u00b7\u30fb\u200c"
_TAG_RUN = re.compile(rf"#([\w{_TAG_SEPARATORS}\u0300-\u036f]*)")
# Characters a reader cannot see that are not control or format characters: the Unicode
# Default_Ignorable_Code_Point ones outside Cf (combining grapheme joiner, Hangul fillers, Khmer
# inherent vowels, Mongolian variation selectors, variation selectors) and blank symbols (braille
# blank). Spaces other than U+0020, line and paragraph separators and unassigned code points count too.
_INVISIBLE = ((0x034F, 0x034F), (0x115F, 0x1160), (0x17B4, 0x17B5), (0x180B, 0x180D), (0x2800, 0x2800),
              (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFFA0, 0xFFA0), (0xE0100, 0xE01EF))
_URL = re.compile(r"(?i)\b(?:https?://|www\.)|\b[\w-]+\.(?:com|net|org|io|ly|co|me|gg|tv|xyz|info|app|dev)\b")


@lru_cache(maxsize=1)
def blocklist() -> tuple[str, ...]:
    with resources.files("wordfilter").joinpath("badwords.json").open(encoding="utf8") as f:
        return tuple(sorted({w.lower() for w in json.load(f)}))


def blocked_term(title: str) -> str | None:
    text = title.casefold()
    for term in blocklist():
        if "-" in term and term in text:
            return term
    for word in re.findall(r"[^\W_]+", unicodedata.normalize("NFKC", text)):
        term = _blocked_in_word(word)
        if term:
            return term
    return None


@lru_cache(maxsize=65536)  # words repeat across a pool's candidates
def _blocked_in_word(word: str) -> str | None:
    for stem in INNOCENT_STEMS:
        word = word.replace(stem, " ")
    return next((term for term in blocklist() if term in word), None)


@lru_cache(maxsize=4096)  # characters repeat: this is called for every character of every candidate
def invisible(ch: str) -> bool:
    """Control, format, private-use, surrogate or unassigned; a space other than U+0020; or a
    character that shows nothing (_INVISIBLE)."""
    category = unicodedata.category(ch)
    if category in ("Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp") or (category == "Zs" and ch != " "):
        return True
    return any(low <= ord(ch) <= high for low, high in _INVISIBLE)


def has_hashtag(text: str) -> bool:
    """A # that Mastodon could read as a tag (text already NFKC-normalised)."""
    for run in _TAG_RUN.findall(text):
        if any(ch.isalpha() or unicodedata.combining(ch) or ch in _TAG_SEPARATORS for ch in run):
            return True
    return False


# The model's own vocabulary entries (textgenrnn's <s>, the corpus markers <song> and <arxiv>, any
# later one): a sampler that failed to consume one must never get it posted.
_CONTROL_TOKEN = re.compile(r"</?[A-Za-z_]\w*>")


def safety(title: str) -> Verdict:
    """Nothing hateful, nothing that would notify, link or tag anyone, none of the model's tokens."""
    if any(invisible(ch) for ch in title):
        return Verdict.reject("control-char", "contains control or invisible characters")
    if _CONTROL_TOKEN.search(title):
        return Verdict.reject("control-token", f"contains the model token {_CONTROL_TOKEN.search(title).group()!r}")
    folded = unicodedata.normalize("NFKC", title)
    if _MENTION.search(folded):
        return Verdict.reject("mention", "contains an @mention")
    if _URL.search(title) or _URL.search(folded):
        return Verdict.reject("url", "contains a URL or domain")
    if has_hashtag(folded):
        return Verdict.reject("hashtag", "contains a hashtag")
    term = blocked_term(title)
    if term:
        return Verdict.reject("blocklisted", "contains a blocklisted word")
    return Verdict.ok()


# --- form ------------------------------------------------------------------------------------

MIN_CHARS = 10
MAX_CHARS = 100
MIN_REAL_WORDS = 0.6
_PAIRS = {")": "(", "]": "[", "}": "{"}
# A title does not stop on an article, a conjunction or one of the prepositions paper titles
# lean on ("... Networks for", "Love of the").
DANGLING = frozenset("a an the and or nor of for with via from by than as".split())


def balanced(title: str) -> bool:
    stack = []
    for ch in title:
        if ch in "([{":
            stack.append(ch)
        elif ch in _PAIRS:
            if not stack or stack.pop() != _PAIRS[ch]:
                return False
    return not stack and title.count('"') % 2 == 0 and title.count("“") == title.count("”")


def real_word_share(title: str, stats: WordStats) -> float:
    tokens = words(title)
    return sum(stats.known(w) for w in tokens) / len(tokens) if tokens else 0.0


def form(title: str, stats: WordStats, max_chars: int = MAX_CHARS) -> Verdict:
    """Length within bounds (max_chars also bounded by the server's limit), brackets and quotes
    balanced, and mostly real words."""
    if len(title) < MIN_CHARS:
        return Verdict.reject("too-short", f"{len(title)} characters, fewer than {MIN_CHARS}")
    if len(title) > max_chars:
        return Verdict.reject("too-long", f"{len(title)} characters, more than {max_chars}")
    if title != title.strip() or "  " in title:
        return Verdict.reject("spacing", "leading, trailing or double spaces")
    if not balanced(title):
        return Verdict.reject("unbalanced", "unbalanced brackets or quotes")
    tokens = words(title)
    if tokens and tokens[-1] in DANGLING and title[-1].isalpha():
        return Verdict.reject("dangling-end", f"ends on {tokens[-1]!r}")
    share = real_word_share(title, stats)
    if share < MIN_REAL_WORDS:
        return Verdict.reject("few-real-words", f"{share:.0%} real words, fewer than {MIN_REAL_WORDS:.0%}")
    return Verdict.ok(share)


# --- freshness -------------------------------------------------------------------------------

def fresh(title: str, posted: frozenset[str]) -> Verdict:
    """Not a text the bot has posted before (compared in canonical form: case, punctuation, spaces)."""
    from .words import canonical

    if canonical(title) in posted:
        return Verdict.reject("already-posted", "was posted before")
    return Verdict.ok()


# --- whole posts -----------------------------------------------------------------------------

MAX_WORDS = 12  # past about 8 to 10 words readers found everything drifting into salad
# Song-title tags: a post has at most one, and never an empty one ("(feat. Remix)").
TAG_WORDS = frozenset("feat prod remix edit mix cover version bootleg rework flip edition dub vip".split())


def whole(title: str, stats: WordStats) -> Verdict:
    """Hard guards on a post: at most MAX_WORDS words, every word of two or more letters seen in
    either corpus (no invented words), no word used twice, at most one tag and none empty."""
    tokens = words(title)
    if len(tokens) > MAX_WORDS:
        return Verdict.reject("too-many-words", f"{len(tokens)} words, more than {MAX_WORDS}")
    invented = [w for w in tokens if len(w) > 1 and not w.isdigit() and not stats.known(w)]
    if invented:
        return Verdict.reject("invented-word", f"{invented[0]!r} is in neither corpus")
    content = [w for w in tokens if w not in STOPWORDS]
    # The same word twice, or two forms of one ("Recognize (Recognition Edit)", "Maps (Map Remix)").
    repeated = next((w for i, w in enumerate(content) for v in content[i + 1:] if one_word(w, v)), None)
    if repeated:
        return Verdict.reject("repeated-word", f"{repeated!r} is used twice (or in two forms)")
    tags = [w for w in tokens if w in TAG_WORDS]
    if len(tags) > 1:
        return Verdict.reject("doubled-tag", f"{len(tags)} tags ({', '.join(tags)})")
    if any(all(w in TAG_WORDS for w in words(group)) for group in re.findall(r"\(([^()]*)\)", title)):
        return Verdict.reject("empty-tag", "brackets with nothing but a tag in them")
    return Verdict.ok()
