"""The store's plumbing: one connection shared by the scheduler's threads, every public method one
transaction, a lost connection reopened and the transaction run again."""
from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from typing import Iterable

from ..errors import DatabaseLostError, StateError
from ..posting.retry import RetryPolicy

log = logging.getLogger("bot")
RECONNECT_FOR = 120.0  # seconds a lost database connection is retried before the worker gives up


class ConnectionLost(DatabaseLostError):
    """One lost connection: retried (DatabaseLostError itself is final)."""


class StoreBase:
    """One connection; every public method is one transaction. Backends (sqlite.py, postgres.py)
    supply the driver's transaction, its error classes, reconnection and leadership."""

    integrity_errors: tuple = ()
    lost_errors: tuple = ()  # the driver's "connection lost" errors: reconnect and run again
    reconnect_for = RECONNECT_FOR

    def __init__(self, connection, description: str, stop: threading.Event | None = None, read_only: bool = False):
        self.connection = connection
        self.description = description
        self.read_only = read_only  # every transaction only reads (the commands that only look)
        self.stop = stop or threading.Event()  # ends reconnection attempts
        self.leader = False  # holds the one-active-worker lock
        self._lock = threading.RLock()  # one connection, shared by the scheduler's threads

    @contextmanager
    def _transaction(self):
        with self._lock, self._driver_transaction():
            yield

    def _driver_transaction(self):
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql

    def has_table(self, name: str) -> bool:
        """Whether the database has a table of that name (read without touching it)."""
        raise NotImplementedError

    def _run(self, statements: Iterable[tuple[str, tuple]], fetch: bool = False):
        """Run statements in one transaction. A lost connection is reopened and the transaction
        run again (every write here is safe to repeat: a repeated intent hits the unique slot),
        for up to reconnect_for seconds; then DatabaseLostError."""
        statements = list(statements)
        policy = RetryPolicy(0.2, 5.0, self.stop, retry_on=(ConnectionLost,), give_up_after=self.reconnect_for)
        try:
            try:
                result = self._attempt(statements, fetch)  # also when stopping: only waits end early
            except ConnectionLost as e:
                log.warning("%s; reconnecting", e)
                result = policy.retry(lambda: self._attempt(statements, fetch))
        except ConnectionLost as e:
            raise DatabaseLostError(f"{e}; gave up after {self.reconnect_for:g} s") from None
        if result is None:
            raise DatabaseLostError(f"database {self.description}: connection lost while stopping")
        return result[0]

    def _attempt(self, statements, fetch):
        rows = None
        try:
            with self._transaction():
                cursor = self.connection.cursor()
                for sql, params in statements:
                    cursor.execute(self._sql(sql), params)
                if fetch:
                    rows = cursor.fetchall()
        except self.integrity_errors:
            raise
        except self.lost_errors as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            with self._lock:
                self._reconnect()
            raise ConnectionLost(f"database {self.description}: connection lost ({first})") from None
        except Exception as e:  # driver errors: one message, no driver traceback
            raise StateError(f"database {self.description}: {type(e).__name__}: {e}".strip()) from None
        return (rows,)

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Every row one query returns, as tuples; errors as _run's."""
        return self._run([(sql, params)], fetch=True)

    def _reconnect(self) -> None:
        """Open a new connection if the server answers (else the next attempt fails again)."""

    # -- one active worker per database --
    def try_lead(self) -> bool:
        """Take the one-active-worker lock if no other worker holds it; held until close."""
        raise NotImplementedError

    def close(self) -> None:
        self.connection.close()
        self.leader = False
