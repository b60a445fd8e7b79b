"""The reply job the daemon runs every REPLY_CHECK, one per network: fetch new mentions, decide,
answer each once.

A network's mention source (Mastodon: ReplyGateway, bot/posting/gateway.py; Bluesky:
BlueskyMentions, bot/posting/bluesky_mentions.py) gives its mentions, the authors above one in
its thread and the account's own recent replies; the reply leaves through the publisher, whose
one outlet is that network's.

Exactly once per mention: the decision (an intent to reply, or a skip) is stored under the
mention's id (the network's own: a Mastodon status id, a Bluesky at:// URI) and the network before
the server is called; the reply is a delivery of the publisher (Mastodon: an Idempotency-Key
derived from that id; Bluesky: a record key stored before the first attempt); an intent left by a
crash is settled by asking the network whether it holds the reply, else sent again with the same
key. The last handled notification is kept in the state store per network, so a restart starts
where the last run stopped.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable

from . import replies
from .approval import ANSWER_REASON, is_answer
from ..curation import filters
from ..curation.words import canonical
from ..errors import AuthError, MissingScopeError, NotReadableError, RejectedError
from .gateway import Mention, ReplyGateway
from .publisher import Publisher, mastodon_outlet
from ..outlets.base import Outbound, Published
from .retry import RetryPolicy
from .settings import Settings
from ..store import Store

log = logging.getLogger("bot")
AFTER_KEY = "replies_after"  # bot_meta: the last handled notification id (Mastodon; other networks: after_key)


def after_key(network: str) -> str:
    """The bot_meta key of a network's last handled notification."""
    return AFTER_KEY if network == "mastodon" else f"{AFTER_KEY}_{network}"


class Replier:
    def __init__(self, settings: Settings, store: Store, gateway: ReplyGateway, account_id: str,
                 composer: replies.Composer, stop: threading.Event, status_limit: int | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 publisher: Publisher | None = None, network: str = "mastodon"):
        """gateway: the network's mention source; publisher: the one door (default: Mastodon
        through gateway), with that network's outlet first; replies never wait in it: one attempt
        per check, a reply that fails for now stays pending for the next check."""
        self.settings, self.store, self.gateway, self.account_id = settings, store, gateway, str(account_id)
        self.network, self.after_key = network, after_key(network)
        self.composer, self.stop, self.clock = composer, stop, clock
        self.status_limit = status_limit
        self.limits = replies.Limits.of(settings)
        self.retry = RetryPolicy(settings.retry_base, settings.retry_max, stop, rng)
        self.publisher = publisher or Publisher(store, [mastodon_outlet(settings, gateway, account_id, status_limit)],
                                                self.retry, clock)
        self.disabled = False
        self.timings: list[float] = []  # seconds spent composing each reply (bench/reply_latency.py)

    # -- the job ----------------------------------------------------------------------------------
    def check(self) -> list[Published]:
        """Settle unfinished replies, then answer the mentions that arrived since the last check."""
        if self.disabled or not self.reconcile():
            return []
        try:
            mentions = self.gateway.mentions(self.store.get_meta(self.after_key))
        except MissingScopeError as e:
            log.error("%s: %s; replies are off until then (posting goes on)", self.network, e)
            self.disabled = True
            return []
        sent = []
        answered = self._answered(mentions)
        for mention in mentions:
            if self.stop.is_set():
                break
            if mention.status_id in answered and self.store.reply(mention.status_id) is None:
                # Answered by an earlier state (a lost or restored database, an unclear failure).
                self.store.record_reply(mention, "posted", int(self.clock()), text=answered[mention.status_id].text,
                                        network=self.network)
                self.store.mark_reply_posted(mention.status_id, answered[mention.status_id].status_id,
                                             answered[mention.status_id].url, int(self.clock()))
                log.info("mention %s from @%s was answered before (%s); not again", mention.status_id, mention.acct,
                         answered[mention.status_id].url)
                self.store.set_meta({self.after_key: mention.notification_id})
                continue
            try:
                published = self.handle(mention)
            except NotReadableError as e:  # its thread is hidden or gone: no depth to check, no reply
                published = None
                if self.store.record_reply(mention, "skipped", int(self.clock()), reason=replies.UNREADABLE,
                                           network=self.network):
                    log.info("skipped mention %s from @%s: %s", mention.status_id, mention.acct, e)
            if published is None and self.stop.is_set() and self.store.reply(mention.status_id) is None:
                break  # undecided: the next check sees it again
            if published:
                sent.append(published)
            self.store.set_meta({self.after_key: mention.notification_id})
        else:  # all decided: past the notifications that were no answerable mention too (never backwards)
            if getattr(mentions, "newest", None) is not None:
                self.store.set_meta({self.after_key: mentions.newest})
        return sent

    def handle(self, mention: Mention) -> Published | None:
        if self.store.reply(mention.status_id) is not None:
            return None  # decided before (a restart between the decision and the pointer's move)
        now = self.clock()
        if is_answer(self.store, mention.in_reply_to_id):  # an answer to the approval queue, not a request
            reason = ANSWER_REASON
        else:
            reason = replies.skip_reason(mention, self.account_id, now, self.store.replies_since(int(now - replies.DAY)),
                                         self.limits)
        if reason is None and mention.in_reply_to_id:
            if replies.too_deep(self._ancestors(mention), self.account_id, self.limits.max_depth):
                reason = replies.THREAD_DEPTH
        if self.stop.is_set():
            return None
        if reason is None:
            return self._answer(mention, now)
        if self.store.record_reply(mention, "skipped", int(now), reason=reason, network=self.network):
            log.info("skipped mention %s from @%s: %s", mention.status_id, mention.acct, reason)
        return None

    def _ancestors(self, mention: Mention) -> list[str]:
        return self.retry.retry(lambda: self.gateway.ancestor_authors(mention.status_id)) or []

    def compose(self, mention: Mention) -> tuple[replies.Request, replies.Composed]:
        request = self.composer.request(replies.mention_text(mention.content))
        handle = len(replies.reply_text(mention.acct, ""))
        limit = self.status_limit or 500
        warning = len(self.settings.content_warning or "") if self.network == "mastodon" else 0  # Bluesky has none
        max_chars = min(filters.MAX_CHARS, limit - handle - warning)
        posted = self.store.posted_canonicals() | self.store.reply_canonicals()
        composed = self.composer(request, max_chars, posted)
        self.timings.append(composed.seconds)
        return request, composed

    def _answered(self, mentions) -> dict[str, Published]:
        """The account's own recent replies to these mentions (one read, only when some mention is
        undecided): a mention answered by an earlier state is not answered again."""
        if not any(self.store.reply(m.status_id) is None for m in mentions):
            return {}
        found = self.retry.retry(lambda: self.gateway.recent_replies(self.account_id))
        return found or {}

    def _answer(self, mention: Mention, now: float) -> Published | None:
        request, composed = self.compose(mention)
        if composed.mashup is None:
            if self.store.record_reply(mention, "skipped", int(now), reason="no-candidate", network=self.network):
                log.warning("skipped mention %s from @%s: no candidate passed the filters", mention.status_id,
                            mention.acct)
            return None
        text = replies.reply_text(mention.acct, composed.mashup)
        visibility = replies.reply_visibility(mention.visibility, self.settings.visibility)
        outbound = Outbound("reply", mention.status_id, text, reply_to=mention.status_id, visibility=visibility)
        key = self.publisher.outlets[0].key(outbound)
        if not self.store.record_reply(mention, "pending", int(now), text=text, canonical=canonical(composed.mashup),
                                       visibility=visibility, key=key, network=self.network):
            return None
        published = self._send(mention.status_id, outbound)
        if published is None:
            return None
        steer = f"steered by {composed.steered_by!r}" if composed.steered_by else (
            "fresh: request refused" if request.refused else "fresh: no request word worked" if request.words
            else "fresh: no request")
        where = visibility if self.network == "mastodon" else self.network  # Bluesky has no visibility
        log.info("replied to @%s (mention %s, %s, %s, %.2f s): %r %s", mention.acct, mention.status_id, where,
                 steer, composed.seconds, text, published.url)
        return published

    def _send(self, mention_id: str, outbound: Outbound, settling: bool = False) -> Published | None:
        """The reply through the publisher: one attempt (None: pending, the next check goes on);
        refused is a skip; refused credentials drop the intent when nothing went out."""
        try:
            results = self.publisher.publish(outbound, patient=False, settling=settling)
        except RejectedError as e:
            self.store.mark_reply_skipped(mention_id, "rejected")
            log.warning("skipped mention %s: %s", mention_id, e)
            return None
        except AuthError:
            if not self.publisher.deliveries(outbound):
                self.store.drop_reply(mention_id)  # nothing was published
            raise
        sent = [r for r in results.values() if r is not None]
        if not sent:
            return None
        self.store.mark_reply_posted(mention_id, sent[0].status_id, sent[0].url, int(self.clock()))
        return sent[0]

    # -- exactly once -----------------------------------------------------------------------------
    def reconcile(self) -> bool:
        """Settle replies left unfinished (a crash, a stop, a failure for now): the publisher asks
        the server for the account's reply before sending again. False only when stopping."""
        for intent in self.store.pending_replies(self.network):
            if self.stop.is_set():
                return False
            outbound = Outbound("reply", intent.mention_id, intent.text, reply_to=intent.mention_id,
                                visibility=intent.visibility)
            published = self._send(intent.mention_id, outbound, settling=True)
            if published is not None:
                log.info("settled unfinished reply to mention %s: %s", intent.mention_id, published.url)
        return not self.stop.is_set()
