"""Is a worker running, when did it last post, and could one keep its state here? Read from the
state database alone, so a container health check, a monitor or a person at a shell can ask
without the worker's help (`bot health`, `bot check`).

A running worker holds its database's one-active-worker lock for as long as it lives (an flock on
<file>.lock for SQLite, a lease row it renews for PostgreSQL; bot/store); the probe asks the store
who holds it, taking nothing.
"""
from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import NoStateYetError, StateError
from ..store import open_store
from .settings import sqlite_path


@dataclass(frozen=True)
class Health:
    worker: str | None  # who holds the database's lock, in words (bot/store: active_worker); None: nobody
    database: str  # the store's description, e.g. "sqlite /state/bot.sqlite3", or why there is no state yet
    last_posted_at: int | None  # epoch seconds of the newest confirmed post
    last_text: str | None
    unfinished: int  # intents not yet confirmed by the server (settled at the worker's next check)

    @property
    def running(self) -> bool:
        return self.worker is not None

    def lines(self, now: float) -> list[str]:
        """What `bot health` prints: the worker's state, then the last post."""
        if self.running:
            worker = f"worker: running ({self.worker}; {self.database})"
        elif self.database.startswith("no worker has started"):
            worker = f"worker: NOT running ({self.database})"
        else:
            worker = f"worker: NOT running (no worker holds {self.database})"
        if self.last_posted_at is None:
            last = "last post: none yet"
        else:
            when = datetime.fromtimestamp(self.last_posted_at, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
            last = f"last post: {when} ({_ago(now - self.last_posted_at)} ago): {self.last_text}"
        pending = [f"unfinished: {self.unfinished} (confirmed or retried at the worker's next check)"] \
            if self.unfinished else []
        return [worker, last, *pending]


def probe(database_url: str) -> Health:
    """The worker's health as its database shows it, read only: a database with no state yet (an
    SQLite file that does not exist is not made) means no worker has started. Raises StateError
    when the database cannot be read."""
    try:
        store = open_store(database_url, read_only=True)
    except NoStateYetError as e:
        return Health(None, f"no worker has started here: {e}", None, None, 0)
    try:
        worker = store.active_worker()
        last = max((p for p in store.posts() if p.state == "posted"), key=lambda p: p.slot, default=None)
        unfinished = len(store.pending())
    finally:
        store.close()
    return Health(worker, store.description, last and last.posted_at, last and last.text, unfinished)


def require_writable_state(database_url: str) -> None:
    """Raise StateError unless a worker running as this user could keep its SQLite state at
    database_url: create and write the file and, beside it, <file>-wal, <file>-shm (SQLite's
    write-ahead log) and <file>.lock (the worker's lock). Other URLs: nothing to check here."""
    path = sqlite_path(database_url)
    if path is None:
        return
    user = pwd.getpwuid(os.geteuid()).pw_name
    directory = path.parent
    if not directory.is_dir():
        raise StateError(f"the state directory {directory} does not exist; create it for user {user}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StateError(f"user {user} cannot create files in {directory} (owner {_owner(directory)}), where the "
                         f"worker keeps {path.name} and its -wal, -shm and .lock files; run the bot as the "
                         f"directory's owner, give {user} the directory (chown), or set DATABASE_URL elsewhere")
    for name in (path.name, f"{path.name}-wal", f"{path.name}-shm", f"{path.name}.lock"):
        file = directory / name
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            raise StateError(f"user {user} cannot write {file} (owner {_owner(file)}); run the bot as its "
                             f"owner or give {user} the file (chown)")


def _owner(path: Path) -> str:
    uid = path.stat().st_uid
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _ago(seconds: float) -> str:
    """3 h 12 min, 2 d 4 h, 45 s."""
    days, rest = divmod(max(0, int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
