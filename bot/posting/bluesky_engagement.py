"""Engagement of the bot's Bluesky posts, for the learner (bot/posting/learner.py): likes, reposts
and quotes, and replies, as the AppView counts them (app.bsky.feed.getPosts through the account's
PDS, at most 25 posts a call). The engagement job adds them to the same post's Mastodon counts:
one audience, read on every network the post went to.
"""
from __future__ import annotations

from ..errors import NotReadableError
from ..outlets.bluesky import BlueskyOutlet, _Refused
from .gateway import Counts, _count

MAX_URIS = 25  # app.bsky.feed.getPosts' limit per call


def read_bluesky_counts(outlet: BlueskyOutlet, uris: list[str]) -> dict[str, Counts | None]:
    """Counts of these posts by URI: likes as favourites, reposts and quotes as boosts, replies as
    replies (each made sane as Mastodon's are); a post the AppView does not return (deleted,
    hidden) maps to None. Raises TemporaryServerError, NotReadableError (the AppView refused the
    call) and AuthError (the session)."""
    found: dict[str, Counts | None] = {}
    for start in range(0, len(uris), MAX_URIS):
        batch = uris[start:start + MAX_URIS]
        try:
            answer = outlet._call("app.bsky.feed.getPosts", params={"uris": batch})
        except _Refused as e:
            raise NotReadableError(f"read Bluesky posts: {e.status} {e.error}: {e.message}", e.status) from None
        held = {p["uri"]: p for p in answer.get("posts") or [] if isinstance(p, dict) and isinstance(p.get("uri"), str)}
        for uri in batch:
            p = held.get(uri)
            found[uri] = None if p is None else Counts(
                uri, _count(p.get("likeCount")), _count(_count(p.get("repostCount")) + _count(p.get("quoteCount"))),
                _count(p.get("replyCount")))
    return found


def add(mastodon: Counts | None, bluesky: Counts | None) -> Counts | None:
    """One post's counts on both networks: gone on Mastodon (None) stays gone (the learner skips
    it); gone on Bluesky adds nothing."""
    if mastodon is None or bluesky is None:
        return mastodon
    return Counts(mastodon.status_id, _count(mastodon.favourites + bluesky.favourites),
                  _count(mastodon.boosts + bluesky.boosts), _count(mastodon.replies + bluesky.replies))
