"""bot_meta: small named values (the schema version, the replier's pointer) and the schedule
(Schedule, one key per field: old databases keep theirs)."""
from __future__ import annotations

from ..errors import StateError
from .base import StoreBase
from .records import Schedule



def _whole(text: str) -> int:
    """An integer as stored: "1700000000", or "1700000000.0" as some writers left it."""
    value = float(text)
    if not value.is_integer():
        raise ValueError(text)
    return int(value)


# Schedule field -> (parse the stored text, what it must be, in words)
_SCHEDULE_KEYS = {
    "anchor": (_whole, "a whole number of seconds"),
    "interval": (float, "a number of seconds"),
    "pool_built_at": (_whole, "a whole number of seconds"),
    "refused_slots": (_whole, "a whole number"),
    "resume_at": (_whole, "a whole number of seconds"),
}


def _text(key: str, value) -> str:
    return repr(float(value)) if key == "interval" else str(int(value))


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

    def schedule(self) -> Schedule:
        """The schedule as stored (fields never set take Schedule's defaults). Raises StateError
        naming the key if a stored value does not parse."""
        marks = ", ".join("?" * len(_SCHEDULE_KEYS))
        stored = dict(self._rows(f"SELECT key, value FROM bot_meta WHERE key IN ({marks})", tuple(_SCHEDULE_KEYS)))
        values = {}
        for key, text in stored.items():
            try:
                values[key] = _SCHEDULE_KEYS[key][0](text)
            except ValueError:
                raise StateError(f"database {self.description}: bot_meta {key}={text!r} is not "
                                 f"{_SCHEDULE_KEYS[key][1]}; delete the row to reset it") from None
        return Schedule(**values)

    def save_schedule(self, **changes) -> Schedule:
        """Store the given Schedule fields in one transaction (None clears one); the others are
        left as they are. Returns the schedule as now stored. Raises TypeError for a name that is
        not a Schedule field."""
        unknown = set(changes) - set(_SCHEDULE_KEYS)
        if unknown:
            raise TypeError(f"save_schedule: no schedule field {', '.join(sorted(unknown))}")
        steps = []
        for key, value in changes.items():
            steps.append(("DELETE FROM bot_meta WHERE key = ?", (key,)))
            if value is not None:
                steps.append(("INSERT INTO bot_meta (key, value) VALUES (?, ?)", (key, _text(key, value))))
        self._run(steps)
        return self.schedule()
