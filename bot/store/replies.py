"""replies: one row per mention (bot/posting/replier.py): an intent to reply ('pending', written
before the server is called), 'posted', or 'skipped' with its reason. Each row names its network;
a mention's id is the network's (Mastodon: the status id; Bluesky: the post's at:// URI), so the
ids of two networks never meet."""
from __future__ import annotations

from .base import StoreBase
from .records import Reply

_COLUMNS = ("mention_id, notification_id, account_id, acct, bot, state, reason, text, canonical, "
            "visibility, idempotency_key, status_id, url, created_at, posted_at, network")


class RepliesTable(StoreBase):
    def _replies(self, where: str, params: tuple = ()) -> list[Reply]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM replies {where}", params)
        return [Reply(*r[:4], bool(r[4]), *r[5:]) for r in rows]

    def reply(self, mention_id: str) -> Reply | None:
        found = self._replies("WHERE mention_id = ?", (mention_id,))
        return found[0] if found else None

    def replies(self) -> list[Reply]:
        return self._replies("ORDER BY created_at, mention_id")

    def pending_replies(self, network: str | None = None) -> list[Reply]:
        """Unfinished replies, oldest first: of every network, or of one."""
        if network is None:
            return self._replies("WHERE state = 'pending' ORDER BY created_at")
        return self._replies("WHERE state = 'pending' AND network = ? ORDER BY created_at", (network,))

    def replies_since(self, since: int) -> list[Reply]:
        """Replies sent or being sent (not skipped) from since on: what the rate limits count."""
        return self._replies("WHERE state <> 'skipped' AND created_at >= ? ORDER BY created_at", (since,))

    def reply_canonicals(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT canonical FROM replies WHERE canonical IS NOT NULL"))

    def record_reply(self, mention, state: str, now: int, reason: str | None = None, text: str | None = None,
                     canonical: str | None = None, visibility: str | None = None, key: str | None = None,
                     network: str = "mastodon") -> bool:
        """Durably note a decision about a mention on network: an intent to reply ('pending', before
        the server is called) or a skip. False if the mention was decided already (a retry, or
        another instance)."""
        try:
            self._run([(f"INSERT INTO replies ({_COLUMNS}) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL, ?)",
                        (mention.status_id, mention.notification_id, mention.account_id, mention.acct,
                         int(mention.bot), state, reason, text, canonical, visibility, key, now, network))])
        except self.integrity_errors:
            return False
        return True

    def mark_reply_posted(self, mention_id: str, status_id: str, url: str | None, now: int) -> None:
        self._run([("UPDATE replies SET state = 'posted', status_id = ?, url = ?, posted_at = ? "
                    "WHERE mention_id = ?", (status_id, url, now, mention_id))])

    def mark_reply_skipped(self, mention_id: str, reason: str) -> None:
        """A pending reply the server refused: nothing was published."""
        self._run([("UPDATE replies SET state = 'skipped', reason = ? WHERE mention_id = ? AND state = 'pending'",
                    (reason, mention_id))])

    def drop_reply(self, mention_id: str) -> None:
        """Forget a pending reply that was never published (the token was refused): decide again later."""
        self._run([("DELETE FROM replies WHERE mention_id = ? AND state = 'pending'", (mention_id,))])
