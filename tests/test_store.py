"""The state store on both backends: deliveries, the schedule, upgrades, read-only opening,
concurrent starts and leadership."""
import sqlite3
from dataclasses import replace
from types import SimpleNamespace

import pytest

from bot.store import MIGRATIONS, Delivery, Schedule, open_store


def _execute(database_url: str, statements: list[tuple[str, tuple]]) -> None:
    """Run SQL straight through the driver (an old worker's database, written without the store)."""
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url[len("sqlite:///"):]) as c:
            for sql, params in statements:
                c.execute(sql, params)
        return
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as c:
        for sql, params in statements:
            c.execute(sql.replace("?", "%s"), params)


def _old_database(database_url: str, version: int) -> None:
    steps = [(sql, ()) for migration in MIGRATIONS[:version] for sql in migration]
    _execute(database_url, steps + [("INSERT INTO bot_meta (key, value) VALUES ('schema_version', ?)",
                                     (str(version),))])


def _mention(status_id: str):
    return SimpleNamespace(status_id=status_id, notification_id="n" + status_id, account_id="7", acct="ann",
                           bot=False)


POST = Delivery("post", "1700000000", "mastodon", "Stay (feat. Graph Networks)", "key-1", None, "pending",
                created_at=100)


# -- deliveries ------------------------------------------------------------------------------------

def test_a_delivery_is_recorded_once_per_kind_ref_and_network(database_url):
    store = open_store(database_url)
    assert store.record_delivery(POST)
    assert not store.record_delivery(replace(POST, text="another text", key="key-2"))  # a retry, or a rival
    assert store.record_delivery(replace(POST, network="bluesky", key="3kabc"))
    assert store.record_delivery(replace(POST, kind="reply", ref="1700000000", reply_to="55"))
    assert store.delivery("post", "1700000000", "mastodon") == POST
    assert store.delivery("post", "1700000001", "mastodon") is None
    store.close()


def test_a_delivery_is_pending_until_sent_or_refused_and_pending_ones_come_oldest_first(database_url):
    store = open_store(database_url)
    later = replace(POST, ref="1700003600", key="key-2", created_at=200, state="sent")  # state: stored as pending
    reply = Delivery("reply", "109", "bluesky", "@ann Bang Bang (Remix)", "3kxyz", "at://did:plc:a/post/1",
                     "pending", created_at=150)
    for d in (later, POST, reply):
        assert store.record_delivery(d)
    assert [d.key for d in store.pending_deliveries()] == ["key-1", "3kxyz", "key-2"]
    assert [d.key for d in store.pending_deliveries("bluesky")] == ["3kxyz"]
    assert store.delivery("post", "1700003600", "mastodon").state == "pending"

    store.mark_delivered("post", "1700000000", "mastodon", "9001", "https://example.test/@bot/9001", 130)
    store.mark_refused("reply", "109", "bluesky", "422 text too long")
    store.mark_refused("post", "1700000000", "mastodon", "too late")  # a sent status stays sent
    store.drop_delivery("post", "1700000000", "mastodon")  # ...and is never forgotten
    assert store.delivery("post", "1700000000", "mastodon") == replace(
        POST, state="sent", remote_id="9001", url="https://example.test/@bot/9001", sent_at=130)
    assert store.delivery("reply", "109", "bluesky").state == "refused"
    assert store.delivery("reply", "109", "bluesky").reason == "422 text too long"
    assert [d.key for d in store.pending_deliveries()] == ["key-2"]

    store.drop_delivery("post", "1700003600", "mastodon")  # nothing was sent: may be recorded again
    assert store.pending_deliveries() == [] and store.delivery("post", "1700003600", "mastodon") is None
    assert store.record_delivery(later)
    store.close()


def test_bot_stats_counts_what_each_network_was_sent(database_url):
    from bot.curation.curator import Curator
    from bot.posting import stats

    store = open_store(database_url)
    assert store.delivery_counts() == [] and "by network:" not in stats.report(store, Curator({}), True)
    reply = Delivery("reply", "109", "mastodon", "@ann Stay (Remix)", "key-3", "55", "pending", created_at=150)
    ask = Delivery("approval", "1700003600/1", "mastodon", "@owner 1 of 3: Stay (Remix)", "key-4", None, "pending",
                   created_at=160)
    for d in (POST, replace(POST, network="bluesky", key="3kabc"), replace(POST, ref="1700003600", key="key-2"), reply,
              ask):
        assert store.record_delivery(d)
    store.mark_delivered("post", "1700000000", "mastodon", "9001", None, 1_700_000_100)
    store.mark_delivered("reply", "109", "mastodon", "9002", None, 1_700_000_200)
    store.mark_delivered("approval", "1700003600/1", "mastodon", "9003", None, 1_700_000_050)
    store.mark_refused("post", "1700000000", "bluesky", "400 InvalidRecord")
    assert store.delivery_counts() == [("bluesky", "post", "refused", 1, None),
                                       ("mastodon", "approval", "sent", 1, 1_700_000_050),
                                       ("mastodon", "post", "pending", 1, None),
                                       ("mastodon", "post", "sent", 1, 1_700_000_100),
                                       ("mastodon", "reply", "sent", 1, 1_700_000_200)]
    assert stats.networks_table(store.delivery_counts()) == [["bluesky", "0", "0", "0", "0", "1", "-"],
                                                             ["mastodon", "1", "1", "1", "1", "0", "2023-11-14 22:16"]]
    shown = stats.report(store, Curator({}), True)
    assert "by network:" in shown and "| bluesky | 0 | 0 | 0 | 0 | 1 | - |" in shown
    store.close()


def test_an_upgrade_carries_posts_and_replies_into_deliveries(database_url):
    _old_database(database_url, 3)
    post = "INSERT INTO posts (slot, text, canonical, idempotency_key, state, status_id, url, created_at, posted_at) "
    reply = ("INSERT INTO replies (mention_id, notification_id, account_id, acct, bot, state, reason, text, "
             "canonical, visibility, idempotency_key, status_id, url, created_at, posted_at) ")
    _execute(database_url, [
        (post + "VALUES (3600, 'Sent Post', 'sent post', 'k-sent', 'posted', '41', 'https://x/41', 3500, 3601)", ()),
        (post + "VALUES (7200, 'Unsure Post', 'unsure post', 'k-unsure', 'pending', NULL, NULL, 7100, NULL)", ()),
        (reply + "VALUES ('m1', 'n1', '7', 'ann', 0, 'posted', NULL, '@ann Hi', 'hi', 'public', 'rk1', '42', "
                 "'https://x/42', 3000, 3002)", ()),
        (reply + "VALUES ('m2', 'n2', '7', 'ann', 0, 'pending', NULL, '@ann Yo', 'yo', 'unlisted', 'rk2', NULL, "
                 "NULL, 3100, NULL)", ()),
        (reply + "VALUES ('m3', 'n3', '8', 'bob', 1, 'skipped', 'bot', NULL, NULL, NULL, NULL, NULL, NULL, 3200, "
                 "NULL)", ()),
    ])
    store = open_store(database_url)
    assert store.get_meta("schema_version") == str(len(MIGRATIONS))
    assert store.delivery("post", "3600", "mastodon") == Delivery(
        "post", "3600", "mastodon", "Sent Post", "k-sent", None, "sent", "41", "https://x/41", None, 3500, 3601)
    assert store.delivery("reply", "m1", "mastodon") == Delivery(
        "reply", "m1", "mastodon", "@ann Hi", "rk1", "m1", "sent", "42", "https://x/42", None, 3000, 3002)
    assert store.delivery("reply", "m3", "mastodon") is None  # skipped: nothing to send
    assert [(d.kind, d.ref, d.key, d.reply_to) for d in store.pending_deliveries()] == [
        ("reply", "m2", "rk2", "m2"), ("post", "7200", "k-unsure", None)]
    assert [p.state for p in store.posts()] == ["posted", "pending"]  # the old rows stay
    assert not store.record_delivery(Delivery("post", "7200", "mastodon", "Other", "k-new", None, "pending"))
    store.close()


# -- the schedule ----------------------------------------------------------------------------------

def test_the_schedule_is_read_from_the_keys_an_older_worker_wrote(database_url):
    _old_database(database_url, 3)
    _execute(database_url, [("INSERT INTO bot_meta (key, value) VALUES (?, ?)", kv) for kv in [
        ("anchor", "1700000000"), ("interval", "10800.0"), ("pool_built_at", "1700000500"),
        ("refused_slots", "2"), ("resume_at", "1700021600")]])
    store = open_store(database_url)
    assert store.schedule() == Schedule(1700000000, 10800.0, 1700000500, 2, 1700021600)
    store.close()


def test_the_schedule_saves_only_what_changed_and_none_clears_a_field(database_url):
    store = open_store(database_url)
    assert store.schedule() == Schedule(None, None, None, 0, None)
    assert store.save_schedule(anchor=1700000000, interval=3600) == Schedule(1700000000, 3600.0, None, 0, None)
    store.save_schedule(refused_slots=3, resume_at=1700014400)
    assert store.save_schedule(resume_at=None, refused_slots=0) == Schedule(1700000000, 3600.0, None, 0, None)
    assert store.get_meta("interval") == "3600.0" and store.get_meta("resume_at") is None
    with pytest.raises(TypeError, match="no schedule field anchr"):
        store.save_schedule(anchr=5)
    store.close()
    again = open_store(database_url)
    assert again.schedule().anchor == 1700000000
    again.close()


def test_a_schedule_value_that_does_not_parse_is_one_clear_error(database_url):
    from bot.errors import StateError

    store = open_store(database_url)
    store.set_meta({"interval": "three hours"})
    with pytest.raises(StateError, match="bot_meta interval='three hours' is not a number of seconds; delete the row"):
        store.schedule()
    store.set_meta({"interval": "3600", "anchor": "1700000000.0"})  # as older writers left them
    assert store.schedule() == Schedule(1700000000, 3600.0)
    store.set_meta({"anchor": "1700000000.5"})
    with pytest.raises(StateError, match="bot_meta anchor='1700000000.5' is not a whole number of seconds"):
        store.schedule()
    store.close()


def test_every_schedule_field_has_a_key():
    from dataclasses import fields

    from bot.store.meta import _SCHEDULE_KEYS

    assert list(_SCHEDULE_KEYS) == [f.name for f in fields(Schedule)]


# -- the commands that only look never write ----------------------------------------------------

def _tables(database_url: str) -> set[str]:
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url[len("sqlite:///"):]) as c:
            return {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as c:
        return {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_read_only_finds_no_state_and_makes_none(database_url, tmp_path):
    from bot.errors import NoStateYetError

    with pytest.raises(NoStateYetError, match="does not exist yet|has no tables yet"):
        open_store(database_url, read_only=True)
    if database_url.startswith("sqlite:///"):
        assert list(tmp_path.iterdir()) == []
    else:
        assert _tables(database_url) == set()


def test_read_only_reports_an_old_schema_and_leaves_it_as_it_is(database_url):
    from bot.errors import SchemaVersionError

    _old_database(database_url, 3)
    before = _tables(database_url)
    with pytest.raises(SchemaVersionError, match="schema version 3, this bot reads .*run the worker once to upgrade"):
        open_store(database_url, read_only=True)
    assert _tables(database_url) == before and "deliveries" not in before


def test_a_read_only_store_reads_and_cannot_write_or_lead(database_url):
    from bot.errors import StateError

    writer = open_store(database_url)
    writer.save_schedule(anchor=1700000000)
    reader = open_store(database_url, read_only=True)
    assert reader.schedule().anchor == 1700000000 and reader.posts() == []
    with pytest.raises(StateError, match="read-only|readonly"):
        reader.save_schedule(anchor=5)
    with pytest.raises(StateError, match="read-only"):
        reader.try_lead()
    reader.close()
    assert writer.schedule().anchor == 1700000000
    writer.close()


def test_a_schema_newer_than_the_bot_is_refused(database_url):
    from bot.errors import SchemaVersionError

    open_store(database_url).close()
    _execute(database_url, [("UPDATE bot_meta SET value = ? WHERE key = 'schema_version'",
                             (str(len(MIGRATIONS) + 1),))])
    for read_only in (False, True):
        with pytest.raises(SchemaVersionError, match="newer than this bot's .*upgrade the bot"):
            open_store(database_url, read_only=read_only)


def test_bot_stats_on_an_old_database_says_run_the_worker_and_changes_nothing(tmp_path, monkeypatch, capsys):
    from bot import cli

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    _old_database(url, 3)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)
    assert cli.main(["stats"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("bot: error: ") and "run the worker once to upgrade it" in err and "\n" not in err
    assert "deliveries" not in _tables(url)


# -- workers starting together ---------------------------------------------------------------------

def _open_together(database_url: str, n: int = 2) -> list:
    """n stores opened at the same moment on one database (each thread its own connection):
    what each got, a store or the exception."""
    import threading

    start, results = threading.Barrier(n), [None] * n

    def opening(i):
        start.wait()
        try:
            results[i] = open_store(database_url)
        except Exception as e:  # the test reports it
            results[i] = e

    threads = [threading.Thread(target=opening, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


@pytest.mark.parametrize("upgrade", [False, True], ids=["fresh", "upgrade"])
def test_workers_starting_together_both_migrate_cleanly(request, database_url, upgrade):
    for round in range(4):  # a race shows itself in some rounds, not all
        url = database_url if round == 0 else request.getfixturevalue("fresh_database")()
        if upgrade:
            _old_database(url, 2)
        stores = _open_together(url, 3)
        assert [type(s).__name__ for s in stores] == [type(stores[0]).__name__] * 3, stores
        assert all(s.get_meta("schema_version") == str(len(MIGRATIONS)) for s in stores)
        for s in stores:
            s.close()


@pytest.fixture
def fresh_database(request, tmp_path):
    """Makes one more empty database of the same backend as database_url (each call a new one)."""
    import uuid

    def make():
        if request.node.callspec.params["database_url"] == "sqlite":
            return f"sqlite:///{tmp_path / uuid.uuid4().hex}.sqlite3"
        import psycopg

        sockets = request.getfixturevalue("postgres_cluster")
        name = "bot_" + uuid.uuid4().hex[:12]
        with psycopg.connect(f"postgresql://postgres@/postgres?host={sockets}", autocommit=True) as c:
            c.execute(f"CREATE DATABASE {name}")
        return f"postgresql://postgres@/{name}?host={sockets}"

    return make


# -- leadership: the lease (PostgreSQL), directly and through a transaction-mode pooler ----------

@pytest.fixture(scope="module")
def pgbouncer(postgres_cluster):
    """A private PgBouncer in transaction mode in front of the test cluster, on a Unix socket:
    two server connections handed out in turn (server_round_robin), so consecutive transactions
    of one client land on different sessions, as on a busy managed pooler. Yields a function:
    database name -> URL through the pooler."""
    import os
    import shutil
    import subprocess
    import tempfile
    import time
    from pathlib import Path

    import psycopg

    binary = shutil.which("pgbouncer") or next((p for p in ("/usr/sbin/pgbouncer",) if os.path.exists(p)), None)
    if binary is None:
        pytest.skip("PgBouncer not found (Debian package pgbouncer); .ci/run installs it")
    root = Path(tempfile.mkdtemp(prefix="bot-test-pgbouncer-"))
    port = 6543
    (root / "users.txt").write_text('"postgres" ""\n')
    (root / "pgbouncer.ini").write_text(f"""[databases]
* = host={postgres_cluster} user=postgres

[pgbouncer]
unix_socket_dir = {root}
listen_port = {port}
auth_type = trust
auth_file = {root / 'users.txt'}
pool_mode = transaction
default_pool_size = 2
server_round_robin = 1
max_client_conn = 200
logfile = {root / 'pgbouncer.log'}
pidfile = {root / 'pgbouncer.pid'}
""")
    as_user = []
    if os.geteuid() == 0:  # PgBouncer refuses to run as root
        for path in [root, *root.iterdir()]:
            shutil.chown(path, "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    proc = subprocess.Popen([*as_user, binary, str(root / "pgbouncer.ini")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    url = lambda name: f"postgresql://postgres@/{name}?host={root}&port={port}"  # noqa: E731
    deadline = time.monotonic() + 120  # a guard against a hang, not a time budget
    while True:
        try:
            psycopg.connect(url("postgres"), connect_timeout=5).close()
            break
        except psycopg.OperationalError:
            log = (root / "pgbouncer.log").read_text() if (root / "pgbouncer.log").exists() else ""
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"PgBouncer did not start (exit {proc.poll()}):\n{log}")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(30)
    shutil.rmtree(root, ignore_errors=True)


def _database(postgres_cluster) -> str:
    import uuid

    import psycopg

    name = "bot_" + uuid.uuid4().hex[:12]
    with psycopg.connect(f"postgresql://postgres@/postgres?host={postgres_cluster}", autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    return name


@pytest.fixture(params=["direct", "pgbouncer"])
def lease_url(request, postgres_cluster):
    """A fresh PostgreSQL database, reached directly or through the transaction-mode pooler."""
    name = _database(postgres_cluster)
    if request.param == "direct":
        return f"postgresql://postgres@/{name}?host={postgres_cluster}"
    return request.getfixturevalue("pgbouncer")(name)


def _postgres(url: str, lease_for: float = 600.0):
    """A migrated PostgresStore with the given lease length (seconds)."""
    from bot.store.postgres import PostgresStore

    store = PostgresStore(url, lease_for=lease_for)
    store.migrate()
    return store


def test_statements_run_again_and_again_through_a_transaction_pooler(lease_url):
    a, b = _postgres(lease_url), _postgres(lease_url)
    for i in range(12):  # psycopg would prepare a statement from its 5th run on; the pooler then loses it
        a.save_schedule(anchor=i)
        assert b.schedule().anchor == i and a.posts() == [] and b.pending() == []
    a.close()
    b.close()


def test_a_standby_never_takes_a_live_lease_and_takes_a_released_one_at_once(lease_url):
    a, b = _postgres(lease_url), _postgres(lease_url)
    assert a.try_lead()
    for _ in range(12):  # the pooler hands b's statements to a's former sessions too
        assert a.posts() == []
        assert not b.try_lead()
    assert a.lease.holder in b.active_worker()
    a.close()
    assert b.active_worker() is None
    assert b.try_lead() and b.active_worker().startswith(b.lease.holder)
    b.close()


def test_a_stale_lease_is_taken_over_and_its_old_holder_stops(lease_url):
    import time

    from bot.errors import DatabaseLostError

    crashed = _postgres(lease_url, lease_for=1.0)
    assert crashed.try_lead()
    crashed._heartbeat_stop.set()  # frozen: no heartbeat, no release (a crash, a long pause)
    standby = _postgres(lease_url)
    assert not standby.try_lead()
    deadline = time.monotonic() + 120  # a guard against a hang: the lease ends after 1 s
    while not standby.try_lead():
        assert time.monotonic() < deadline, "the stale lease was never taken over"
        time.sleep(0.05)
    with pytest.raises(DatabaseLostError, match="another worker took over"):
        crashed.posts()  # back from its pause: it must not act as a leader any more
    with pytest.raises(DatabaseLostError):
        crashed.save_schedule(anchor=1)
    assert standby.save_schedule(anchor=2).anchor == 2
    crashed.close()
    assert standby.active_worker().startswith(standby.lease.holder)  # closing the old one released nothing
    standby.close()


def test_the_heartbeat_keeps_the_lease_of_a_leader_that_does_nothing(lease_url):
    import time

    a = _postgres(lease_url, lease_for=1.5)
    assert a.try_lead()
    b = _postgres(lease_url)

    def renewed_at():
        return b._rows("SELECT renewed_at FROM leader_lease")[0][0]

    seen = [renewed_at()]
    deadline = time.monotonic() + 120  # a guard against a hang: a beat comes every 0.5 s
    while len(seen) < 3:
        assert time.monotonic() < deadline, "the heartbeat never renewed the lease"
        if renewed_at() != seen[-1]:
            seen.append(renewed_at())
        time.sleep(0.05)
    assert b.active_worker().startswith(a.lease.holder)
    a.close()
    b.close()


def test_a_lease_that_ran_out_but_was_not_taken_is_kept(lease_url):
    import time

    a = _postgres(lease_url, lease_for=0.5)
    assert a.try_lead()
    a._heartbeat_stop.set()
    b = _postgres(lease_url)
    deadline = time.monotonic() + 120
    while b.active_worker() is not None:  # ran out ...
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert a.save_schedule(anchor=7).anchor == 7  # ... and nobody took it: the leader renews and goes on
    assert b.active_worker().startswith(a.lease.holder)
    a.close()
    b.close()


def test_sqlite_names_the_active_worker_without_taking_the_lock(tmp_path):
    url = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    a, b = open_store(url), open_store(url)
    assert b.active_worker() is None
    assert a.try_lead()
    assert a.active_worker() == "this process" and "state.sqlite3.lock" in b.active_worker()
    assert not b.try_lead()
    a.close()
    assert b.active_worker() is None and b.try_lead()
    b.close()


def test_two_workers_through_a_transaction_pooler_one_stands_by_then_takes_over(mastodon_server, postgres_cluster,
                                                                                 pgbouncer, tmp_path):
    from test_daemon import _output, _posted, _start, _stop, _wait_for

    url = pgbouncer(_database(postgres_cluster))
    first = _start(mastodon_server, url, tmp_path)
    _wait_for(lambda: _posted(url), proc=first)
    second = _start(mastodon_server, url, tmp_path)
    _wait_for(lambda: "standing by" in _output(second), proc=second)
    assert "pid " in [line for line in _output(second).splitlines() if "standing by" in line][0]  # who leads
    _stop(first)
    _wait_for(lambda: "started as" in _output(second), proc=second)
    _stop(second)
    assert first.returncode == 0 and second.returncode == 0, _output(first) + _output(second)
    assert len(mastodon_server.statuses) == 1
    assert "error" not in (_output(first) + _output(second)).lower()


# -- a server that closes idle sessions ------------------------------------------------------------

def test_an_idle_session_closed_by_the_server_is_reopened_without_a_log_line(postgres_cluster, caplog):
    import time

    import psycopg

    name = _database(postgres_cluster)
    admin = psycopg.connect(f"postgresql://postgres@/postgres?host={postgres_cluster}", autocommit=True)
    admin.execute(f"ALTER DATABASE {name} SET idle_session_timeout = '100ms'")
    store = open_store(f"postgresql://postgres@/{name}?host={postgres_cluster}")
    caplog.set_level("DEBUG", logger="bot")
    for anchor in range(3):  # a check after every idle spell
        pid = store.connection.info.backend_pid
        deadline = time.monotonic() + 120  # a guard against a hang: the server closes it after 0.1 s
        while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()[0]:
            assert time.monotonic() < deadline, "the server never closed the idle session"
            time.sleep(0.02)
        assert store.save_schedule(anchor=anchor).anchor == anchor
    admin.close()
    store.close()
    assert [r.getMessage() for r in caplog.records if r.levelno >= 20] == []
    assert sum("connection lost" in r.getMessage() for r in caplog.records) == 3  # at debug level


def test_a_database_away_for_a_while_is_one_warning_and_one_line_when_it_is_back(postgres_cluster, pg_ctl, caplog):
    import threading
    import time

    store = open_store(f"postgresql://postgres@/{_database(postgres_cluster)}?host={postgres_cluster}")
    caplog.set_level("INFO", logger="bot")
    pg_ctl("stop", "-m", "fast")
    done = []
    reader = threading.Thread(target=lambda: done.append(store.schedule()))
    reader.start()
    deadline = time.monotonic() + 120
    while not any(r.levelname == "WARNING" for r in caplog.records):
        assert time.monotonic() < deadline, "no warning while the database was away"
        time.sleep(0.05)
    time.sleep(1)  # several reconnection attempts while it stays away
    pg_ctl("start")
    reader.join(120)
    store.close()
    assert done == [Schedule()]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert [level for level, _ in lines] == ["WARNING", "INFO"], lines
    assert "connection lost" in lines[0][1] and "reconnected" in lines[1][1]
