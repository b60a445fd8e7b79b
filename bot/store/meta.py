"""bot_meta: small named values (the schema version, the schedule's keys, the replier's pointer)."""
from __future__ import annotations

from .base import StoreBase


class MetaTable(StoreBase):
    def get_meta(self, key: str) -> str | None:
        row = self._rows("SELECT value FROM bot_meta WHERE key = ?", (key,))
        return row[0][0] if row else None

    def set_meta(self, values: dict[str, str]) -> None:
        steps = []
        for key, value in values.items():
            steps.append(("DELETE FROM bot_meta WHERE key = ?", (key,)))
            steps.append(("INSERT INTO bot_meta (key, value) VALUES (?, ?)", (key, value)))
        self._run(steps)
