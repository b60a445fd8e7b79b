"""Mastodon as an outlet (base.py): statuses through Mastodon.py (bot/posting/gateway.py sorts
its failures), an Idempotency-Key per status, and the account's own recent statuses searched
after an unclear failure (not every server honours the key)."""
from __future__ import annotations

import hashlib

from ..curation.words import canonical
from ..errors import TemporaryServerError
from .base import Outbound, Published


class MastodonOutlet:
    network = "mastodon"

    def __init__(self, gateway, account_id, status_limit: int, visibility: str, content_warning: str | None,
                 language: str):
        """gateway: bot.posting.gateway.Gateway; status_limit: the server's, in characters."""
        self.gateway, self.account_id, self.status_limit = gateway, str(account_id), status_limit
        self.visibility, self.content_warning, self.language = visibility, content_warning, language

    def length(self, text: str) -> int:
        """Characters, as Mastodon counts a text without links (the filters refuse links); the
        content warning counts too."""
        return len(text) + len(self.content_warning or "")

    def limit(self) -> int:
        return self.status_limit

    def key(self, outbound: Outbound) -> str:
        """The same key for every attempt at one status, across restarts and a lost database:
        from the account, what the status is for, and (posts) its text, so that another
        candidate for the same slot is a new status to the server."""
        if outbound.kind == "reply":  # the key replies have always had (bot/posting/replies.py)
            basis = f"reply:{self.account_id}:{outbound.ref}"
        else:
            basis = f"post:{self.account_id}:{outbound.ref}:{outbound.text}"
        return hashlib.sha256(basis.encode()).hexdigest()[:40]

    def send(self, outbound: Outbound, key: str) -> Published:
        status = self.gateway._call("post reply" if outbound.reply_to else "post status",
                                    self.gateway.client.status_post, outbound.text,
                                    in_reply_to_id=outbound.reply_to,
                                    visibility=outbound.visibility or self.visibility,
                                    spoiler_text=self.content_warning, language=self.language, idempotency_key=key)
        if not isinstance(status, dict) or not status.get("id"):
            raise TemporaryServerError("post status: the server's answer has no status id (outcome unknown)")
        return Published(str(status["id"]), status.get("url"), outbound.text)

    def find(self, outbound: Outbound, key: str) -> Published | None:
        """The account's recent status (40 newest, replies included) with this text and, for a
        reply, answering the same status."""
        wanted = canonical(outbound.text)
        for s in self.gateway.recent_statuses(self.account_id):
            if canonical(s.text) == wanted and (outbound.reply_to is None or s.in_reply_to == outbound.reply_to):
                return s
        return None
