"""Replies to mentions, the pure part: what a mention asks for, whether to answer it, and how.

A mention's HTML becomes plain text without mentions, links or hashtag signs; its content words
are the request. The guards against loops and floods are functions of the mention, the time and
the recent replies (state store rows), so they are tested without a server. The job that fetches
mentions and sends replies is bot/posting/replier.py.
"""
from __future__ import annotations

import hashlib
import html
import re
import time
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Sequence

from ..curation import filters
from ..curation.candidates import Candidate
from ..curation.pipeline import build_pool
from ..curation.words import JOINERS, STOPWORDS, words

HOUR, DAY = 3600, 86400
MAX_REQUEST_WORDS = 3  # request words tried as steering, in order, before a fresh mashup
MAX_WORD_CHARS = 24  # longer "words" are noise (hashes, glued text), not requests
REPLY_SAMPLES = 24  # candidates sampled for one reply: p95 under 1 s (bench/reply_latency.py), every request steered

# Skip reasons, logged once per mention and kept in the state store.
OWN, TOO_OLD, BOT_LIMIT, ACCOUNT_RATE, HOURLY_RATE, THREAD_DEPTH, UNREADABLE = (
    "own-status", "too-old", "bot-limit", "account-rate", "hourly-rate", "thread-depth", "unreadable")

MAX_CONTENT_CHARS = 10_000  # of a mention's HTML that is read: its request is in its first words
MAX_TEXT_CHARS = 1_000  # of its text that is parsed into request words
# A mention's HTML as a run of tokens, each character read once: a tag, a run of text, or a "<"
# that opens no tag. No pattern here can backtrack over what another token holds, so reading is
# linear in the content's length (a hostile 1 MB status costs no more than its cap).
_HTML_TOKEN = re.compile(r"<[^<>]*>|[^<]+|<")
_TAG_NAME = re.compile(r"</?\s*([A-Za-z][A-Za-z0-9]*)")
_ATTRIBUTE = re.compile(r"""\b(class|rel)\s*=\s*["']([^"']*)["']""")
_BREAKS = frozenset("br p div li ul ol blockquote pre h1 h2 h3 h4 h5 h6".split())  # tags that part words
_MENTION_TEXT = re.compile(r"(?<![\w/])@[\w.-]+(?:@[\w.-]+\w)?")
_URL_TEXT = re.compile(r"(?i)\b(?:https?://|www\.)\S+")
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# Words of asking, not of the request ("@bot please make one about transformers"), and words no
# half starts with: those that join paper phrases and the seams' own ("feat", "remix").
REQUEST_FILLER = frozenset("""
please pls plz hi hello hey thanks thank thx make write give get me something anything about another one
mashup mashups title titles bot ok okay lol new random
""".split()) | JOINERS | filters.TAG_WORDS
_RANK = {"direct": 0, "private": 1, "unlisted": 2, "public": 3}


def mention_text(content: str) -> str:
    """The words of a mention: HTML, mentions, links and hashtag signs removed (a hashtag keeps
    its word: "make one about #transformers" asks for "transformers"), spaces collapsed. Reads at
    most MAX_CONTENT_CHARS of the HTML and keeps at most MAX_TEXT_CHARS of the text (cut at a
    space), in time linear in what it reads."""
    content = content or ""
    if len(content) > MAX_CONTENT_CHARS:
        content = content[:MAX_CONTENT_CHARS]
        if content.rfind("<") > content.rfind(">"):  # a tag cut in two is no text
            content = content[:content.rfind("<")]
    text = _visible_text(content)
    text = _URL_TEXT.sub(" ", _MENTION_TEXT.sub(" ", text))  # those a server sent as plain text
    text = " ".join(text.replace("#", " ").split())
    if len(text) > MAX_TEXT_CHARS:
        text = text[:MAX_TEXT_CHARS + 1].rsplit(" ", 1)[0] if " " in text[:MAX_TEXT_CHARS + 1] else ""
    return text


def _visible_text(content: str) -> str:
    """The text a reader sees of a mention's HTML, without the text of mention links and of
    links to pages; a hashtag link keeps its text (with the sign, removed later), as does a link
    whose whole text is a hashtag (servers that do not mark them)."""
    out: list[str] = []
    held: list[str] = []  # the text of an open link to a page: kept only if it is a hashtag
    inside = None  # the open link: "tag" (text kept), "mention" (text dropped), "link" (held)
    for token in _HTML_TOKEN.findall(content):
        if len(token) > 1 and token[0] == "<" and token[-1] == ">":
            found = _TAG_NAME.match(token)
            name = found.group(1).lower() if found else ""
            if name == "a":  # a link opens or closes (links do not nest)
                if inside == "link" and "".join(held).lstrip().startswith("#"):
                    out.extend(held)
                held, inside = [], None
                out.append(" ")
                if not token.startswith("</"):
                    attributes = {k.lower(): v.lower().split() for k, v in _ATTRIBUTE.findall(token)}
                    inside = ("tag" if "hashtag" in attributes.get("class", ()) or "tag" in attributes.get("rel", ())
                              else "mention" if "mention" in attributes.get("class", ()) else "link")
            elif name in _BREAKS:
                (held if inside == "link" else out).append(" ")
            continue
        if inside in (None, "tag"):
            out.append(html.unescape(token))
        elif inside == "link":
            held.append(html.unescape(token))
    return "".join(out)


@dataclass(frozen=True)
class Request:
    """What a mention asks for: its content words as typed, and whether some were refused by the
    safety filter (then the reply is a fresh mashup and none of the request is echoed)."""
    words: tuple[str, ...]
    refused: bool = False

    @property
    def usable(self) -> bool:
        return bool(self.words) and not self.refused


def parse_request(text: str, known=None) -> Request:
    """Content words of the text (compatibility forms such as full-width letters folded; no
    function words, joining or tag words, numbers or overlong tokens), at most MAX_REQUEST_WORDS.
    With known (lower-case word -> bool: the model's corpora know it), a word they do not know is
    swapped for its singular or plural, or a possessive for its word, if that is known
    ("transformers" -> "transformer", "Transformer's" -> "Transformer"), else dropped: no reply
    may hold an invented word."""
    found, refused = [], False
    for token in _WORD.findall(unicodedata.normalize("NFKC", text)):  # full-width letters, ligatures
        lowered = words(token)
        if not lowered:
            continue
        if not filters.safety(token).passed:
            refused = True
            continue
        w = lowered[0]
        if w in STOPWORDS or w in REQUEST_FILLER or w.isdigit() or not any(ch.isalpha() for ch in w) \
                or len(w) > MAX_WORD_CHARS:
            continue
        if known is not None and not known(w):
            token = next((v for v in _variants(token) if known(words(v)[0])), None)
            if token is None:
                continue
        if all(words(f)[0] != words(token)[0] for f in found):
            found.append(token)
    return Request(tuple(found[:MAX_REQUEST_WORDS]), refused)


def _variants(token: str) -> list[str]:
    if token.lower().endswith(("'s", "’s")):  # a possessive: the word itself
        return [token[:-2]]
    if token.lower().endswith("ies"):
        return [token[:-3] + "y"]
    if token.lower().endswith("s"):
        return [token[:-1]]
    return [token + "s"]


def steering_prefix(word: str) -> str:
    """The start a reply is sampled from: the word with a capital, as titles start, then a space."""
    return word[:1].upper() + word[1:] + " "


def steering_half(word: str, stats) -> str:
    """The half a request word starts, for halves models (stats: WordStats, curation/evidence.py):
    the corpus that uses it, and for a word both use, "arxiv" if the paper titles use it more (by
    stats.log_ratio), so that "transformers" opens the paper phrase ("Stay (Transformer Networks
    Remix)"); else, and for a word neither uses, "song". A half may only hold words its corpus
    uses, so a word used once in the paper titles must open a paper phrase."""
    found = words(word)
    if not found:
        return "song"
    w = found[0]
    in_song, in_arxiv = stats.song.get(w, 0) > 0, stats.arxiv.get(w, 0) > 0
    if in_song != in_arxiv:
        return "arxiv" if in_arxiv else "song"
    return "arxiv" if in_arxiv and stats.log_ratio(w) < 0 else "song"


def uses_request(mashup: str, request: Request) -> bool:
    """Whether a request word is visibly in the mashup (as a whole word, any case)."""
    wanted = {words(w)[0] for w in request.words}
    return bool(wanted & set(words(mashup)))


def reply_visibility(mention: str, posts: str) -> str:
    """Never wider than the mention's: direct stays direct, followers-only stays followers-only,
    public and unlisted become unlisted; and never wider than the posts' own setting."""
    wanted = {"direct": "direct", "private": "private"}.get(mention, "unlisted")
    return min(wanted, posts, key=lambda v: _RANK.get(v, 0))


def reply_text(acct: str, mashup: str) -> str:
    """The author's handle, then the mashup: nobody else is mentioned."""
    return f"@{acct} {mashup}"


def idempotency_key(own_account_id: str, mention_id: str) -> str:
    """The same key for every attempt at answering one mention, across restarts."""
    return hashlib.sha256(f"reply:{own_account_id}:{mention_id}".encode()).hexdigest()[:40]


@dataclass(frozen=True)
class Limits:
    max_age: float  # seconds
    per_account: int  # replies per account per hour
    per_hour: int  # replies per hour overall
    bot_limit: int  # replies per day to an account with the bot flag
    max_depth: int  # own replies a thread may already hold

    @classmethod
    def of(cls, settings) -> "Limits":
        return cls(settings.reply_max_age, settings.reply_per_account, settings.reply_per_hour,
                   settings.reply_bot_limit, settings.reply_max_depth)


def skip_reason(mention, own_account_id: str, now: float, recent: Sequence, limits: Limits) -> str | None:
    """Why not to answer this mention, or None. recent: the replies (sent or being sent) of the
    last day, each with account_id and created_at (epoch seconds)."""
    if mention.account_id == own_account_id:
        return OWN
    if now - mention.created_at > limits.max_age:
        return TOO_OLD
    last_day = [r for r in recent if r.created_at > now - DAY]
    last_hour = [r for r in last_day if r.created_at > now - HOUR]
    if mention.bot and sum(r.account_id == mention.account_id for r in last_day) >= limits.bot_limit:
        return BOT_LIMIT
    if sum(r.account_id == mention.account_id for r in last_hour) >= limits.per_account:
        return ACCOUNT_RATE
    if len(last_hour) >= limits.per_hour:
        return HOURLY_RATE
    return None


def too_deep(ancestor_authors: Iterable[str], own_account_id: str, max_depth: int) -> bool:
    """A thread that already holds max_depth of our own replies gets no more."""
    return sum(a == own_account_id for a in ancestor_authors) >= max_depth


@dataclass(frozen=True)
class Composed:
    mashup: str | None  # None: no candidate passed every filter
    steered_by: str | None  # the request word one of the mashup's halves starts with, if any
    sampled: int
    seconds: float  # sampling and screening


class Composer:
    """Writes the mashup of a reply through the halves pipeline (build_pool: sampling, every
    filter a post passes, ranking), steered by a request word given to the sampler as a prefix:
    of the whole title, or for halves models of the half whose corpus uses the word more
    (steering_half)."""

    def __init__(self, runtime, temperatures: Sequence[float], samples: int = REPLY_SAMPLES):
        """runtime: bot.runtime.Runtime, shared with the worker's pool."""
        self.runtime, self.evidence = runtime, runtime.evidence
        self.temperatures, self.samples = tuple(temperatures), samples

    def request(self, text: str) -> Request:
        return parse_request(text, self.evidence.stats.known)

    def __call__(self, request: Request, max_chars: int, posted: frozenset[str] = frozenset(),
                 seed: int | None = None) -> Composed:
        started, sampled = time.perf_counter(), 0
        steering = list(request.words) if request.usable else []
        for i, word in enumerate(steering + [None]):
            prefix = steering_prefix(word) if word else ""
            half = steering_half(word, self.evidence.stats) if word else "song"
            pool = build_pool(self.runtime, self.samples, self.temperatures,
                              seed=None if seed is None else seed + i, max_chars=max_chars, posted=posted,
                              prefix=prefix, prefix_half=half)
            sampled += pool.sampled
            best = _best(pool.passing, word)
            if best is not None:
                return Composed(best.text, word, sampled, time.perf_counter() - started)
        return Composed(None, None, sampled, time.perf_counter() - started)


def _best(passing: list[Candidate], word: str | None) -> Candidate | None:
    """The best passing candidate that still holds the steering word as a word (a filter never
    edits a text, but a sampler might, e.g. by trimming spaces); the best of all without one."""
    wanted = words(word or "")
    if not wanted:
        return passing[0] if passing else None
    return next((c for c in passing if wanted[0] in words(c.text)), None)
