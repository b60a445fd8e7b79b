"""Bluesky's mentions for the reply job (bot/posting/replier.py), read from the AppView through the
account's PDS (which passes app.bsky.* calls on to it): the calls Mastodon's ReplyGateway makes,
for one Bluesky account.

- mentions: app.bsky.notification.listNotifications, newest first, page after page (cursor) back
  to the last handled one; a notification with reason 'mention' or 'reply' (someone answered the
  bot's post: Bluesky adds no mention then) is a request. Its place in the order is its
  indexedAt and its URI, as fixed-width text that sorts as the notifications do; the state store
  keeps the last handled one. The AppView sorts by the earlier of the author's createdAt and its
  own time, so a mention from a client whose clock is behind can land just before places already
  handled: each check reads LOOKBACK further back, and the replier passes over the mentions it
  decided before.
- ancestor_authors: app.bsky.feed.getPostThread with parentHeight, for the thread depth limit.
- recent_replies: the account's own posts (com.atproto.repo.listRecords) by the post they answer,
  so a mention answered by an earlier state (a lost database) is not answered again.

A mention's id is its post's at:// URI, its author's id the DID. Notifications that lack what a
reply needs (an author, a post record, a time) are skipped with a log line. Sources: the lexicons
of app.bsky.notification.listNotifications and app.bsky.feed.getPostThread, and tests against
@atproto/dev-env's TestNetwork (PDS 0.5.35 and its AppView).
"""
from __future__ import annotations

import html
import logging
from datetime import datetime

from ..errors import MissingScopeError, NotReadableError
from ..outlets.base import Published
from ..outlets.bluesky import POST, BlueskyOutlet, _Refused, web_url
from .gateway import Mention, Mentions

log = logging.getLogger("bot")
REASONS = frozenset({"mention", "reply"})  # notifications that ask the bot for something
PAGE = 50  # notifications per page
MAX_PAGES = 10  # pages read per check; the pointer moves, so the next check goes on
LOOKBACK_MS = 15 * 60 * 1000  # how far before the last handled place each check reads again
THREAD_HEIGHT = 100  # posts above a mention read for the depth limit (REPLY_MAX_DEPTH of ours among them)


def position(indexed_at: str, uri: str) -> str | None:
    """A notification's place in the order, as text that sorts as they do: milliseconds since the
    epoch (15 digits) and the URI. None when indexed_at is not a time."""
    try:
        moment = datetime.fromisoformat(str(indexed_at).replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return f"{round(moment.timestamp() * 1000):015d} {uri}"


def _floor(after: str | None) -> str | None:
    """The place LOOKBACK_MS before `after`; None when there is no (readable) last place."""
    stamp = (after or "")[:15]
    if not stamp.isdigit():
        return None
    return f"{max(0, int(stamp) - LOOKBACK_MS):015d}"


def _dig(value, *keys):
    """value[k1][k2]... where each step is a dict holding the key, else None."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _epoch(text) -> float | None:
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.timestamp() if moment.tzinfo is not None else None


def mention_of(n: dict) -> Mention | None:
    """The Mention a notification holds, or None when it lacks what a reply needs. Its content is
    the post's text made HTML (escaped), as replies.mention_text reads it."""
    author, record = n.get("author"), n.get("record")
    uri, indexed = n.get("uri"), n.get("indexedAt")
    if not isinstance(author, dict) or not isinstance(record, dict) or not isinstance(uri, str) \
            or not uri.startswith("at://") or f"/{POST}/" not in uri:
        return None
    did, handle, text = author.get("did"), author.get("handle"), record.get("text")
    place, created = position(indexed, uri), _epoch(indexed) or _epoch(record.get("createdAt"))
    if not isinstance(did, str) or not isinstance(handle, str) or not handle or not isinstance(text, str) \
            or place is None or created is None:
        return None
    parent_uri = _dig(record, "reply", "parent", "uri")
    parent_uri = parent_uri if isinstance(parent_uri, str) else None
    labels = {x.get("val") for x in author.get("labels") or [] if isinstance(x, dict)}
    return Mention(place, uri, did, handle, "bot" in labels, html.escape(text, quote=False), "public", parent_uri,
                   created)


class BlueskyMentions:
    """The mention source of one Bluesky account (see the module's docstring), through the outlet's
    session. Raises TemporaryServerError, MissingScopeError (mentions), NotReadableError (a
    thread), and AuthError when the session itself is refused."""

    network = "bluesky"

    def __init__(self, outlet: BlueskyOutlet):
        self.outlet = outlet

    def account_id(self) -> str:
        """The account's DID (logs in if need be)."""
        return self.outlet._did()

    def _read(self, what: str, nsid: str, params: dict) -> dict:
        try:
            return self.outlet._call(nsid, params=params)
        except _Refused as e:
            if e.status in (401, 403):
                raise MissingScopeError(f"{what}: Bluesky refused it ({e.status} {e.error}); an app password "
                                        "made without access to notifications cannot answer mentions") from None
            raise NotReadableError(f"{what}: Bluesky answered {e.status} {e.error}: {e.message}", e.status) from None

    def mentions(self, after: str | None) -> Mentions:
        """Mentions and replies to the bot from LOOKBACK_MS before position `after` on (all of the
        newest page if None), oldest first; `newest` is the newest position after `after` seen (any
        reason; None if none), so the pointer moves past what is no request and never back. Odd
        notifications are skipped with a log line."""
        found: dict[str, dict] = {}
        cursor, newest = None, None
        floor = _floor(after)
        for _ in range(MAX_PAGES):
            params = {"limit": PAGE, **({"cursor": cursor} if cursor else {})}
            page = self._read("read mentions", "app.bsky.notification.listNotifications", params)
            items = [n for n in page.get("notifications") or [] if isinstance(n, dict)]
            reached = False
            for n in items:
                place = position(n.get("indexedAt"), n.get("uri")) if isinstance(n.get("uri"), str) else None
                if place is None:
                    log.info("skipped a Bluesky notification without a URI or time: %.200r", n)
                    continue
                if floor is not None and place <= floor:
                    reached = True
                    continue
                if after is None or place > after:
                    newest = place if newest is None or place > newest else newest
                if n.get("reason") in REASONS:
                    found.setdefault(place, n)
            cursor = page.get("cursor")
            if reached or floor is None or not cursor or len(items) < PAGE:
                break
        mentions, seen = [], set()
        for place in sorted(found):
            n = found[place]
            mention = mention_of(n)
            if mention is None:
                log.info("skipped Bluesky notification %s: a %s without an author, post or time", n.get("uri"),
                         n.get("reason"))
            elif mention.status_id not in seen:  # one post may notify as a reply and a mention
                seen.add(mention.status_id)
                mentions.append(mention)
        return Mentions(mentions, newest)

    def ancestor_authors(self, uri: str) -> list[str]:
        """DIDs of the posts above this one in its thread, oldest first, up to THREAD_HEIGHT (a
        deleted or blocked post ends the walk). Raises NotReadableError when the post is gone."""
        answer = self._read("read thread", "app.bsky.feed.getPostThread",
                            {"uri": uri, "depth": 0, "parentHeight": THREAD_HEIGHT})
        authors = []
        node = _dig(answer, "thread", "parent")
        while isinstance(node, dict) and isinstance(node.get("post"), dict):
            did = _dig(node, "post", "author", "did")
            if isinstance(did, str):
                authors.append(did)
            node = node.get("parent")
        return authors[::-1]

    def recent_replies(self, account_id: str, limit: int = 100) -> dict[str, Published]:
        """The account's latest posts that are replies, by the URI of the post they answer."""
        try:
            answer = self.outlet._call("com.atproto.repo.listRecords",
                                       params={"repo": account_id, "collection": POST, "limit": limit})
        except _Refused as e:
            raise e.sorted from None
        found = {}
        for r in answer.get("records") or []:
            parent, uri = _dig(r, "value", "reply", "parent", "uri"), _dig(r, "uri")
            if isinstance(parent, str) and isinstance(uri, str) and uri.startswith("at://"):
                found.setdefault(parent, Published(uri, web_url(uri), str(_dig(r, "value", "text") or ""), None,
                                                   parent))
        return found
