"""Bluesky's text rules, as pure functions: length in graphemes and hashtags as tag facets.

A post's text may hold 300 graphemes and 3,000 UTF-8 bytes (app.bsky.feed.post's lexicon:
maxGraphemes 300, maxLength 3000). The reference PDS counts graphemes with Intl.Segmenter, the
extended grapheme clusters of Unicode's UAX #29; `regex`'s \\X matches the same clusters.
A hashtag is plain text on Bluesky unless a facet marks it: a byte range of the UTF-8 text
(start inclusive, end exclusive) and an app.bsky.richtext.facet#tag feature holding the tag
without its '#'; a mention likewise, an app.bsky.richtext.facet#mention feature holding the
account's DID. Source: https://docs.bsky.app/docs/advanced-guides/post-richtext
"""
from __future__ import annotations

import regex

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
_GRAPHEME = regex.compile(r"\X")


def graphemes(text: str) -> int:
    """The number of extended grapheme clusters in text (what Bluesky's 300 counts)."""
    return sum(1 for _ in _GRAPHEME.finditer(text))


def too_long(text: str) -> str | None:
    """Why the PDS would refuse text for its length, or None when it fits."""
    n, size = graphemes(text), len(text.encode("utf-8"))
    if n > MAX_GRAPHEMES:
        return f"{n} graphemes, more than Bluesky's {MAX_GRAPHEMES}"
    if size > MAX_BYTES:
        return f"{size} bytes of UTF-8, more than Bluesky's {MAX_BYTES}"
    return None


def tag_facets(text: str, hashtags: tuple[str, ...]) -> list[dict]:
    """Facets that make each of hashtags ('#bots', as POST_HASHTAGS gives them) a tag where it stands
    in text as a whole word (between spaces or the ends), in order of position. Shapes:
    {"index": {"byteStart": int, "byteEnd": int}, "features": [{"$type": "...#tag", "tag": "bots"}]}."""
    wanted = set(hashtags)
    facets = []
    offset = 0  # byte offset of the current word
    for word in regex.split(r"(\s+)", text):
        size = len(word.encode("utf-8"))
        if word in wanted:
            facets.append({"index": {"byteStart": offset, "byteEnd": offset + size},
                           "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": word[1:]}]})
        offset += size
    return facets


def mention_facet(text: str, did: str) -> dict | None:
    """The facet that makes text's leading @handle (a reply's "@annie.bsky.social ...") a mention
    of the account did, or None when text does not start with one."""
    found = regex.match(r"@[\w.-]*\w", text)
    if found is None:
        return None
    return {"index": {"byteStart": 0, "byteEnd": len(found.group(0).encode("utf-8"))},
            "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}]}
