"""Durable state: the candidate pool, the posts (with their intents) and the schedule's anchor.

SQLite by default; PostgreSQL when DATABASE_URL says so (a Heroku worker's disk is wiped on every
restart). The same SQL runs on both; the schema is created and migrated when a store opens.
"""
from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..errors import StateError

# Each entry migrates from the previous version; never edit a released one, append.
MIGRATIONS = [
    [
        "CREATE TABLE IF NOT EXISTS bot_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE IF NOT EXISTS pool (
            canonical TEXT PRIMARY KEY, text TEXT NOT NULL, score DOUBLE PRECISION NOT NULL,
            temperature DOUBLE PRECISION NOT NULL, created_at BIGINT NOT NULL)""",
        # One row per slot (never two posts in one) and per text (never the same text twice).
        # 'pending' rows are intents: written before the server is called.
        """CREATE TABLE IF NOT EXISTS posts (
            slot BIGINT PRIMARY KEY, text TEXT NOT NULL, canonical TEXT NOT NULL UNIQUE,
            idempotency_key TEXT NOT NULL UNIQUE, state TEXT NOT NULL,
            status_id TEXT, url TEXT, created_at BIGINT NOT NULL, posted_at BIGINT)""",
    ],
]


@dataclass(frozen=True)
class Post:
    slot: int
    text: str
    canonical: str
    idempotency_key: str
    state: str  # "pending" or "posted"
    status_id: str | None
    url: str | None
    created_at: int
    posted_at: int | None


@dataclass(frozen=True)
class PooledCandidate:
    text: str
    canonical: str
    score: float
    temperature: float


class Store:
    """One connection; every public method is one transaction."""

    integrity_errors: tuple = ()

    def __init__(self, connection, description: str):
        self.connection = connection
        self.description = description
        self._lock = threading.RLock()  # one connection, shared by the scheduler's threads

    @contextmanager
    def _transaction(self):
        with self._lock, self._driver_transaction():
            yield

    # -- plumbing --
    def _sql(self, sql: str) -> str:
        return sql

    def _run(self, statements: Iterable[tuple[str, tuple]], fetch: bool = False):
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
        except Exception as e:  # driver errors: one message, no driver traceback
            raise StateError(f"database {self.description}: {type(e).__name__}: {e}".strip()) from None
        return rows

    def _one(self, sql: str, params: tuple = ()):
        return self._run([(sql, params)], fetch=True)

    def close(self) -> None:
        self.connection.close()

    # -- schema --
    def migrate(self) -> int:
        self._run([(MIGRATIONS[0][0], ())])
        row = self._one("SELECT value FROM bot_meta WHERE key = 'schema_version'")
        version = int(row[0][0]) if row else 0
        for number in range(version, len(MIGRATIONS)):
            steps = [(sql, ()) for sql in MIGRATIONS[number]]
            steps.append(("DELETE FROM bot_meta WHERE key = 'schema_version'", ()))
            steps.append(("INSERT INTO bot_meta (key, value) VALUES ('schema_version', ?)", (str(number + 1),)))
            self._run(steps)
        return len(MIGRATIONS)

    # -- meta --
    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM bot_meta WHERE key = ?", (key,))
        return row[0][0] if row else None

    def set_meta(self, values: dict[str, str]) -> None:
        steps = []
        for key, value in values.items():
            steps.append(("DELETE FROM bot_meta WHERE key = ?", (key,)))
            steps.append(("INSERT INTO bot_meta (key, value) VALUES (?, ?)", (key, value)))
        self._run(steps)

    # -- pool --
    def replace_pool(self, candidates: list[PooledCandidate], now: int) -> None:
        steps = [("DELETE FROM pool", ())]
        steps += [("INSERT INTO pool (canonical, text, score, temperature, created_at) VALUES (?, ?, ?, ?, ?)",
                   (c.canonical, c.text, c.score, c.temperature, now)) for c in candidates]
        self._run(steps)

    def pool(self) -> list[PooledCandidate]:
        rows = self._one("SELECT text, canonical, score, temperature FROM pool "
                         "WHERE canonical NOT IN (SELECT canonical FROM posts) ORDER BY score DESC, text")
        return [PooledCandidate(*r) for r in rows]

    def drop_from_pool(self, canonical: str) -> None:
        self._run([("DELETE FROM pool WHERE canonical = ?", (canonical,))])

    # -- posts --
    _POST_COLUMNS = "slot, text, canonical, idempotency_key, state, status_id, url, created_at, posted_at"

    def posts(self) -> list[Post]:
        return [Post(*r) for r in self._one(f"SELECT {self._POST_COLUMNS} FROM posts ORDER BY slot")]

    def pending(self) -> list[Post]:
        """Intents not yet confirmed by the server (read every posting check: no full table scan
        of the history in Python)."""
        rows = self._one(f"SELECT {self._POST_COLUMNS} FROM posts WHERE state = 'pending' ORDER BY slot")
        return [Post(*r) for r in rows]

    def last_post(self) -> Post | None:
        rows = self._one(f"SELECT {self._POST_COLUMNS} FROM posts ORDER BY slot DESC LIMIT 1")
        return Post(*rows[0]) if rows else None

    def posted_canonicals(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._one("SELECT canonical FROM posts"))

    def record_intent(self, slot: int, text: str, canonical: str, key: str, now: int) -> bool:
        """Durably note that we are about to post text for slot. False if the slot or the text
        is taken already (another instance, or a retry): then post nothing."""
        try:
            self._run([("INSERT INTO posts (slot, text, canonical, idempotency_key, state, created_at) "
                        "VALUES (?, ?, ?, ?, 'pending', ?)", (slot, text, canonical, key, now))])
        except self.integrity_errors:
            return False
        return True

    def mark_posted(self, key: str, status_id: str, url: str | None, now: int) -> None:
        self._run([("UPDATE posts SET state = 'posted', status_id = ?, url = ?, posted_at = ? "
                    "WHERE idempotency_key = ?", (status_id, url, now, key)),
                   ("DELETE FROM pool WHERE canonical IN (SELECT canonical FROM posts WHERE idempotency_key = ?)",
                    (key,))])

    def drop_intent(self, key: str) -> None:
        """The server refused the post: nothing was published, so the slot is free again."""
        self._run([("DELETE FROM posts WHERE idempotency_key = ? AND state = 'pending'", (key,))])


class SQLiteStore(Store):
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str):
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=FULL")  # an intent must survive a power cut
        except (sqlite3.Error, OSError) as e:
            raise StateError(f"cannot open SQLite database {path}: {e}") from None
        super().__init__(connection, f"sqlite {path}")

    @contextmanager
    def _driver_transaction(self):
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")


class PostgresStore(Store):
    def __init__(self, url: str):
        import psycopg

        self.integrity_errors = (psycopg.errors.IntegrityError,)
        try:
            connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.Error as e:
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise StateError(f"cannot connect to PostgreSQL ({first}); check DATABASE_URL") from None
        super().__init__(connection, "postgresql")

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _driver_transaction(self):
        return self.connection.transaction()


def open_store(database_url: str) -> Store:
    if database_url.startswith("sqlite:///"):
        store = SQLiteStore(database_url[len("sqlite:///"):])
    elif database_url.startswith(("postgres://", "postgresql://")):
        store = PostgresStore(database_url)
    else:
        raise StateError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
    store.migrate()
    return store
