"""engagement and learner: what the audience did with each post and the learned weights over time
(bot/posting/learner.py)."""
from __future__ import annotations

import json

from .base import StoreBase
from .records import PostFeatures, Reading


class LearningTables(StoreBase):
    def post_features(self) -> list[PostFeatures]:
        """Published posts, oldest first, with what the curator saw."""
        rows = self._rows("SELECT slot, text, status_id, posted_at, features, curator_score, choice FROM posts "
                          "WHERE state = 'posted' ORDER BY slot")
        return [PostFeatures(*r[:4], json.loads(r[4] or "{}"), *r[5:]) for r in rows]

    def record_reading(self, r: Reading) -> None:
        self._run([("DELETE FROM engagement WHERE slot = ? AND reading = ?", (r.slot, r.reading)),
                   ("INSERT INTO engagement (slot, reading, favourites, boosts, replies, read_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (r.slot, r.reading, r.favourites, r.boosts, r.replies, r.read_at))])

    def readings(self) -> list[Reading]:
        rows = self._rows("SELECT slot, reading, favourites, boosts, replies, read_at FROM engagement "
                          "ORDER BY slot, reading")
        return [Reading(*r) for r in rows]

    def add_snapshot(self, at: int, observations: int, weights: dict) -> None:
        """The learned weights at time at (name -> [mean, sd]); a later one at the same second wins."""
        self._run([("DELETE FROM learner WHERE at = ?", (at,)),
                   ("INSERT INTO learner (at, observations, weights) VALUES (?, ?, ?)",
                    (at, observations, json.dumps(weights, sort_keys=True)))])

    def snapshots(self) -> list[tuple[int, int, dict]]:
        """(at, observations, name -> [mean, sd]) oldest first."""
        return [(r[0], r[1], json.loads(r[2])) for r in
                self._rows("SELECT at, observations, weights FROM learner ORDER BY at")]

    def latest_snapshot(self) -> tuple[int, int, dict] | None:
        rows = self._rows("SELECT at, observations, weights FROM learner ORDER BY at DESC LIMIT 1")
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None
