"""The server backend: PostgreSQL through psycopg (a Heroku worker's disk is wiped on every
restart). Works directly or through a transaction-mode pooler (PgBouncer): no prepared
statements, nothing kept in a session, and leadership is a lease row (lease.py) that the leader's
heartbeat renews."""
from __future__ import annotations

import logging
import threading
import time
from contextlib import contextmanager

from ..errors import DatabaseLostError, StateError
from . import Store
from .lease import LEASE_FOR, Lease

log = logging.getLogger("bot")


class PostgresStore(Store):
    # Workers starting together queue here; held until the migration's transaction ends.
    migration_lock = "SELECT pg_advisory_xact_lock(hashtext('songs-x-arxiv-bot schema'))"

    def __init__(self, url: str, read_only: bool = False, lease_for: float = LEASE_FOR):
        """lease_for: seconds the leader's lease lasts unrenewed (renewed every third of that)."""
        import psycopg

        self.url = url
        self.integrity_errors = (psycopg.errors.IntegrityError,)
        # OperationalError: the server went away (restart, failover, a cut connection, an idle
        # session closed by the server), or the connection is closed; InterfaceError: the
        # connection object is unusable.
        self.lost_errors = (psycopg.OperationalError, psycopg.InterfaceError)
        try:
            connection = self._connect()
        except psycopg.Error as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise StateError(f"cannot connect to PostgreSQL ({first}); check DATABASE_URL") from None
        super().__init__(connection, "postgresql", read_only=read_only)
        self.lease = Lease(self, lease_for)
        self._lost: str | None = None  # why this store no longer leads, once it led and lost the lease
        self._valid_until = 0.0  # monotonic time our lease surely lasts until (from when its renewal was sent)
        self._renewing = threading.Lock()
        self._heartbeat_stop = threading.Event()
        self._heartbeat: threading.Thread | None = None

    def _connect(self):
        import psycopg

        # prepare_threshold=None: no server-side prepared statements, which a transaction-mode
        # pooler would hand to another client's session.
        return psycopg.connect(self.url, autocommit=True, connect_timeout=10, prepare_threshold=None)

    def _reconnect(self) -> None:
        import psycopg

        try:
            self.connection.close()
            connection = self._connect()
        except psycopg.Error:
            return
        self.connection = connection

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

    # -- leadership: the lease --
    def try_lead(self) -> bool:
        """Take the lease if no other worker holds a live one; renewed by a heartbeat thread
        until close, which releases it."""
        if self.read_only:
            raise StateError(f"database {self.description} was opened read-only: it cannot lead")
        if self._lost:
            raise DatabaseLostError(self._lost)
        if self.leader:
            return True
        sent = time.monotonic()
        if not self.lease.take():
            return False
        self._valid_until = sent + self.lease.lease_for
        self.leader = True
        self._heartbeat_stop.clear()
        self._heartbeat = threading.Thread(target=self._beat, name="lease heartbeat", daemon=True)
        self._heartbeat.start()
        return True

    def active_worker(self) -> str | None:
        """Who leads now (holder and how long its lease lasts unrenewed), None if nobody does."""
        current = self.lease.current()
        return None if current is None else f"{current[0]}, lease for {current[1]:.0f} s more"

    def _before_transaction(self) -> None:
        """A leader whose heartbeat is late renews before going on; one that lost the lease
        stops here (DatabaseLostError), so two workers never both act as the leader."""
        if self._lost:
            raise DatabaseLostError(self._lost)
        if self.leader and time.monotonic() > self._valid_until - self.lease.lease_for / 3:
            self._renew()

    def _renew(self) -> None:
        with self._renewing:
            if self._lost:
                raise DatabaseLostError(self._lost)
            if not self.leader or time.monotonic() < self._valid_until - self.lease.lease_for * 2 / 3:
                return  # another thread renewed it just now
            sent = time.monotonic()
            if self.lease.renew():
                self._valid_until = sent + self.lease.lease_for
                return
            self.leader = False
            self._lost = (f"database {self.description}: another worker took over (this worker's lease ran out "
                          f"unrenewed for {self.lease.lease_for:g} s)")
            log.error("%s", self._lost)
            raise DatabaseLostError(self._lost)

    def _beat(self) -> None:
        while not self._heartbeat_stop.wait(self.lease.lease_for / 3):
            try:
                self._renew()
            except DatabaseLostError:
                if self._lost:
                    return  # the jobs stop at their next transaction
            except StateError:
                pass  # the database is away: the jobs see it too; try again at the next beat

    def close(self) -> None:
        self._heartbeat_stop.set()
        if self._heartbeat is not None and self._heartbeat is not threading.current_thread():
            self._heartbeat.join(5)
        if self.leader and not self._lost:
            sql, params = self.lease.release_sql()
            try:  # once, on this connection (no reconnecting): an unreleased lease ends by itself
                with self._lock, self._driver_transaction():
                    self.connection.execute(self._sql(sql), params)
            except Exception as e:
                log.debug("lease not released (%s); it ends in %g s", e, self.lease.lease_for)
        super().close()
