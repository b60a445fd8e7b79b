"""posts: one row per slot and per text; 'pending' rows are intents written before the server is
called, so a post is published at most once across crashes and restarts."""
from __future__ import annotations

import json

from .base import StoreBase
from .records import Post

_COLUMNS = "slot, text, canonical, idempotency_key, state, status_id, url, created_at, posted_at"


class PostsTable(StoreBase):
    def posts(self) -> list[Post]:
        return [Post(*r) for r in self._rows(f"SELECT {_COLUMNS} FROM posts ORDER BY slot")]

    def pending(self) -> list[Post]:
        """Intents not yet confirmed by the server (read every posting check: no full table scan
        of the history in Python)."""
        return [Post(*r) for r in self._rows(f"SELECT {_COLUMNS} FROM posts WHERE state = 'pending' ORDER BY slot")]

    def last_post(self) -> Post | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM posts ORDER BY slot DESC LIMIT 1")
        return Post(*rows[0]) if rows else None

    def posted_canonicals(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT canonical FROM posts"))

    def record_intent(self, slot: int, text: str, canonical: str, key: str, now: int,
                      features: dict | None = None, curator_score: float | None = None,
                      choice: str | None = None) -> bool:
        """Durably note that we are about to post text for slot (with what the curator saw and
        how the post was chosen). False if the slot or the text is taken already (another
        instance, or a retry): then post nothing."""
        try:
            self._run([("INSERT INTO posts (slot, text, canonical, idempotency_key, state, created_at, features, "
                        "curator_score, choice) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                        (slot, text, canonical, key, now, json.dumps(features or {}), curator_score, choice))])
        except self.integrity_errors:
            return False
        return True

    def mark_posted(self, key: str, status_id: str, url: str | None, now: int) -> None:
        self._run([("UPDATE posts SET state = 'posted', status_id = ?, url = ?, posted_at = ? "
                    "WHERE idempotency_key = ?", (status_id, url, now, key)),
                   ("DELETE FROM pool WHERE canonical IN (SELECT canonical FROM posts WHERE idempotency_key = ?)",
                    (key,))])

    def import_posts(self, posts: list[tuple[int, str, str, str, str | None]]) -> None:
        """Statuses the account posted before this database knew of them, as posted rows:
        (created_at, text, canonical, status_id, url). Rows clashing with a known slot or text
        are left out."""
        self._run([("INSERT INTO posts (slot, text, canonical, idempotency_key, state, status_id, url, created_at, "
                    "posted_at) VALUES (?, ?, ?, ?, 'posted', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (at, text, canon, f"imported-{status_id}", status_id, url, at, at))
                   for at, text, canon, status_id, url in posts])

    def drop_intent(self, key: str) -> None:
        """The server refused the post: nothing was published, so the slot is free again."""
        self._run([("DELETE FROM posts WHERE idempotency_key = ? AND state = 'pending'", (key,))])
