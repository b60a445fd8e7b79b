"""pool: the candidates waiting to be posted, best first."""
from __future__ import annotations

import json

from .base import StoreBase
from .records import PooledCandidate


class PoolTable(StoreBase):
    def replace_pool(self, candidates: list[PooledCandidate], now: int) -> None:
        steps = [("DELETE FROM pool", ())]
        steps += [("INSERT INTO pool (canonical, text, score, temperature, created_at, features) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (c.canonical, c.text, c.score, c.temperature, now, json.dumps(c.features))) for c in candidates]
        self._run(steps)

    def pool(self) -> list[PooledCandidate]:
        """Candidates not posted yet, best score first."""
        rows = self._rows("SELECT text, canonical, score, temperature, features FROM pool "
                          "WHERE canonical NOT IN (SELECT canonical FROM posts) ORDER BY score DESC, text")
        return [PooledCandidate(*r[:4], json.loads(r[4] or "{}")) for r in rows]

    def drop_from_pool(self, canonical: str) -> None:
        self._run([("DELETE FROM pool WHERE canonical = ?", (canonical,))])
