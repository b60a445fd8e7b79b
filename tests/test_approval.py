"""Approval mode against the local server (tests/fake_mastodon.py) through real Mastodon.py, on
SQLite and PostgreSQL: the owner (a second account) answers the bot's direct messages by
favourite, by number, with an edit or with "none"; a stranger's answers count for nothing; the
slot is the unit (two favourites, a late one, a crash between the answer and the post: one post);
the timeout rule both ways; `bot queue` on the same table; messages deleted once the slot is
settled; the day's cap counts them."""
import json
import random
import re
import threading

import pytest
from mastodon import Mastodon

from bot.curation.pipeline import Pool, build_pool
from bot.curation.words import canonical
from bot.posting import approval
from bot.posting.gateway import ReplyGateway
from bot.posting.settings import load
from bot.posting.worker import Worker
from bot.store import PooledCandidate, open_store
from fake_mastodon import TOKEN

H = 3600
T0 = 1_800_000_000
SLOT = T0 + 6 * H  # the first slot: asked about at SLOT - APPROVAL_AHEAD (2 h)


@pytest.fixture(scope="module")
def bank(runtime):
    """Real passing candidates of the shipped model (one pool), drawn from for every pool."""
    return build_pool(runtime, 300, (0.5, 0.7, 0.9), seed=3).passing


class Clock:
    def __init__(self, t=T0):
        self.t = t

    def __call__(self):
        return self.t


class Bot:
    """A fresh process's worth of objects on one database: store, gateway, worker, queue."""

    def __init__(self, server, database_url, bank, runtime, clock, **env):
        self.settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                              "DATABASE_URL": database_url, "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s",
                              "POST_INTERVAL": "6h", "APPROVAL": "on", "APPROVAL_OWNER": "owner",
                              "APPROVAL_AHEAD": "2h", "APPROVAL_CANDIDATES": "3", **env}, dotenv=False)
        self.store = open_store(database_url)
        if self.store.get_meta("anchor") is None:  # slot zero at SLOT: the owner can be asked before it
            self.store.set_meta({"anchor": str(SLOT), "interval": repr(self.settings.interval)})
        rng = random.Random(len(self.store.posts()))

        def make_pool(posted):
            drawn = [c for c in rng.sample(bank, 120) if canonical(c.text) not in posted]
            return Pool(sorted(drawn, key=lambda c: (-c.score, c.text)))
        self.gateway = ReplyGateway(server.url, TOKEN, 5)
        self.worker = Worker(self.settings, self.store, self.gateway, "1", make_pool, threading.Event(), clock=clock,
                             rng=random.Random(7))
        try:
            self.queue = approval.queue_for(self.settings, self.store, self.gateway, self.worker.publisher,
                                            self.worker, runtime, 100, self.worker.retry)
        except BaseException:
            self.store.close()
            raise
        self.worker.approval = self.queue

    def close(self):
        self.store.close()


@pytest.fixture
def owner(mastodon_server):
    account_id, token = mastodon_server.add_account("owner")
    return account_id, Mastodon(api_base_url=mastodon_server.url, access_token=token, version_check_mode="none")


@pytest.fixture
def stranger(mastodon_server):
    account_id, token = mastodon_server.add_account("stranger")
    return account_id, Mastodon(api_base_url=mastodon_server.url, access_token=token, version_check_mode="none")


def messages(server):
    """The bot's direct messages on the server, oldest first."""
    return [s for s in server.by("1") if s["visibility"] == "direct"]


def shown_text(message) -> str:
    """The candidate a direct message shows: what follows its "k/n: " (the text may hold a colon)."""
    return re.search(r"\d+/\d+: (.*)$", message["_text"], re.S).group(1)


def posts(server):
    """The bot's public statuses (its posts), oldest first."""
    return [s for s in server.by("1") if s["visibility"] != "direct"]


def ask(bot, clock, at=SLOT - 2 * H):
    clock.t = at
    bot.queue.run_queue()
    return bot.store.approval_candidates(SLOT)


def at_slot(bot, clock, t=SLOT):
    """The slot comes: the queue reads answers, the worker posts (or not)."""
    clock.t = t
    bot.queue.run_queue()
    return bot.worker.tick()


def test_the_owner_is_that_very_account_looked_up_once(mastodon_server, database_url, bank, runtime, owner):
    from bot.errors import ConfigError

    clock = Clock()
    for handle in ("nobody", "owner@elsewhere.example"):  # a local "owner" is not owner@elsewhere.example
        with pytest.raises(ConfigError, match=f"APPROVAL_OWNER={handle}: no such account"):
            Bot(mastodon_server, database_url, bank, runtime, clock, APPROVAL_OWNER=handle)
    for _ in range(2):  # a restart keeps the owner it found
        bot = Bot(mastodon_server, database_url, bank, runtime, clock, APPROVAL_OWNER="@owner")
        assert bot.queue.owner == approval.Owner(owner[0], "owner")
        bot.close()
    assert mastodon_server.lookups == 3


def test_owner_approves_by_favourite_and_the_messages_go(mastodon_server, database_url, bank, runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    sent = messages(mastodon_server)
    assert [c.number for c in shown] == [1, 2, 3] and len(sent) == 3
    assert all(s["mentions"][0]["acct"] == "owner" for s in sent)  # direct, to the owner
    assert [s["in_reply_to_id"] for s in sent] == [None, sent[0]["id"], sent[1]["id"]]  # one conversation
    assert [shown_text(s) for s in sent] == [c.text for c in shown]
    owner[1].status_favourite(sent[1]["id"])
    published = at_slot(bot, clock)
    assert published is not None and posts(mastodon_server)[0]["_text"] == shown[1].text
    assert bot.store.posts()[0].text == shown[1].text and bot.store.post_features()[0].choice == "approved"
    row = bot.store.approval(SLOT)
    assert (row.decision, row.number, row.how) == ("pick", 2, "favourite")
    bot.queue.run_queue()  # the slot is settled: its messages are deleted
    assert messages(mastodon_server) == [] and sorted(mastodon_server.deleted) == sorted(s["id"] for s in sent)
    assert bot.store.approval(SLOT).cleaned_at is not None
    bot.close()


def test_a_server_that_answers_min_id_with_its_oldest_page_still_brings_the_answer(mastodon_server, database_url,
                                                                                  bank, runtime, owner, stranger):
    for k in range(60):  # an old history of notifications, older than every answer
        mastodon_server.post_as(stranger[0], f"@mashups hello {k}")
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    mastodon_server.min_id_oldest = True  # from now on min_id gets the oldest page, all seen long ago
    owner[1].status_favourite(messages(mastodon_server)[2]["id"])
    before = mastodon_server.notification_requests
    assert at_slot(bot, clock) is not None
    assert posts(mastodon_server)[0]["_text"] == shown[2].text  # the owner's pick, read from the newest page
    assert mastodon_server.notification_requests - before <= 2  # min_id, then the newest page once
    bot.close()


def test_owner_approves_by_number_and_the_replier_leaves_the_answer_alone(mastodon_server, database_url, bank,
                                                                          runtime, owner):
    from bot.posting.replier import Replier
    from bot.posting.replies import Composer

    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    first = messages(mastodon_server)[0]
    answer = owner[1].status_post("@mashups 3!", in_reply_to_id=first["id"], visibility="direct")
    replier = Replier(bot.settings, bot.store, bot.gateway, "1", Composer(runtime, (0.5, 0.7, 0.9)),
                      threading.Event(), clock=clock, publisher=bot.worker.publisher)
    assert replier.check() == []  # an answer to the queue is no request for a mashup
    assert bot.store.reply(str(answer["id"])).reason == approval.ANSWER_REASON
    assert at_slot(bot, clock) is not None
    assert [s["_text"] for s in posts(mastodon_server)] == [shown[2].text]
    assert mastodon_server.replies_to(str(answer["id"])) == []
    bot.close()


def test_owner_edit_is_posted_once_it_passes_every_filter(mastodon_server, database_url, bank, runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    shown_texts = {c.text for c in shown}
    edit = next(c.text for c in reversed(bank) if c.text not in shown_texts)  # a text that passes the filters
    third = messages(mastodon_server)[2]
    owner[1].status_post(f"@mashups {edit}", in_reply_to_id=third["id"], visibility="direct")
    assert at_slot(bot, clock) is not None
    assert [s["_text"] for s in posts(mastodon_server)] == [edit]
    row = bot.store.approval(SLOT)
    assert (row.decision, row.number, row.text) == ("edit", 3, edit)
    posted = bot.store.post_features()[0]
    assert posted.choice == "edited"
    # the edit teaches the engagement learner as a pool candidate would: the same features
    pooled = next(c for c in bank if c.text == edit).features
    assert set(posted.features) == set(pooled)
    assert all(posted.features[k] == pytest.approx(pooled[k], abs=1e-4) for k in posted.features if k != "temperature")
    # no temperature wrote it: the worker's mean one, so it teaches nothing about temperature
    assert posted.features["temperature"] == pytest.approx(sum(bot.settings.temperatures) / len(bot.settings.temperatures))
    assert posted.curator_score == pytest.approx(runtime.evidence.curator.score(posted.features))
    bot.close()


def test_an_edit_that_fails_screening_is_refused_with_a_note_and_the_slot_stays_open(
        mastodon_server, database_url, bank, runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    first = messages(mastodon_server)[0]
    bad = owner[1].status_post("@mashups Hello there my friend", in_reply_to_id=first["id"], visibility="direct")
    clock.t = SLOT - H
    bot.queue.run_queue()
    row = bot.store.approval(SLOT)
    assert row.decision is None and row.refused.startswith("'Hello there my friend': ")
    notes = mastodon_server.replies_to(str(bad["id"]))
    assert len(notes) == 1 and notes[0]["visibility"] == "direct" and "Not posted" in notes[0]["_text"]
    bot.queue.run_queue()  # read again: the note is not sent twice
    assert len(mastodon_server.replies_to(str(bad["id"]))) == 1
    owner[1].status_favourite(first["id"])
    assert at_slot(bot, clock) is not None
    assert [s["_text"] for s in posts(mastodon_server)] == [shown[0].text]
    bot.queue.run_queue()
    assert messages(mastodon_server) == []  # the note went with the candidates
    bot.close()


def test_a_stranger_cannot_approve(mastodon_server, database_url, bank, runtime, owner, stranger):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock, APPROVAL_TIMEOUT_ACTION="skip")
    ask(bot, clock)
    first = messages(mastodon_server)[0]
    # A stranger's reply naming a number, and a favourite as a misbehaving server might relay it.
    mastodon_server_account = mastodon_server.account(stranger[0])
    stranger[1].status_post("@mashups 1", in_reply_to_id=first["id"], visibility="direct")
    mastodon_server.add_notification(type="favourite", account=mastodon_server_account,
                                     status=mastodon_server.public(first))
    assert at_slot(bot, clock) is None
    assert posts(mastodon_server) == []
    assert bot.store.approval(SLOT).decision == "timeout-skip"
    bot.close()


def test_a_favourite_after_the_slot_changes_nothing(mastodon_server, database_url, bank, runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)  # APPROVAL_TIMEOUT_ACTION=post
    shown = ask(bot, clock)
    sent = messages(mastodon_server)
    published = at_slot(bot, clock)  # no answer: the worker's own pick
    assert published is not None and bot.store.approval(SLOT).decision == "timeout-post"
    assert bot.store.approval(SLOT).text == published.text
    late = next(s for s in sent if shown_text(s) != published.text)
    owner[1].status_favourite(late["id"])
    clock.t = SLOT + 10 * 60
    bot.queue.run_queue()
    assert bot.worker.tick() is None
    assert [s["_text"] for s in posts(mastodon_server)] == [published.text]
    assert bot.store.approval(SLOT).decision == "timeout-post" and len(shown) == 3
    bot.close()


def test_two_favourites_post_the_first_once(mastodon_server, database_url, bank, runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    sent = messages(mastodon_server)
    owner[1].status_favourite(sent[0]["id"])
    clock.t = SLOT - H
    bot.queue.run_queue()
    owner[1].status_favourite(sent[2]["id"])
    for minutes in (0, 1, 2):
        at_slot(bot, clock, SLOT + minutes * 60)
    assert [s["_text"] for s in posts(mastodon_server)] == [shown[0].text]
    assert bot.store.approval(SLOT).number == 1
    bot.close()


@pytest.mark.parametrize("crash", ["after the answer", "after the server accepted the post"])
def test_a_crash_between_approval_and_posting_gives_one_post(mastodon_server, database_url, bank, runtime, owner,
                                                             crash, monkeypatch):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    owner[1].status_favourite(messages(mastodon_server)[1]["id"])
    clock.t = SLOT
    bot.queue.run_queue()  # decided: pick 2
    if crash == "after the server accepted the post":
        mastodon_server.ignore_keys = True  # only the search of the account's statuses prevents a second post
        outlet = bot.worker.publisher.outlets[0]
        send = outlet.send

        def send_then_die(outbound, key):
            send(outbound, key)
            raise SystemExit("the process dies before it learns the answer")
        monkeypatch.setattr(outlet, "send", send_then_die)
        with pytest.raises(SystemExit):
            bot.worker.tick()
        assert len(posts(mastodon_server)) == 1 and bot.store.pending()
    bot.close()  # the process dies
    restarted = Bot(mastodon_server, database_url, bank, runtime, clock)
    clock.t = SLOT + 60
    restarted.worker.tick()
    restarted.queue.run_queue()
    clock.t = SLOT + 120
    restarted.worker.tick()
    assert [s["_text"] for s in posts(mastodon_server)] == [shown[1].text]
    assert [p.state for p in restarted.store.posts()] == ["posted"]
    restarted.close()


def test_an_approved_text_the_server_refuses_falls_to_the_timeout_rule(mastodon_server, database_url, bank,
                                                                       runtime, owner):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    owner[1].status_favourite(messages(mastodon_server)[0]["id"])
    mastodon_server.faults = [("status", 422)]  # the next post is refused
    published = at_slot(bot, clock)
    assert published is not None and published.text != shown[0].text
    assert [s["_text"] for s in posts(mastodon_server)] == [published.text]
    assert mastodon_server.post_attempts == 3 + 2  # the messages, the refused pick, the worker's own
    bot.close()


@pytest.mark.parametrize("action", ["post", "skip"])
def test_timeout_rule(mastodon_server, database_url, bank, runtime, owner, action, caplog):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock, APPROVAL_TIMEOUT_ACTION=action)
    ask(bot, clock)
    caplog.set_level("INFO", logger="bot")
    published = at_slot(bot, clock)
    row = bot.store.approval(SLOT)
    assert row.decision == f"timeout-{action}" and row.how == "timeout"
    if action == "post":
        assert published is not None and [s["_text"] for s in posts(mastodon_server)] == [row.text]
        assert "posting the worker's pick" in caplog.text
    else:
        assert published is None and posts(mastodon_server) == [] and "skipping the slot" in caplog.text
    bot.queue.run_queue()
    assert messages(mastodon_server) == []  # settled either way: the messages are deleted
    report = approval.report(bot.store)
    assert f"1 timed out and {'posted' if action == 'post' else 'skipped'}" in report
    at_slot(bot, clock, SLOT + 6 * H)  # the next slot was never asked about (asked after this one settled)
    bot.close()


def test_a_week_posts_exactly_the_owners_picks_once_each(mastodon_server, database_url, bank, runtime, owner):
    """28 slots with a restart every day: the owner answers by favourite, number, edit, none, or
    not at all (timeout: post); each slot posts what the owner said, once."""
    clock = Clock()
    answers = ["favourite", "number", "none", "silent", "edit", "favourite", "number"] * 4
    expected = []
    bot = None
    for k, answer in enumerate(answers):
        slot = SLOT + k * 6 * H
        if k % 4 == 0:  # a new process every day
            if bot is not None:
                bot.close()
            bot = Bot(mastodon_server, database_url, bank, runtime, clock)
        before = {s["id"] for s in messages(mastodon_server)}
        clock.t = slot - 2 * H
        bot.queue.run_queue()
        shown = bot.store.approval_candidates(slot)
        sent = [s for s in messages(mastodon_server) if s["id"] not in before]
        assert len(shown) == 3 and len(sent) == 3, k
        if answer == "favourite":
            owner[1].status_favourite(sent[k % 3]["id"])
            expected.append(shown[k % 3].text)
        elif answer == "number":
            owner[1].status_post(f"@mashups {k % 3 + 1}", in_reply_to_id=sent[0]["id"], visibility="direct")
            expected.append(shown[k % 3].text)
        elif answer == "none":
            owner[1].status_post("@mashups none", in_reply_to_id=sent[0]["id"], visibility="direct")
        elif answer == "edit":
            posted = {canonical(t) for t in expected} | {canonical(c.text) for c in shown}
            edit = next(c.text for c in reversed(bank) if canonical(c.text) not in posted
                        and canonical(c.text) not in bot.store.posted_canonicals())
            owner[1].status_post(f"@mashups {edit}", in_reply_to_id=sent[1]["id"], visibility="direct")
            expected.append(edit)
        for minutes in (0, 30, 60):
            clock.t = slot + minutes * 60
            bot.queue.run_queue()
            bot.worker.tick()
        if answer == "silent":
            expected.append(bot.store.approval(slot).text)
        clock.t = slot + 2 * H
        bot.queue.run_queue()
    assert [s["_text"] for s in posts(mastodon_server)] == expected
    decisions = [r.decision for r in bot.store.approvals()]
    assert decisions.count("none") == 4 and decisions.count("timeout-post") == 4
    assert messages(mastodon_server) == []
    assert len(approval.examples(bot.store)) == 24  # every answer is a labelled example
    from bot.posting import stats

    shown = stats.report(bot.store, runtime.evidence.curator, True)
    assert "approval queue: 28 slots, 16 picked, 4 edited, 4 rejected" in shown and "4 timed out and posted the worker's pick" in shown
    assert "learned from 24 answers (20 picks)" in shown
    # 24 posts (4 slots rejected), 3 candidates shown to the owner for each of the 28 slots
    assert "| mastodon | 24 | 0 | 84 | 0 | 0 |" in shown
    bot.close()


def test_queue_cli_acts_on_the_same_table(mastodon_server, database_url, bank, runtime, owner, monkeypatch, capsys,
                                          tmp_path):
    from bot import cli

    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shown = ask(bot, clock)
    monkeypatch.chdir(tmp_path)
    for name, value in {"MASTODON_API_BASE_URL": mastodon_server.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                        "DATABASE_URL": database_url, "APPROVAL": "on", "APPROVAL_OWNER": "owner",
                        "POST_INTERVAL": "6h"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(cli, "time", type("Time", (), {"time": staticmethod(clock)}))
    assert cli.main(["queue"]) == 0
    listed = capsys.readouterr().out
    assert all(f"{c.number}. {c.text}" in listed for c in shown)
    assert cli.main(["queue", "edit", "Check out https://example.com now"]) == 1
    assert "fails the filters" in capsys.readouterr().err
    assert cli.main(["queue", "approve", "4"]) == 1
    assert "no candidate 4" in capsys.readouterr().err
    assert cli.main(["queue", "approve", "2"]) == 0
    assert "posts" in capsys.readouterr().out
    assert cli.main(["queue", "reject"]) == 1  # nothing waits any more
    assert "no slot is waiting" in capsys.readouterr().err
    assert cli.main(["queue", "reject", "--slot", str(SLOT)]) == 1  # the first answer wins
    assert "decided already" in capsys.readouterr().err
    assert at_slot(bot, clock) is not None
    assert [s["_text"] for s in posts(mastodon_server)] == [shown[1].text]
    assert bot.store.approval(SLOT).how == "queue"
    bot.close()


def test_messages_count_toward_the_days_cap(mastodon_server, database_url, bank, runtime, owner, caplog):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock, MAX_POSTS_PER_DAY="4",
              APPROVAL_CANDIDATES="5")
    caplog.set_level("INFO", logger="bot")
    assert len(ask(bot, clock)) == 3  # 3 messages and the post: the cap's 4
    assert at_slot(bot, clock) is not None
    assert at_slot(bot, clock, SLOT + 6 * H) is None  # held: the messages count toward the cap
    # The next post may go when the messages are a day old (SLOT + 22 h): no room to ask about it.
    clock.t = SLOT + 20 * H
    bot.queue.run_queue()
    assert "no room for messages" in caplog.text and len(mastodon_server.deleted) + len(messages(mastodon_server)) == 3
    assert bot.store.approvals()[-1].slot == SLOT
    assert at_slot(bot, clock, SLOT + 22 * H) is not None  # never asked: the timeout rule posts
    assert len(posts(mastodon_server)) == 2 and bot.store.approval(SLOT + 18 * H).decision == "timeout-post"
    bot.close()


def test_messages_fit_the_servers_status_budget(mastodon_server, database_url, bank, runtime, owner):
    from bot.store import Delivery

    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    for k in range(297):  # replies of the last three hours: room for 2 messages and the post
        bot.store.record_delivery(Delivery("reply", f"m{k}", "mastodon", "@someone hi", f"key{k}", f"m{k}", "pending",
                                           created_at=SLOT - 3 * H + 60))
    assert len(ask(bot, clock)) == 2 and len(messages(mastodon_server)) == 2
    bot.close()


def test_a_server_that_will_not_delete_keeps_the_messages_and_says_so_once(mastodon_server, database_url, bank,
                                                                           runtime, owner, caplog):
    mastodon_server.refuse_delete = True
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    ask(bot, clock)
    owner[1].status_favourite(messages(mastodon_server)[0]["id"])
    caplog.set_level("INFO", logger="bot")
    at_slot(bot, clock)
    bot.queue.run_queue()
    bot.queue.run_queue()
    assert len(messages(mastodon_server)) == 3 and bot.store.approval(SLOT).cleaned_at is not None
    assert caplog.text.count("will not let the bot delete") == 1
    bot.close()


def test_consistent_answers_refit_the_curator_the_worker_ranks_by(mastodon_server, database_url, bank, runtime,
                                                                  owner):
    """Stored answers of an owner who always picks the longest candidate: the refit ranks held-out
    answers better, so the worker's learner ranks by it (and learns "chars" up)."""
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    shipped = runtime.evidence.curator
    rng = random.Random(1)
    for k in range(30):
        shown = rng.sample(bank, 3)
        bot.store.open_approval(SLOT + k * 6 * H, [PooledCandidate(c.text, canonical(c.text), c.score,
                                                                             c.temperature, c.features) for c in shown],
                                T0)
        longest = max(range(3), key=lambda i: len(shown[i].text))
        bot.store.decide_approval(SLOT + k * 6 * H, "pick", longest + 1, shown[longest].text, "favourite", str(k), T0)
    result = bot.queue.refit()
    assert result.used and result.rank_refit < result.rank_shipped and result.picks == 30
    assert bot.worker.learner.prior is not shipped
    assert bot.worker.learner.prior.weights["chars"] > shipped.weights.get("chars", 0.0)
    assert bot.queue.refit() is None  # nothing new: no refit
    bot.close()


def test_a_refit_that_fails_is_logged_once_until_a_new_answer(mastodon_server, database_url, bank, runtime, owner,
                                                              caplog):
    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    for k in range(2):
        shown = [PooledCandidate(c.text, canonical(c.text), c.score, c.temperature, {**c.features, "chars": 1e308 * 10})
                 for c in bank[3 * k: 3 * k + 3]]  # a feature that is no finite number: the fit refuses it
        bot.store.open_approval(SLOT + k * 6 * H, shown, T0)
        bot.store.decide_approval(SLOT + k * 6 * H, "pick", 1, shown[0].text, "favourite", str(k), T0)
        with caplog.at_level("WARNING", logger="bot"):
            caplog.clear()
            for _ in range(3):  # the job runs every 30 s
                assert bot.queue.refit() is None
        assert sum("the refit from" in r.getMessage() for r in caplog.records) == 1  # once per new answer
    bot.close()


def test_the_refit_from_answers_reaches_the_workers_learner_and_the_dry_run(mastodon_server, database_url, bank,
                                                                           runtime, owner):
    from bot.curation import picks
    from bot.posting import daemon

    clock = Clock()
    bot = Bot(mastodon_server, database_url, bank, runtime, clock)
    summary = {"answers": 12, "picks": 12, "rank_shipped": 2.0, "rank_refit": 1.5, "shown": 3.0, "used": True,
               "weights": {**runtime.evidence.curator.weights, "name": 3.0}, "bias": runtime.evidence.curator.bias}
    bot.store.set_meta({approval.CURATOR_KEY: json.dumps(summary)})
    learner = daemon.learner_for(bot.settings, bot.store, runtime)
    assert learner.prior.weights["name"] == 3.0
    bot.store.set_meta({approval.CURATOR_KEY: json.dumps({**summary, "used": False})})
    assert daemon.learner_for(bot.settings, bot.store, runtime).prior == runtime.evidence.curator
    assert picks.from_summary({"used": True, "weights": {"a": "nan"}}, runtime.evidence.curator) is None
    bot.close()


def test_the_bot_process_asks_the_owner_and_reads_the_answer(mastodon_server, database_url, owner, tmp_path):
    """The worker as a real process (daemon.run) with APPROVAL=on: it asks about the next slot
    and stores the owner's favourite as the slot's decision; SIGTERM still exits 0."""
    import time

    from test_daemon import _output, _start, _stop, _wait_for

    store = open_store(database_url)
    slot = int(time.time()) + H  # the next slot an hour away: inside APPROVAL_AHEAD at once
    store.set_meta({"anchor": str(slot), "interval": repr(2.0 * H)})
    store.close()
    proc = _start(mastodon_server, database_url, tmp_path, POST_INTERVAL="2h", APPROVAL="on",
                  APPROVAL_OWNER="owner", APPROVAL_AHEAD="90m", REPLIES="off")
    _wait_for(lambda: len(messages(mastodon_server)) == 3, proc=proc)
    owner[1].status_favourite(messages(mastodon_server)[1]["id"])

    def decided():
        store = open_store(database_url, read_only=True)
        try:
            return store.approval(slot).decision == "pick"
        finally:
            store.close()
    _wait_for(decided, proc=proc)
    assert _stop(proc) and proc.returncode == 0
    assert "approval mode: @owner picks each post" in _output(proc) and posts(mastodon_server) == []
