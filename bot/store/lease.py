"""Leadership a connection pooler cannot break (PostgreSQL): one row of leader_lease names the
active worker and when its lease ends, by the database's clock. The leader renews it every third
of its length; another worker takes it only once it has ended; a worker that stops deletes it.
Each step is one short transaction, so a transaction-mode pooler (PgBouncer) cannot lose it, as it
loses a session's advisory lock (held by whichever server connection ran it)."""
from __future__ import annotations

import os
import socket
import uuid

LEASE_FOR = 30.0  # seconds a lease lasts unrenewed: how long a crashed leader's successor waits
NAME = "worker"  # the one lease: one active worker per database
_NOW = "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"  # the database's clock, seconds


def holder_id() -> str:
    """Who holds a lease, as its row and the logs show it: host, process id and a random tag."""
    return f"{socket.gethostname()} pid {os.getpid()} {uuid.uuid4().hex[:6]}"


class Lease:
    """The lease's statements for one worker (holder) on one store; each one transaction, run
    unfenced (the store's leadership check must not call itself)."""

    def __init__(self, store, lease_for: float = LEASE_FOR, holder: str | None = None):
        self.store, self.lease_for, self.holder = store, lease_for, holder or holder_id()

    def _rows(self, sql: str, params: tuple) -> list[tuple]:
        def work(cursor):
            cursor.execute(self.store._sql(sql), params)
            return cursor.fetchall()

        return self.store._transact(work, fenced=False)

    def take(self) -> bool:
        """Take the lease if nobody holds it, its holder let it end, or we hold it already."""
        return bool(self._rows(
            f"INSERT INTO leader_lease (name, holder, renewed_at, expires_at) VALUES (?, ?, {_NOW}, {_NOW} + ?) "
            "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, renewed_at = EXCLUDED.renewed_at, "
            "expires_at = EXCLUDED.expires_at WHERE leader_lease.holder = EXCLUDED.holder "
            "OR leader_lease.expires_at <= EXCLUDED.renewed_at RETURNING holder",
            (NAME, self.holder, self.lease_for)))

    def renew(self) -> bool:
        """Extend our lease by lease_for from now; False if another worker holds it now (ours
        ended and was taken). A lease that ended but was not taken is still ours."""
        return bool(self._rows(f"UPDATE leader_lease SET renewed_at = {_NOW}, expires_at = {_NOW} + ? "
                               "WHERE name = ? AND holder = ? RETURNING holder", (self.lease_for, NAME, self.holder)))

    def release_sql(self) -> tuple[str, tuple]:
        return "DELETE FROM leader_lease WHERE name = ? AND holder = ?", (NAME, self.holder)

    def current(self) -> tuple[str, float] | None:
        """(holder, seconds left) of a lease that has not ended; None if nobody leads."""
        rows = self._rows(f"SELECT holder, expires_at - {_NOW} FROM leader_lease WHERE name = ? AND expires_at > {_NOW}",
                          (NAME,))
        return (rows[0][0], float(rows[0][1])) if rows else None
