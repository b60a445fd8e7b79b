"""The store's plumbing: one connection shared by the scheduler's threads, every public method one
transaction, a lost connection reopened and the transaction run again."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterable, TypeVar

from ..errors import BotError, DatabaseLostError, StateError

log = logging.getLogger("bot")
T = TypeVar("T")
RECONNECT_FOR = 120.0  # seconds a lost database connection is retried before the worker gives up
RECONNECT_WAIT = (0.2, 5.0)  # seconds between reconnection attempts: first, doubling up to the second


class ConnectionLost(DatabaseLostError):
    """One lost connection: retried (DatabaseLostError itself is final)."""


class StoreBase:
    """One connection; every public method is one transaction. Backends (sqlite.py, postgres.py)
    supply the driver's transaction, its error classes, reconnection and leadership."""

    integrity_errors: tuple = ()
    lost_errors: tuple = ()  # the driver's "connection lost" errors: reconnect and run again
    reconnect_for = RECONNECT_FOR
    migration_lock: str | None = None  # SQL that serialises schema migrations, run first in theirs

    def __init__(self, connection, description: str, stop: threading.Event | None = None, read_only: bool = False):
        self.connection = connection
        self.description = description
        self.stop = stop or threading.Event()  # ends reconnection attempts
        self.read_only = read_only  # every transaction only reads (the commands that only look)
        self.leader = False  # holds the one-active-worker lock
        self._lock = threading.RLock()  # one connection, shared by the scheduler's threads

    def _driver_transaction(self):
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    def has_table(self, name: str) -> bool:
        """Whether the database has a table of that name (read without touching it)."""
        raise NotImplementedError

    def _run(self, statements: Iterable[tuple[str, tuple]], fetch: bool = False):
        """Run statements in one transaction (see _transact); with fetch, the last one's rows."""
        statements = list(statements)

        def work(cursor):
            for sql, params in statements:
                cursor.execute(self._sql(sql), params)
            return cursor.fetchall() if fetch else None

        return self._transact(work)

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Every row one query returns, as tuples; errors as _transact's."""
        return self._run([(sql, params)], fetch=True)

    def _transact(self, work: Callable[[object], T], fenced: bool = True) -> T:
        """work(cursor) in one transaction; its result. Every write here is safe to run again (a
        repeated intent hits its unique key), so a lost connection is reopened and the
        transaction run again: at once and quietly the first time (servers and poolers close idle
        connections: idle_session_timeout), then, if the database stays away, with one warning,
        waits of RECONNECT_WAIT and one line when it is back, for up to reconnect_for seconds;
        then DatabaseLostError. fenced: a leader first checks that it still leads (postgres.py)."""
        if fenced:
            self._before_transaction()
        try:
            return self._attempt(work)
        except ConnectionLost as e:
            log.debug("%s; reconnected", e)
        try:
            return self._attempt(work)
        except ConnectionLost as e:
            return self._wait_for_database(work, e)

    def _wait_for_database(self, work: Callable[[object], T], lost: ConnectionLost) -> T:
        log.warning("%s; reconnecting for up to %g s", lost, self.reconnect_for)
        deadline = time.monotonic() + self.reconnect_for
        wait, cap = RECONNECT_WAIT
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise DatabaseLostError(f"{lost}; gave up after {self.reconnect_for:g} s")
            if self.stop.wait(min(wait, left)):
                raise DatabaseLostError(f"database {self.description}: connection lost while stopping")
            wait = min(wait * 2, cap)
            try:
                result = self._attempt(work)
            except ConnectionLost as e:
                lost = e
                continue
            log.info("database %s: reconnected", self.description)
            return result

    def _attempt(self, work: Callable[[object], T]) -> T:
        try:
            with self._lock, self._driver_transaction():
                return work(self.connection.cursor())
        except self.integrity_errors:
            raise
        except self.lost_errors as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            with self._lock:
                self._reconnect()
            raise ConnectionLost(f"database {self.description}: connection lost ({first})") from None
        except BotError:
            raise
        except Exception as e:  # driver errors: one message, no driver traceback
            raise StateError(f"database {self.description}: {type(e).__name__}: {e}".strip()) from None

    def _reconnect(self) -> None:
        """Open a new connection if the server answers (else the next attempt fails again)."""

    def _before_transaction(self) -> None:
        """Raise DatabaseLostError if this store led and no longer does (postgres.py's lease)."""

    # -- one active worker per database --
    def try_lead(self) -> bool:
        """Become the database's one active worker if no other is; held until close."""
        raise NotImplementedError

    def active_worker(self) -> str | None:
        """Who is the database's active worker now, in words; None if none is. Takes nothing."""
        raise NotImplementedError

    def close(self) -> None:
        self.connection.close()
        self.leader = False
