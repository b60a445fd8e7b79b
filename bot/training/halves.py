"""Training examples for the halves strategy: whole song titles and whole paper phrases.

A post is a song title and a paper phrase joined at one seam (bot/curation/seams.py). The
network learns to write each half whole: song titles with their tags, artist names and quotes
taken off ("Heat of the Moment"), and the phrases paper titles are built from, cut where titles
join phrases (a colon, "for", "with", "via", "of"...): "Visual Question Answering",
"Multi-modal Factorized Bilinear Pooling", "CREST". Each example ends where its half ends, so the
network learns where a half may stop.
"""
from __future__ import annotations

import re

from ..curation.words import JOINERS, STOPWORDS

MAX_SONG_WORDS = 6
MAX_PHRASE_WORDS = 5
# Where a paper title joins two phrases: JOINERS, and colons, dashes and question marks.
# Tag words that end an untidy title ("Look Right Through Soundcloud Edit"): not a bare title.
TAG_WORDS = frozenset("remix edit mix version cover bootleg rework flip dub vip rmx remaster remastered".split())
_BRACKETS = re.compile(r"\s*[(\[][^()\[\]]*[)\]]")
_FEATURE = re.compile(r"\s+(?:feat\.?|ft\.?|featuring|prod\.?|w/)\s.*$", re.IGNORECASE)
_QUOTES = "\"'“”‘’«»"
_SPLIT = re.compile(r"\s*(?::|\?|!|;|\s-\s|\s–\s|\s—\s)\s*")


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip(" ,.-–—&+").strip()


def song_half(title: str) -> str | None:
    """The bare song title: no artist ("Artist - Title"), no bracketed tag or feature, no quotes;
    an all-capitals title in title case. None if nothing of 1..MAX_SONG_WORDS words is left."""
    if " - " in title:
        title = title.split(" - ", 1)[1]
    title = _FEATURE.sub("", _BRACKETS.sub("", title))
    title = _tidy(title.strip(_QUOTES).replace("\"", ""))
    if not title or any(ch in title for ch in "()[]{}$|#@/\\<>"):
        return None
    if title.isupper() and len(title) > 3:
        title = title.title()
    words = title.split()
    if words[-1].lower() in TAG_WORDS:
        return None
    if not 1 <= len(words) <= MAX_SONG_WORDS or len(title) > 40:
        return None
    return title


def _is_name(word: str) -> bool:
    """A method or model name: capitals or digits after its first letter ("AlignGAN", "S3FD")."""
    return len(word) >= 3 and any(ch.isupper() or ch.isdigit() for ch in word[1:])


def paper_phrases(title: str) -> list[str]:
    """The phrases a paper title is built from, each of 1..MAX_PHRASE_WORDS words, leading
    articles dropped; a single word is kept only if it is a name or a long technical word."""
    if "$" in title or "\\" in title:
        return []
    phrases = []
    for part in _SPLIT.split(title):
        current: list[str] = []
        for word in part.split() + [None]:
            if word is None or word.lower() in JOINERS or word.lower() == "and" and len(current) > 2:
                phrases.append(current)
                current = []
            else:
                current.append(word)
    kept = []
    for words in phrases:
        while words and words[0].lower() in ("a", "an", "the", "and", "or", "is", "are"):
            words = words[1:]
        while words and words[-1].lower() in STOPWORDS:
            words = words[:-1]
        if not 1 <= len(words) <= MAX_PHRASE_WORDS:
            continue
        if len(words) == 1 and not (_is_name(words[0]) or len(words[0]) >= 9):
            continue
        if all(w.lower() in STOPWORDS for w in words):
            continue
        phrase = _tidy(" ".join(words))
        if phrase and not any(ch in phrase for ch in "()[]{},;|#@\"<>"):
            kept.append(phrase)
    return kept


def examples(song_titles: list[str], arxiv_titles: list[str]) -> dict[str, list[str]]:
    """Unique song halves and paper phrases, in corpus order: {"song": [...], "arxiv": [...]}."""
    songs = dict.fromkeys(h for t in song_titles if (h := song_half(t)))
    phrases = dict.fromkeys(p for t in arxiv_titles for p in paper_phrases(t))
    return {"song": list(songs), "arxiv": list(phrases)}
