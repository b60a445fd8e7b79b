"""The reply job the daemon runs every REPLY_CHECK: fetch new mentions, decide, answer each once.

Exactly once per mention: the decision (an intent to reply, or a skip) is stored under the
mention's id before the server is called; the reply goes out with an Idempotency-Key derived from
that id; an intent left by a crash is settled against the account's own recent replies
(in_reply_to_id), else sent again with the same key. The last handled notification id is kept in
the state store, so a restart starts where the last run stopped.
"""
from __future__ import annotations

import logging
import random
import threading
import time
from typing import Callable

from . import replies
from ..curation import filters
from ..curation.words import canonical
from ..errors import AuthError, MissingScopeError, RejectedError
from .gateway import Mention, Published, ReplyGateway
from .retry import RetryPolicy
from .settings import Settings
from ..store import Store

log = logging.getLogger("bot")
AFTER_KEY = "replies_after"  # bot_meta: the last handled notification id


class Replier:
    def __init__(self, settings: Settings, store: Store, gateway: ReplyGateway, account_id: str,
                 composer: replies.Composer, stop: threading.Event, status_limit: int | None = None,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None):
        self.settings, self.store, self.gateway, self.account_id = settings, store, gateway, str(account_id)
        self.composer, self.stop, self.clock = composer, stop, clock
        self.status_limit = status_limit
        self.limits = replies.Limits.of(settings)
        self.retry = RetryPolicy(settings.retry_base, settings.retry_max, stop, rng)
        self.disabled = False
        self.timings: list[float] = []  # seconds spent composing each reply (bench/reply_latency.py)

    # -- the job ----------------------------------------------------------------------------------
    def check(self) -> list[Published]:
        """Settle unfinished replies, then answer the mentions that arrived since the last check."""
        if self.disabled or not self.reconcile():
            return []
        try:
            mentions = self.gateway.mentions(self.store.get_meta(AFTER_KEY))
        except MissingScopeError as e:
            log.error("%s; replies are off until then (posting goes on)", e)
            self.disabled = True
            return []
        sent = []
        for mention in mentions:
            if self.stop.is_set():
                break
            published = self.handle(mention)
            if published is None and self.stop.is_set() and self.store.reply(mention.status_id) is None:
                break  # undecided: the next check sees it again
            if published:
                sent.append(published)
            self.store.set_meta({AFTER_KEY: mention.notification_id})
        return sent

    def handle(self, mention: Mention) -> Published | None:
        if self.store.reply(mention.status_id) is not None:
            return None  # decided before (a restart between the decision and the pointer's move)
        now = self.clock()
        reason = replies.skip_reason(mention, self.account_id, now, self.store.replies_since(int(now - replies.DAY)),
                                     self.limits)
        if reason is None and mention.in_reply_to_id:
            if replies.too_deep(self._ancestors(mention), self.account_id, self.limits.max_depth):
                reason = replies.THREAD_DEPTH
        if self.stop.is_set():
            return None
        if reason is None:
            return self._answer(mention, now)
        if self.store.record_reply(mention, "skipped", int(now), reason=reason):
            log.info("skipped mention %s from @%s: %s", mention.status_id, mention.acct, reason)
        return None

    def _ancestors(self, mention: Mention) -> list[str]:
        return self.retry.retry(lambda: self.gateway.ancestor_authors(mention.status_id)) or []

    def compose(self, mention: Mention) -> tuple[replies.Request, replies.Composed]:
        request = self.composer.request(replies.mention_text(mention.content))
        handle = len(replies.reply_text(mention.acct, ""))
        limit = self.status_limit or 500
        max_chars = min(filters.MAX_CHARS, limit - handle - len(self.settings.content_warning or ""))
        posted = self.store.posted_canonicals() | self.store.reply_canonicals()
        composed = self.composer(request, max_chars, posted)
        self.timings.append(composed.seconds)
        return request, composed

    def _answer(self, mention: Mention, now: float) -> Published | None:
        request, composed = self.compose(mention)
        if composed.mashup is None:
            if self.store.record_reply(mention, "skipped", int(now), reason="no-candidate"):
                log.warning("skipped mention %s from @%s: no candidate passed the filters", mention.status_id,
                            mention.acct)
            return None
        text = replies.reply_text(mention.acct, composed.mashup)
        visibility = replies.reply_visibility(mention.visibility, self.settings.visibility)
        key = replies.idempotency_key(self.account_id, mention.status_id)
        if not self.store.record_reply(mention, "pending", int(now), text=text, canonical=canonical(composed.mashup),
                                       visibility=visibility, key=key):
            return None
        try:
            published = self._publish(text, key, mention.status_id, visibility)
        except RejectedError as e:
            self.store.mark_reply_skipped(mention.status_id, "rejected")
            log.warning("skipped mention %s from @%s: %s", mention.status_id, mention.acct, e)
            return None
        except AuthError:
            self.store.drop_reply(mention.status_id)  # nothing was published
            raise
        if published is None:  # stopping: the intent stays, the next start settles it
            return None
        self.store.mark_reply_posted(mention.status_id, published.status_id, published.url, int(self.clock()))
        steer = f"steered by {composed.steered_by!r}" if composed.steered_by else (
            "fresh: request refused" if request.refused else "fresh: no request word worked" if request.words
            else "fresh: no request")
        log.info("replied to @%s (mention %s, %s, %s, %.2f s): %r %s", mention.acct, mention.status_id, visibility,
                 steer, composed.seconds, text, published.url)
        return published

    # -- exactly once -----------------------------------------------------------------------------
    def reconcile(self) -> bool:
        """Settle reply intents left by a crash. False if one is still unsettled (stopping)."""
        pending = self.store.pending_replies()
        if not pending:
            return True
        found = self._own_replies()
        if found is None:
            return False
        for intent in pending:
            try:
                published = found.get(intent.mention_id) or self._publish(
                    intent.text, intent.idempotency_key, intent.mention_id, intent.visibility)
            except RejectedError as e:
                self.store.mark_reply_skipped(intent.mention_id, "rejected")
                log.warning("unfinished reply to mention %s: %s", intent.mention_id, e)
                continue
            if published is None:
                return False
            self.store.mark_reply_posted(intent.mention_id, published.status_id, published.url, int(self.clock()))
            log.info("settled unfinished reply to mention %s: %s", intent.mention_id, published.url)
        return True

    def _own_replies(self) -> dict[str, Published] | None:
        return self.retry.retry(lambda: self.gateway.recent_replies(self.account_id))

    def _publish(self, text: str, key: str, in_reply_to_id: str, visibility: str) -> Published | None:
        """Send the reply, retrying temporary failures with the same key until it works or we stop."""
        return self.retry.retry(lambda: self.gateway.reply(text, key, in_reply_to_id, visibility,
                                                           self.settings.content_warning, self.settings.language))
