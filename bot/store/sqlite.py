"""The embedded backend: one SQLite file (WAL, synchronous writes); leadership is a flock on
<file>.lock, released when the process ends however it ends."""
from __future__ import annotations

import fcntl
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from ..errors import NoStateYetError, StateError
from . import Store


BUSY_SECONDS = 30.0  # how long a connection waits for another's lock (and a worker for write-ahead logging)


def _write_ahead(connection: sqlite3.Connection, patience: float = BUSY_SECONDS) -> None:
    """Switch the file to write-ahead logging. Workers opening an old (rollback-journal) file at
    the same moment can get "database is locked" at once, without the busy timeout's wait (SQLite
    does not wait on a lock it could deadlock on): asked again with backoff until patience runs
    out, then the error stands."""
    deadline, delay = time.monotonic() + patience, 0.01
    while True:
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() + delay > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)


class SQLiteStore(Store):
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str, read_only: bool = False):
        """read_only: open an existing file only to read it (NoStateYetError if there is none)."""
        self.path = path
        self._lock_file = None
        if read_only and path != ":memory:" and not Path(path).is_file():
            raise NoStateYetError(f"sqlite {path} does not exist yet (the worker creates it at its first start; "
                                  "check DATABASE_URL)")
        try:
            if read_only:
                connection = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True, isolation_level=None,
                                             check_same_thread=False, timeout=BUSY_SECONDS)
            else:
                if path != ":memory:":
                    Path(path).parent.mkdir(parents=True, exist_ok=True)
                connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS)
                _write_ahead(connection)
                connection.execute("PRAGMA synchronous=FULL")  # an intent must survive a power cut
        except (sqlite3.Error, OSError) as e:
            raise StateError(f"cannot open SQLite database {path}: {e}") from None
        super().__init__(connection, f"sqlite {path}", read_only=read_only)

    def has_table(self, name: str) -> bool:
        return bool(self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))

    @contextmanager
    def _driver_transaction(self):
        # IMMEDIATE: a writer takes the file's write lock at once (two workers' transactions queue
        # instead of failing at their first write).
        self.connection.execute("BEGIN" if self.read_only else "BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def try_lead(self) -> bool:
        """An exclusive flock on <path>.lock, released when the process ends however it ends."""
        if self.read_only:
            raise StateError(f"database {self.description} was opened read-only: it cannot lead")
        if self.path == ":memory:" or self.leader:
            self.leader = True
            return True
        if self._lock_file is None:
            self._lock_file = open(self.path + ".lock", "a")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self.leader = True
        return True

    def active_worker(self) -> str | None:
        """"this process" or "the process holding <path>.lock" (the lock asked for without
        waiting, and let go at once), None if no worker holds it. Creates nothing."""
        if self.leader:
            return "this process"
        try:
            probe = open(self.path + ".lock", "r")
        except FileNotFoundError:
            return None
        with probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return f"the process holding {self.path}.lock"
            fcntl.flock(probe, fcntl.LOCK_UN)
        return None

    def close(self) -> None:
        super().close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None
