"""The schema, as an append-only list of migrations, and the code that applies them."""
from __future__ import annotations

from ..errors import NoStateYetError, SchemaVersionError

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
    [
        # The one publisher's record of every status sent to every network (bot/store/deliveries.py),
        # seeded with the Mastodon intents and outcomes of posts and replies so that exactly-once
        # survives the upgrade. The old columns stay until no reader needs them.
        """CREATE TABLE IF NOT EXISTS deliveries (
            kind TEXT NOT NULL, ref TEXT NOT NULL, network TEXT NOT NULL, text TEXT NOT NULL,
            key TEXT NOT NULL, reply_to TEXT, state TEXT NOT NULL, remote_id TEXT, url TEXT,
            reason TEXT, created_at BIGINT NOT NULL, sent_at BIGINT, PRIMARY KEY (kind, ref, network))""",
        "CREATE INDEX IF NOT EXISTS deliveries_by_state ON deliveries (state, created_at)",
        """INSERT INTO deliveries (kind, ref, network, text, key, reply_to, state, remote_id, url, created_at,
                                   sent_at)
           SELECT 'post', CAST(slot AS TEXT), 'mastodon', text, idempotency_key, NULL,
                  CASE state WHEN 'posted' THEN 'sent' ELSE 'pending' END, status_id, url, created_at, posted_at
           FROM posts WHERE state IN ('pending', 'posted')""",
        """INSERT INTO deliveries (kind, ref, network, text, key, reply_to, state, remote_id, url, created_at,
                                   sent_at)
           SELECT 'reply', mention_id, 'mastodon', text, idempotency_key, mention_id,
                  CASE state WHEN 'posted' THEN 'sent' ELSE 'pending' END, status_id, url, created_at, posted_at
           FROM replies WHERE state IN ('pending', 'posted') AND text IS NOT NULL AND idempotency_key IS NOT NULL""",
    ],
    [
        # PostgreSQL's one-active-worker lease (bot/store/lease.py); times are the database's
        # clock in epoch seconds. SQLite leads by an flock and leaves this table empty.
        """CREATE TABLE IF NOT EXISTS leader_lease (
            name TEXT PRIMARY KEY, holder TEXT NOT NULL, renewed_at DOUBLE PRECISION NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL)""",
    ],
    [
        # The owner's approval queue (bot/store/approvals.py): one row per slot asked about or
        # decided, and the candidates sent for it with what the curator saw (labelled examples
        # once the owner answers). The messages themselves are deliveries.
        """CREATE TABLE IF NOT EXISTS approvals (
            slot BIGINT PRIMARY KEY, decision TEXT, number INTEGER, text TEXT, how TEXT, answer TEXT,
            refused TEXT, asked_at BIGINT NOT NULL, decided_at BIGINT, cleaned_at BIGINT)""",
        """CREATE TABLE IF NOT EXISTS approval_candidates (
            slot BIGINT NOT NULL, number INTEGER NOT NULL, text TEXT NOT NULL, canonical TEXT NOT NULL,
            score DOUBLE PRECISION NOT NULL, temperature DOUBLE PRECISION NOT NULL, features TEXT NOT NULL,
            PRIMARY KEY (slot, number))""",
        "CREATE INDEX IF NOT EXISTS deliveries_by_remote_id ON deliveries (remote_id)",
    ],
    [
        # Replies on more than one network: each row names the network of its mention (a Bluesky
        # mention's id is its at:// URI, a Mastodon one's the status id), so each network's reply
        # job settles only its own unfinished replies.
        "ALTER TABLE replies ADD COLUMN network TEXT NOT NULL DEFAULT 'mastodon'",
    ],
]
VERSION = len(MIGRATIONS)


def stored_version(store) -> int | None:
    """The schema version the database holds; None when it has no tables yet. Only reads."""
    if not store.has_table("bot_meta"):
        return None
    row = store._rows("SELECT value FROM bot_meta WHERE key = 'schema_version'")
    return int(row[0][0]) if row else 0


def require_current(store) -> None:
    """For the commands that only read: the schema must be this bot's. Raises NoStateYetError
    (no tables yet) or SchemaVersionError (older: the worker upgrades it; newer: upgrade the bot)."""
    version = stored_version(store)
    if version is None:
        raise NoStateYetError(f"{store.description} has no tables yet (the worker creates them at its first start; "
                              "check DATABASE_URL)")
    if version < VERSION:
        raise SchemaVersionError(f"{store.description} has schema version {version}, this bot reads {VERSION}: "
                                 "run the worker once to upgrade it")
    _not_newer(store, version)


def _not_newer(store, version: int) -> None:
    if version > VERSION:
        raise SchemaVersionError(f"{store.description} has schema version {version}, newer than this bot's "
                                 f"{VERSION}: upgrade the bot (a newer one wrote it)")


def migrate(store) -> int:
    """Bring store's schema to VERSION in one transaction; returns VERSION. Workers starting
    together queue on the backend's migration lock (PostgreSQL: a transaction-level advisory
    lock; SQLite: the write lock BEGIN IMMEDIATE takes), so the later one finds the schema
    current. Raises SchemaVersionError for a schema newer than this bot's."""
    def work(cursor):
        if store.migration_lock:
            cursor.execute(store.migration_lock)
        cursor.execute(MIGRATIONS[0][0])
        cursor.execute("SELECT value FROM bot_meta WHERE key = 'schema_version'")
        row = cursor.fetchone()
        version = int(row[0]) if row else 0
        _not_newer(store, version)
        for number in range(version, VERSION):
            for sql in MIGRATIONS[number]:
                cursor.execute(sql)
        if version < VERSION:
            cursor.execute("DELETE FROM bot_meta WHERE key = 'schema_version'")
            cursor.execute(store._sql("INSERT INTO bot_meta (key, value) VALUES ('schema_version', ?)"),
                           (str(VERSION),))
        return VERSION

    return store._transact(work)
