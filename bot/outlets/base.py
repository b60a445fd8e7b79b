"""What the publisher needs of a network: send a status under a key, find it again after an
unclear failure, and say how long a text may be as that network counts it.

Errors an outlet raises (bot/errors.py): TemporaryServerError (network, timeouts, 5xx, 429 with
its reset: the publisher retries with the same key), AuthError (credentials refused: this outlet
stops), RejectedError (this text is refused on this network: another text may pass).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Published:
    """A status as the network holds it."""
    status_id: str  # Mastodon: the status id; Bluesky: the record's at:// URI
    url: str | None  # where a person can see it, when known
    text: str
    created_at: float | None = None  # epoch seconds, when the network says
    in_reply_to: str | None = None  # the network's id of the status it answers
    private: bool = False  # a direct message (Mastodon's "direct" visibility): never a post


@dataclass(frozen=True)
class Outbound:
    """One status to send: `kind` "post" (ref: the slot, epoch seconds as text) or "reply" (ref:
    the mention's id on that network); reply_to is the network's id of the status answered."""
    kind: str
    ref: str
    text: str
    reply_to: str | None = None
    slot_time: float | None = None  # posts: the planned slot time (Bluesky derives its record key from it)
    visibility: str | None = None  # Mastodon: this status' visibility (replies); None: the outlet's setting


class Outlet(Protocol):
    network: str  # "mastodon" or "bluesky": the name in settings, logs, stats and the store

    def length(self, text: str) -> int:
        """text's length as this network counts it (Mastodon: characters; Bluesky: graphemes)."""
        ...

    def limit(self) -> int:
        """The longest status this network accepts, in length() units."""
        ...

    def key(self, outbound: Outbound) -> str:
        """The idempotency key (Mastodon) or record key (Bluesky) for this status, made once and
        stored with the intent before the first attempt."""
        ...

    def send(self, outbound: Outbound, key: str) -> Published:
        """Send it once. Raises TemporaryServerError, AuthError, RejectedError."""
        ...

    def find(self, outbound: Outbound, key: str) -> Published | None:
        """After an attempt whose outcome is unknown: the status if the network already holds it.
        Raises TemporaryServerError (and AuthError)."""
        ...
