"""The server backend: PostgreSQL through psycopg (a Heroku worker's disk is wiped on every
restart); leadership is a session advisory lock."""
from __future__ import annotations

import logging
from contextlib import contextmanager

from ..errors import DatabaseLostError, StateError
from . import Store

log = logging.getLogger("bot")
LOCK_NAME = "songs-x-arxiv-bot worker"


class PostgresStore(Store):
    # Workers starting together queue here; held until the migration's transaction ends.
    migration_lock = "SELECT pg_advisory_xact_lock(hashtext('songs-x-arxiv-bot schema'))"

    def __init__(self, url: str, read_only: bool = False):
        import psycopg

        self.url = url
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        # OperationalError: the server went away (restart, failover, a cut connection), or the
        # connection is closed; InterfaceError: the connection object is unusable.
        self.lost_errors = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            connection = self._connect()
        except psycopg.Error as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise StateError(f"cannot connect to PostgreSQL ({first}); check DATABASE_URL") from None
        super().__init__(connection, "postgresql", read_only=read_only)

    def _connect(self):
        import psycopg

        return psycopg.connect(self.url, autocommit=True, connect_timeout=10)

    def _reconnect(self) -> None:
        import psycopg

        try:
            self.connection.close()
            connection = self._connect()
        except psycopg.Error:
            return
        self.connection = connection
        if self.leader:  # a session's advisory lock ends with the session: take it again
            self.leader = False
            if not self.try_lead():
                raise DatabaseLostError("another worker took over the database while the connection was lost")

    def try_lead(self) -> bool:
        """A session-level advisory lock on this database, released when the connection ends."""
        if self.read_only:
            raise StateError(f"database {self.description} was opened read-only: it cannot lead")
        if self.leader:
            return True
        with self._lock:
            row = self.connection.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_NAME,)).fetchone()
        self.leader = bool(row and row[0])
        return self.leader

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def has_table(self, name: str) -> bool:
        return self._rows("SELECT to_regclass(?) IS NOT NULL", (name,))[0][0]

    @contextmanager
    def _driver_transaction(self):
        with self.connection.transaction():
            if self.read_only:
                self.connection.execute("SET TRANSACTION READ ONLY")
            yield
