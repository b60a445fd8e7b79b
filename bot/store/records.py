"""The rows the store hands out, as frozen values (one dataclass per kind of row)."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Post:
    slot: int  # epoch seconds of the slot the post fills
    text: str
    canonical: str
    idempotency_key: str
    state: str  # "pending" (an intent: written before the server is called) or "posted"
    status_id: str | None
    url: str | None
    created_at: int
    posted_at: int | None


@dataclass(frozen=True)
class Reply:
    mention_id: str
    notification_id: str
    account_id: str
    acct: str
    bot: bool
    state: str  # "pending", "posted" or "skipped"
    reason: str | None
    text: str | None
    canonical: str | None
    visibility: str | None
    idempotency_key: str | None
    status_id: str | None
    url: str | None
    created_at: int
    posted_at: int | None
    network: str = "mastodon"  # where the mention was made, and the reply goes


@dataclass(frozen=True)
class PooledCandidate:
    text: str
    canonical: str
    score: float
    temperature: float
    features: dict = field(default_factory=dict)  # what the curator saw (halves models)


@dataclass(frozen=True)
class Reading:
    """Engagement counts of one post at one reading ('first' or 'final'); None: status gone."""

    slot: int
    reading: str
    favourites: int | None
    boosts: int | None
    replies: int | None
    read_at: int

    @property
    def total(self) -> int | None:
        return None if self.favourites is None else self.favourites + self.boosts + self.replies


@dataclass(frozen=True)
class PostFeatures:
    slot: int
    text: str
    status_id: str | None
    posted_at: int | None
    features: dict
    curator_score: float | None
    choice: str | None


@dataclass(frozen=True)
class Delivery:
    """One status sent (or about to be sent) to one network: the publisher's intent and outcome.
    Keyed by (kind, ref, network): a post or reply leaves through each network at most once."""

    kind: str  # "post" or "reply"
    ref: str  # posts: the slot (epoch seconds) as text; replies: the mention's status id
    network: str  # "mastodon" or "bluesky"
    text: str  # exactly what is sent
    key: str  # Mastodon: the Idempotency-Key; Bluesky: the record key
    reply_to: str | None  # the network's id of the status answered (replies)
    state: str  # "pending" (written before the first attempt), "sent" or "refused"
    remote_id: str | None = None  # Mastodon: the status id; Bluesky: the record's at:// URI
    url: str | None = None
    reason: str | None = None  # why the network refused it
    created_at: int = 0  # epoch seconds
    sent_at: int | None = None


@dataclass(frozen=True)
class Schedule:
    """The posting schedule's state (kept in bot_meta, one key per field)."""

    anchor: int | None = None  # epoch seconds the slots are counted from
    interval: float | None = None  # seconds between slots when anchor was set (a new setting re-anchors)
    pool_built_at: int | None = None  # epoch seconds the pool was last built
    refused_slots: int = 0  # slots skipped in a row because the server refused every candidate
    resume_at: int | None = None  # epoch seconds of the first slot to try after such a run


@dataclass(frozen=True)
class Approval:
    """One slot of the owner's approval queue (bot/posting/approval.py): asked (the candidates are
    stored, their direct messages sent or being sent), then decided once, first answer wins."""

    slot: int  # epoch seconds of the slot
    decision: str | None  # None (no answer yet), "pick", "edit", "none", "timeout-post" or "timeout-skip"
    number: int | None  # the candidate picked, or the one the owner's edit answered
    text: str | None  # what the slot posts: the pick's text, the edit, the curator's pick on a timeout
    how: str | None  # "favourite", "reply", "queue" (the CLI) or "timeout"
    answer: str | None  # the notification that decided it
    refused: str | None  # the last answer that could not be used (an edit the filters refused), and why
    asked_at: int
    decided_at: int | None
    cleaned_at: int | None  # when the slot's direct messages were deleted (or found undeletable)

    @property
    def posts(self) -> bool:
        """The decision posts something (the approved pick or edit, or the curator's pick)."""
        return self.decision in ("pick", "edit", "timeout-post")


@dataclass(frozen=True)
class ApprovalCandidate:
    """A candidate sent to the owner for a slot, with what the curator saw (a labelled example
    once the owner answers)."""

    slot: int
    number: int  # 1.. in the order sent
    text: str
    canonical: str
    score: float  # the curator's score when it was sent
    temperature: float
    features: dict = field(default_factory=dict)
