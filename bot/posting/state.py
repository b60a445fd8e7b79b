"""Durable state: the candidate pool, the posts (with their intents) and the schedule's anchor.

SQLite by default; PostgreSQL when DATABASE_URL says so (a Heroku worker's disk is wiped on every
restart). The same SQL runs on both; the schema is created and migrated when a store opens.
"""
from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
from contextlib import contextmanager
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import DatabaseLostError, StateError
from .retry import RetryPolicy

log = logging.getLogger("bot")
RECONNECT_FOR = 120.0  # seconds a lost database connection is retried before the worker gives up
LOCK_NAME = "songs-x-arxiv-bot worker"


class _ConnectionLost(DatabaseLostError):
    """One lost connection: retried (DatabaseLostError itself is final)."""

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
    [
        # Replies to mentions, one row per mention (its status id): 'pending' (an intent, written
        # before the server is called), 'posted' or 'skipped' (with the reason).
        """CREATE TABLE IF NOT EXISTS replies (
            mention_id TEXT PRIMARY KEY, notification_id TEXT NOT NULL, account_id TEXT NOT NULL,
            acct TEXT NOT NULL, bot INTEGER NOT NULL, state TEXT NOT NULL, reason TEXT,
            text TEXT, canonical TEXT, visibility TEXT, idempotency_key TEXT UNIQUE,
            status_id TEXT, url TEXT, created_at BIGINT NOT NULL, posted_at BIGINT)""",
        "CREATE INDEX IF NOT EXISTS replies_by_time ON replies (created_at)",
    ],
    [
        # Learning from the audience (bot/posting/learner.py): what the curator saw for each
        # candidate and post (features as JSON), its score, how the post was chosen, the engagement
        # counts read at ENGAGEMENT_AFTER ('first') and ENGAGEMENT_FINAL ('final'; NULL counts: the
        # status is gone), and snapshots of the learned weights (JSON name -> [mean, sd]).
        "ALTER TABLE pool ADD COLUMN features TEXT",
        "ALTER TABLE posts ADD COLUMN features TEXT",
        "ALTER TABLE posts ADD COLUMN curator_score DOUBLE PRECISION",
        "ALTER TABLE posts ADD COLUMN choice TEXT",
        """CREATE TABLE IF NOT EXISTS engagement (
            slot BIGINT NOT NULL, reading TEXT NOT NULL, favourites INTEGER, boosts INTEGER,
            replies INTEGER, read_at BIGINT NOT NULL, PRIMARY KEY (slot, reading))""",
        """CREATE TABLE IF NOT EXISTS learner (
            at BIGINT PRIMARY KEY, observations INTEGER NOT NULL, weights TEXT NOT NULL)""",
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
class Reply:
    mention_id: str
    notification_id: str
    account_id: str
    acct: str
    bot: bool
    state: str  # "pending", "posted" or "skipped"
    reason: str | None
    text: str | None
    canonical: str | None
    visibility: str | None
    idempotency_key: str | None
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
    features: dict = field(default_factory=dict)  # what the curator saw (halves models)


@dataclass(frozen=True)
class Reading:
    """Engagement counts of one post at one reading ('first' or 'final'); None: status gone."""

    slot: int
    reading: str
    favourites: int | None
    boosts: int | None
    replies: int | None
    read_at: int

    @property
    def total(self) -> int | None:
        return None if self.favourites is None else self.favourites + self.boosts + self.replies


@dataclass(frozen=True)
class PostFeatures:
    slot: int
    text: str
    status_id: str | None
    posted_at: int | None
    features: dict
    curator_score: float | None
    choice: str | None


class Store:
    """One connection; every public method is one transaction."""

    integrity_errors: tuple = ()
    lost_errors: tuple = ()  # the driver's "connection lost" errors: reconnect and run again
    reconnect_for = RECONNECT_FOR

    def __init__(self, connection, description: str, stop: threading.Event | None = None):
        self.connection = connection
        self.description = description
        self.stop = stop or threading.Event()  # ends reconnection attempts
        self.leader = False  # holds the one-active-worker lock
        self._lock = threading.RLock()  # one connection, shared by the scheduler's threads

    @contextmanager
    def _transaction(self):
        with self._lock, self._driver_transaction():
            yield

    # -- plumbing --
    def _sql(self, sql: str) -> str:
        return sql

    def _run(self, statements: Iterable[tuple[str, tuple]], fetch: bool = False):
        """Run statements in one transaction. A lost connection is reopened and the transaction
        run again (every write here is safe to repeat: a repeated intent hits the unique slot),
        for up to reconnect_for seconds; then DatabaseLostError."""
        statements = list(statements)
        policy = RetryPolicy(0.2, 5.0, self.stop, retry_on=(_ConnectionLost,), give_up_after=self.reconnect_for)
        try:
            try:
                result = self._attempt(statements, fetch)  # also when stopping: only waits end early
            except _ConnectionLost as e:
                log.warning("%s; reconnecting", e)
                result = policy.retry(lambda: self._attempt(statements, fetch))
        except _ConnectionLost as e:
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
            raise _ConnectionLost(f"database {self.description}: connection lost ({first})") from None
        except Exception as e:  # driver errors: one message, no driver traceback
            raise StateError(f"database {self.description}: {type(e).__name__}: {e}".strip()) from None
        return (rows,)

    def _reconnect(self) -> None:
        """Open a new connection if the server answers (else the next attempt fails again)."""

    # -- one active worker per database --
    def try_lead(self) -> bool:
        """Take the one-active-worker lock if no other worker holds it; held until close."""
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Every row one query returns, as tuples; errors as _run's."""
        return self._run([(sql, params)], fetch=True)

    def close(self) -> None:
        self.connection.close()
        self.leader = False

    # -- schema --
    def migrate(self) -> int:
        self._run([(MIGRATIONS[0][0], ())])
        row = self._rows("SELECT value FROM bot_meta WHERE key = 'schema_version'")
        version = int(row[0][0]) if row else 0
        for number in range(version, len(MIGRATIONS)):
            steps = [(sql, ()) for sql in MIGRATIONS[number]]
            steps.append(("DELETE FROM bot_meta WHERE key = 'schema_version'", ()))
            steps.append(("INSERT INTO bot_meta (key, value) VALUES ('schema_version', ?)", (str(number + 1),)))
            self._run(steps)
        return len(MIGRATIONS)

    # -- meta --
    def get_meta(self, key: str) -> str | None:
        row = self._rows("SELECT value FROM bot_meta WHERE key = ?", (key,))
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
        steps += [("INSERT INTO pool (canonical, text, score, temperature, created_at, features) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
                   (c.canonical, c.text, c.score, c.temperature, now, json.dumps(c.features))) for c in candidates]
        self._run(steps)

    def pool(self) -> list[PooledCandidate]:
        rows = self._rows("SELECT text, canonical, score, temperature, features FROM pool "
                         "WHERE canonical NOT IN (SELECT canonical FROM posts) ORDER BY score DESC, text")
        return [PooledCandidate(*r[:4], json.loads(r[4] or "{}")) for r in rows]

    def drop_from_pool(self, canonical: str) -> None:
        self._run([("DELETE FROM pool WHERE canonical = ?", (canonical,))])

    # -- posts --
    _POST_COLUMNS = "slot, text, canonical, idempotency_key, state, status_id, url, created_at, posted_at"

    def posts(self) -> list[Post]:
        return [Post(*r) for r in self._rows(f"SELECT {self._POST_COLUMNS} FROM posts ORDER BY slot")]

    def pending(self) -> list[Post]:
        """Intents not yet confirmed by the server (read every posting check: no full table scan
        of the history in Python)."""
        rows = self._rows(f"SELECT {self._POST_COLUMNS} FROM posts WHERE state = 'pending' ORDER BY slot")
        return [Post(*r) for r in rows]

    def last_post(self) -> Post | None:
        rows = self._rows(f"SELECT {self._POST_COLUMNS} FROM posts ORDER BY slot DESC LIMIT 1")
        return Post(*rows[0]) if rows else None

    def posted_canonicals(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT canonical FROM posts"))

    def record_intent(self, slot: int, text: str, canonical: str, key: str, now: int,
                      features: dict | None = None, curator_score: float | None = None,
                      choice: str | None = None) -> bool:
        """Durably note that we are about to post text for slot (with what the curator saw and
        how the post was chosen). False if the slot or the text is taken already (another
        instance, or a retry): then post nothing."""
        try:
            self._run([("INSERT INTO posts (slot, text, canonical, idempotency_key, state, created_at, features, "
                        "curator_score, choice) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                        (slot, text, canonical, key, now, json.dumps(features or {}), curator_score, choice))])
        except self.integrity_errors:
            return False
        return True

    def mark_posted(self, key: str, status_id: str, url: str | None, now: int) -> None:
        self._run([("UPDATE posts SET state = 'posted', status_id = ?, url = ?, posted_at = ? "
                    "WHERE idempotency_key = ?", (status_id, url, now, key)),
                   ("DELETE FROM pool WHERE canonical IN (SELECT canonical FROM posts WHERE idempotency_key = ?)",
                    (key,))])

    def import_posts(self, posts: list[tuple[int, str, str, str, str | None]]) -> None:
        """Statuses the account posted before this database knew of them, as posted rows:
        (created_at, text, canonical, status_id, url). Rows clashing with a known slot or text
        are left out."""
        self._run([("INSERT INTO posts (slot, text, canonical, idempotency_key, state, status_id, url, created_at, "
                    "posted_at) VALUES (?, ?, ?, ?, 'posted', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    (at, text, canon, f"imported-{status_id}", status_id, url, at, at))
                   for at, text, canon, status_id, url in posts])

    def drop_intent(self, key: str) -> None:
        """The server refused the post: nothing was published, so the slot is free again."""
        self._run([("DELETE FROM posts WHERE idempotency_key = ? AND state = 'pending'", (key,))])

    # -- learning from the audience (bot/posting/learner.py) --
    def post_features(self) -> list[PostFeatures]:
        """Published posts, oldest first, with what the curator saw."""
        rows = self._rows("SELECT slot, text, status_id, posted_at, features, curator_score, choice FROM posts "
                         "WHERE state = 'posted' ORDER BY slot")
        return [PostFeatures(*r[:4], json.loads(r[4] or "{}"), *r[5:]) for r in rows]

    def record_reading(self, r: Reading) -> None:
        self._run([("DELETE FROM engagement WHERE slot = ? AND reading = ?", (r.slot, r.reading)),
                   ("INSERT INTO engagement (slot, reading, favourites, boosts, replies, read_at) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (r.slot, r.reading, r.favourites, r.boosts, r.replies, r.read_at))])

    def readings(self) -> list[Reading]:
        rows = self._rows("SELECT slot, reading, favourites, boosts, replies, read_at FROM engagement "
                         "ORDER BY slot, reading")
        return [Reading(*r) for r in rows]

    def add_snapshot(self, at: int, observations: int, weights: dict) -> None:
        """The learned weights at time at (name -> [mean, sd]); a later one at the same second wins."""
        self._run([("DELETE FROM learner WHERE at = ?", (at,)),
                   ("INSERT INTO learner (at, observations, weights) VALUES (?, ?, ?)",
                    (at, observations, json.dumps(weights, sort_keys=True)))])

    def snapshots(self) -> list[tuple[int, int, dict]]:
        """(at, observations, name -> [mean, sd]) oldest first."""
        return [(r[0], r[1], json.loads(r[2])) for r in
                self._rows("SELECT at, observations, weights FROM learner ORDER BY at")]

    def latest_snapshot(self) -> tuple[int, int, dict] | None:
        rows = self._rows("SELECT at, observations, weights FROM learner ORDER BY at DESC LIMIT 1")
        return (rows[0][0], rows[0][1], json.loads(rows[0][2])) if rows else None


    # -- replies (bot/posting/replier.py) --
    _REPLY_COLUMNS = ("mention_id, notification_id, account_id, acct, bot, state, reason, text, canonical, "
                      "visibility, idempotency_key, status_id, url, created_at, posted_at")

    def _replies(self, where: str, params: tuple = ()) -> list[Reply]:
        rows = self._rows(f"SELECT {self._REPLY_COLUMNS} FROM replies {where}", params)
        return [Reply(*r[:4], bool(r[4]), *r[5:]) for r in rows]

    def reply(self, mention_id: str) -> Reply | None:
        found = self._replies("WHERE mention_id = ?", (mention_id,))
        return found[0] if found else None

    def replies(self) -> list[Reply]:
        return self._replies("ORDER BY created_at, mention_id")

    def pending_replies(self) -> list[Reply]:
        return self._replies("WHERE state = 'pending' ORDER BY created_at")

    def replies_since(self, since: int) -> list[Reply]:
        """Replies sent or being sent (not skipped) from since on: what the rate limits count."""
        return self._replies("WHERE state <> 'skipped' AND created_at >= ? ORDER BY created_at", (since,))

    def reply_canonicals(self) -> frozenset[str]:
        return frozenset(r[0] for r in self._rows("SELECT canonical FROM replies WHERE canonical IS NOT NULL"))

    def record_reply(self, mention, state: str, now: int, reason: str | None = None, text: str | None = None,
                     canonical: str | None = None, visibility: str | None = None, key: str | None = None) -> bool:
        """Durably note a decision about a mention: an intent to reply ('pending', before the server
        is called) or a skip. False if the mention was decided already (a retry, or another instance)."""
        try:
            self._run([(f"INSERT INTO replies ({self._REPLY_COLUMNS}) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?, NULL)",
                        (mention.status_id, mention.notification_id, mention.account_id, mention.acct,
                         int(mention.bot), state, reason, text, canonical, visibility, key, now))])
        except self.integrity_errors:
            return False
        return True

    def mark_reply_posted(self, mention_id: str, status_id: str, url: str | None, now: int) -> None:
        self._run([("UPDATE replies SET state = 'posted', status_id = ?, url = ?, posted_at = ? "
                    "WHERE mention_id = ?", (status_id, url, now, mention_id))])

    def mark_reply_skipped(self, mention_id: str, reason: str) -> None:
        """A pending reply the server refused: nothing was published."""
        self._run([("UPDATE replies SET state = 'skipped', reason = ? WHERE mention_id = ? AND state = 'pending'",
                    (reason, mention_id))])

    def drop_reply(self, mention_id: str) -> None:
        """Forget a pending reply that was never published (the token was refused): decide again later."""
        self._run([("DELETE FROM replies WHERE mention_id = ? AND state = 'pending'", (mention_id,))])


class SQLiteStore(Store):
    integrity_errors = (sqlite3.IntegrityError,)

    def __init__(self, path: str):
        self.path = path
        self._lock_file = None
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

    def try_lead(self) -> bool:
        """An exclusive flock on <path>.lock, released when the process ends however it ends."""
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

    def close(self) -> None:
        super().close()
        if self._lock_file is not None:
            self._lock_file.close()  # releases the flock
            self._lock_file = None


class PostgresStore(Store):
    def __init__(self, url: str):
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
        super().__init__(connection, "postgresql")

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
        log.info("reconnected to the database")
        if self.leader:  # a session's advisory lock ends with the session: take it again
            self.leader = False
            if not self.try_lead():
                raise DatabaseLostError("another worker took over the database while the connection was lost")

    def try_lead(self) -> bool:
        """A session-level advisory lock on this database, released when the connection ends."""
        if self.leader:
            return True
        with self._lock:
            row = self.connection.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (LOCK_NAME,)).fetchone()
        self.leader = bool(row and row[0])
        return self.leader

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _driver_transaction(self):
        return self.connection.transaction()


def open_store(database_url: str, stop: threading.Event | None = None) -> Store:
    """The store for DATABASE_URL, migrated; stop (when given) ends reconnection attempts.
    Raises StateError for an unknown URL scheme, a database that cannot be opened or migrated
    (DatabaseLostError when the connection is lost and not restored in time)."""
    if database_url.startswith("sqlite:///"):
        store = SQLiteStore(database_url[len("sqlite:///"):])
    elif database_url.startswith(("postgres://", "postgresql://")):
        store = PostgresStore(database_url)
    else:
        raise StateError("DATABASE_URL must start with sqlite:///, postgres:// or postgresql://")
    if stop is not None:
        store.stop = stop
    store.migrate()
    return store


def wait_to_lead(store: Store, stop: threading.Event, poll: float) -> bool:
    """Become the database's one active worker, standing by (one log line) while another is;
    False if stopped first."""
    if _try_lead(store):
        return True
    log.info("another worker is active on this database (%s); standing by until it stops", store.description)
    while not stop.wait(poll):
        if _try_lead(store):
            log.info("the other worker stopped; taking over")
            return True
    return False


def _try_lead(store: Store) -> bool:
    try:
        return store.try_lead()
    except Exception as e:  # a lost connection while standing by: the next poll tries again
        if isinstance(e, store.lost_errors):
            with store._lock:
                store._reconnect()
            return False
        raise
