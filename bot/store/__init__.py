"""Durable state behind one interface: the candidate pool, the posts (with their intents), the
replies, what the audience did, and small named values (the schedule).

SQLite by default (sqlite.py); PostgreSQL when DATABASE_URL says so (postgres.py). The same SQL
runs on both; the schema (schema.py) is created and migrated when a store opens. Each concern's
methods live in their own module (meta, pool, posts, replies, learning, deliveries, approvals);
Store joins them.
"""
from __future__ import annotations

import logging
import threading

from ..errors import DatabaseLostError, StateError
from .approvals import ApprovalsTable
from .deliveries import DeliveriesTable
from .learning import LearningTables
from .meta import MetaTable
from .pool import PoolTable
from .posts import PostsTable
from .records import (Approval, ApprovalCandidate, Delivery, PooledCandidate, Post, PostFeatures, Reading, Reply,
                      Schedule)
from .replies import RepliesTable
from .schema import MIGRATIONS, migrate, require_current

__all__ = ["Store", "open_store", "wait_to_lead", "MIGRATIONS", "Approval", "ApprovalCandidate", "Delivery",
           "PooledCandidate", "Post", "PostFeatures", "Reading", "Reply", "Schedule"]
log = logging.getLogger("bot")


class Store(MetaTable, PoolTable, PostsTable, RepliesTable, LearningTables, DeliveriesTable, ApprovalsTable):
    """Every table's methods over one connection; every public method is one transaction.
    Errors: StateError (the database refused or broke), DatabaseLostError (the connection was
    lost and not restored within reconnect_for seconds)."""

    def migrate(self) -> int:
        return migrate(self)


def open_store(database_url: str, stop: threading.Event | None = None, read_only: bool = False) -> Store:
    """The store for DATABASE_URL, migrated; stop (when given) ends reconnection attempts.

    read_only (the commands that only look: `bot stats`, `bot check`, the dry run): nothing is
    created or migrated and every transaction only reads; raises NoStateYetError when there is no
    state yet (an SQLite file that does not exist is not made) and SchemaVersionError for a schema
    other than this bot's ("run the worker once to upgrade it").
    Raises StateError for an unknown URL scheme, a database that cannot be opened or migrated
    (DatabaseLostError when the connection is lost and not restored in time)."""
    if database_url.startswith("sqlite:///"):
        from .sqlite import SQLiteStore

        store = SQLiteStore(database_url[len("sqlite:///"):], read_only=read_only)
    elif database_url.startswith(("postgres://", "postgresql://")):
        from .postgres import PostgresStore

        store = PostgresStore(database_url, read_only=read_only)
    else:
        raise StateError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
    if stop is not None:
        store.stop = stop
    try:
        if read_only:
            require_current(store)
        else:
            store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def wait_to_lead(store: Store, stop: threading.Event, poll: float) -> bool:
    """Become the database's one active worker, standing by (one log line) while another is;
    False if stopped first."""
    if _try_lead(store):
        return True
    try:
        active = store.active_worker()
    except StateError:
        active = None
    log.info("another worker is active on this database (%s%s); standing by until it stops", store.description,
             f": {active}" if active else "")
    while not stop.wait(poll):
        if _try_lead(store):
            log.info("the other worker stopped; taking over")
            return True
    return False


def _try_lead(store: Store) -> bool:
    try:
        return store.try_lead()
    except DatabaseLostError:  # the database is away while standing by (logged): the next poll tries again
        return False
