"""Replies to Bluesky mentions, against the real PDS, PLC and Bluesky AppView (@atproto/dev-env's
TestNetwork, started once for the session by the `bsky_network` fixture): people post mentions
through the PDS's API, the AppView indexes them (bsky_network.process()), and the reply job made
as the worker makes it (daemon.bluesky_replier_for) reads them and answers through the PDS."""
import logging
import threading

import pytest

from bot.outlets.base import Outbound
from bot.outlets.bluesky import BlueskyOutlet, MemorySessions
from bot.posting import replies
from bot.posting.bluesky_mentions import mention_of, position
from bot.posting.daemon import bluesky_replier_for
from bot.posting.gateway import Mention
from bot.posting.retry import RetryPolicy
from bot.posting.settings import load
from bot.store import Delivery, open_store

POST = "app.bsky.feed.post"


class Person:
    """An account on the network that posts through the PDS's API with its own session."""

    def __init__(self, network, name):
        self.network, self.account = network, network.create_account(name)
        self.token = network.login(self.account)["accessJwt"]
        self.did, self.handle = self.account.did, self.account.handle

    def post(self, text: str, mention=None, reply_to: dict | None = None) -> dict:
        """A post ({uri, cid}); mention: the Person whose '@handle' starts text, made a mention facet."""
        record = {"$type": POST, "text": text, "createdAt": _now()}
        if mention is not None:
            record["facets"] = [{"index": {"byteStart": 0, "byteEnd": len(mention.handle) + 1},
                                 "features": [{"$type": "app.bsky.richtext.facet#mention", "did": mention.did}]}]
        if reply_to is not None:
            root = reply_to.get("root") or {"uri": reply_to["uri"], "cid": reply_to["cid"]}
            record["reply"] = {"root": root, "parent": {"uri": reply_to["uri"], "cid": reply_to["cid"]}}
        made = self.network.call("com.atproto.repo.createRecord", token=self.token,
                                 body={"repo": self.did, "collection": POST, "record": record})
        made.raise_for_status()
        return {**made.json(), "root": record.get("reply", {}).get("root")}

    def delete(self, post: dict) -> None:
        rkey = post["uri"].rsplit("/", 1)[1]
        self.network.call("com.atproto.repo.deleteRecord", token=self.token,
                          body={"repo": self.did, "collection": POST, "rkey": rkey}).raise_for_status()

    def thread(self, uri: str) -> dict:
        """getPostThread as the AppView serves it (through the PDS)."""
        answer = self.network.call("app.bsky.feed.getPostThread", token=self.token, params={"uri": uri})
        answer.raise_for_status()
        return answer.json()["thread"]


def _now() -> str:
    from datetime import datetime, timezone

    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.fixture
def people(bsky_network):
    """The bot's account and a person, new for each test (the network is shared)."""
    return Person(bsky_network, "mashups"), Person(bsky_network, "annie")


def make_replier(network, bot: Person, database_url, runtime, **env):
    """A fresh process's worth of objects, as the worker makes them: store, outlet, reply job."""
    settings = load({"MASTODON_API_BASE_URL": "http://127.0.0.1:9", "MASTODON_ACCESS_TOKEN": "unused",
                     "NETWORKS": "mastodon,bluesky", "BLUESKY_SERVICE": network.url,
                     "BLUESKY_HANDLE": bot.handle, "BLUESKY_APP_PASSWORD": bot.account.app_password,
                     "DATABASE_URL": database_url, "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s", **env})
    store = open_store(database_url)
    outlet = BlueskyOutlet(network.url, bot.handle, bot.account.app_password, MemorySessions(), timeout=30)
    stop = threading.Event()
    return bluesky_replier_for(settings, runtime, store, outlet, stop,
                               RetryPolicy(settings.retry_base, settings.retry_max, stop))


def bot_replies(person: Person, uri: str, bot: Person) -> list[dict]:
    """The bot's replies under the post at uri, as the AppView shows the thread."""
    return [r["post"] for r in person.thread(uri).get("replies") or [] if r["post"]["author"]["did"] == bot.did]


def close(replier):
    replier.publisher.outlets[0].close()
    replier.store.close()


# -- the job end to end ---------------------------------------------------------------------------

def test_a_mention_gets_exactly_one_reply_under_it_with_the_requested_word(bsky_network, people, database_url,
                                                                              runtime):
    bot, annie = people
    mention = annie.post(f"@{bot.handle} transformers please", mention=bot)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, database_url, runtime)
    [published] = replier.check()
    assert replier.check() == []  # the check runs again
    close(replier)
    again = make_replier(bsky_network, bot, database_url, runtime)  # a restart
    assert again.check() == []
    bsky_network.process()
    [reply] = bot_replies(annie, mention["uri"], bot)
    text = reply["record"]["text"]
    assert reply["uri"] == published.status_id and text == published.text
    assert text.startswith(f"@{annie.handle} ") and text.count("@") == 1
    assert replies.uses_request(text, replies.Request(("transformer",))), text
    ref = {"uri": mention["uri"], "cid": mention["cid"]}
    assert reply["record"]["reply"] == {"root": ref, "parent": ref}
    [facet] = [f for f in reply["record"]["facets"] if f["features"][0]["$type"].endswith("#mention")]
    assert facet["features"][0]["did"] == annie.did and facet["index"]["byteStart"] == 0
    [row] = again.store.replies()
    assert (row.network, row.mention_id, row.state, row.status_id) == ("bluesky", mention["uri"], "posted",
                                                                       published.status_id)
    assert row.account_id == annie.did and again.store.pending_deliveries() == []
    close(again)


def test_a_reply_to_a_reply_answers_in_the_thread_and_a_thread_at_the_depth_limit_gets_none(
        bsky_network, people, tmp_path, runtime, caplog):
    bot, annie = people
    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    first = annie.post(f"@{bot.handle} love", mention=bot)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, database, runtime, REPLY_MAX_DEPTH="1")
    [answer] = replier.check()
    bsky_network.process()
    [shown] = bot_replies(annie, first["uri"], bot)
    # annie answers the bot's reply (Bluesky: a 'reply' notification, no mention needed)
    follow_up = annie.post("more please, about robots", reply_to={"uri": shown["uri"], "cid": shown["cid"],
                                                                 "root": {"uri": first["uri"], "cid": first["cid"]}})
    bsky_network.process()
    with caplog.at_level(logging.INFO, logger="bot"):
        assert replier.check() == []  # one of our replies is above it already: REPLY_MAX_DEPTH=1
    bsky_network.process()
    assert bot_replies(annie, follow_up["uri"], bot) == []
    rows = {r.mention_id: r for r in replier.store.replies()}
    assert rows[follow_up["uri"]].reason == replies.THREAD_DEPTH and rows[first["uri"]].state == "posted"
    assert f"skipped mention {follow_up['uri']}" in caplog.text and answer.status_id == shown["uri"]
    close(replier)


def test_a_reply_to_a_reply_is_answered_under_it_with_the_threads_root(bsky_network, people, tmp_path, runtime):
    bot, annie = people
    first = annie.post(f"@{bot.handle} love", mention=bot)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", runtime,
                           REPLY_MAX_DEPTH="2")
    [answer] = replier.check()
    bsky_network.process()  # annie sees the reply before she answers it
    follow_up = annie.post("again", reply_to={"uri": answer.status_id, "cid": _cid(annie, answer.status_id),
                                             "root": {"uri": first["uri"], "cid": first["cid"]}})
    bsky_network.process()
    [second] = replier.check()
    bsky_network.process()
    [reply] = bot_replies(annie, follow_up["uri"], bot)
    assert reply["uri"] == second.status_id
    assert reply["record"]["reply"]["root"] == {"uri": first["uri"], "cid": first["cid"]}
    assert reply["record"]["reply"]["parent"] == {"uri": follow_up["uri"], "cid": follow_up["cid"]}
    close(replier)


def _cid(person: Person, uri: str) -> str:
    did, collection, rkey = uri.removeprefix("at://").split("/")
    answer = person.network.call("com.atproto.repo.getRecord", params={"repo": did, "collection": collection,
                                                                       "rkey": rkey})
    answer.raise_for_status()
    return answer.json()["cid"]


def test_the_bot_does_not_answer_itself(bsky_network, people, tmp_path, runtime):
    bot, annie = people
    own = bot.post(f"@{bot.handle} transformers", mention=bot)
    shown = annie.post(f"@{bot.handle} hello", mention=bot)  # a real mention beside it
    reply_to_own = bot.post(f"@{bot.handle} and a reply to it", mention=bot,
                            reply_to={"uri": own["uri"], "cid": own["cid"]})
    bsky_network.process()
    replier = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", runtime)
    sent = replier.check()
    bsky_network.process()
    assert [p.in_reply_to for p in sent] == [shown["uri"]], replier.store.replies()
    assert [p["uri"] for p in bot_replies(bot, own["uri"], bot)] == [reply_to_own["uri"]]  # its own, by hand
    assert bot_replies(bot, reply_to_own["uri"], bot) == [] and len(bsky_network.records(bot.did)) == 3
    rows = {r.mention_id: r for r in replier.store.replies()}
    # whether the AppView notified the bot of its own posts or not, none got a reply
    assert all(rows[uri].reason == replies.OWN for uri in (own["uri"], reply_to_own["uri"]) if uri in rows)
    assert rows[shown["uri"]].state == "posted"
    close(replier)


def test_a_mention_deleted_before_the_reply_is_skipped_with_a_log_line(bsky_network, people, tmp_path, runtime,
                                                                       caplog):
    bot, annie = people
    gone = annie.post(f"@{bot.handle} transformers", mention=bot)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", runtime)
    [mention] = replier.gateway.mentions(None)  # read while it was there
    annie.delete(gone)
    with caplog.at_level(logging.INFO, logger="bot"):
        assert replier.handle(mention) is None and replier.handle(mention) is None
    assert [(r.state, r.reason) for r in replier.store.replies()] == [("skipped", "rejected")]
    assert "the post replied to is gone" in caplog.text
    assert bsky_network.records(bot.did) == []
    close(replier)


def test_a_mention_under_a_deleted_post_is_answered_under_the_mention(bsky_network, people, tmp_path, runtime):
    bot, annie = people
    top = annie.post("a thought")
    mention = annie.post(f"@{bot.handle} robots", mention=bot, reply_to={"uri": top["uri"], "cid": top["cid"]})
    annie.delete(top)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", runtime)
    [published] = replier.check()
    bsky_network.process()
    [reply] = bot_replies(annie, mention["uri"], bot)
    assert reply["uri"] == published.status_id
    assert reply["record"]["reply"]["root"] == {"uri": top["uri"], "cid": top["cid"]}  # the thread's, though gone
    close(replier)


# -- exactly once across a crash ------------------------------------------------------------------

def _dying(bsky_network, people, database, runtime):
    """annie mentions the bot, and a replier reads the mention and stores its intent to reply, then
    dies: (annie, her mention, the dying replier, the reply it decided)."""
    bot, annie = people
    mention = annie.post(f"@{bot.handle} robots", mention=bot)
    bsky_network.process()
    dying = make_replier(bsky_network, bot, database, runtime)
    _, outbound, _ = _decided(dying)
    return annie, mention, dying, outbound


def _decided(replier):
    """What the dying process had done by its decision: the mention read and the intent stored."""
    [mention] = replier.gateway.mentions(None)
    request, composed = replier.compose(mention)
    text = replies.reply_text(mention.acct, composed.mashup)
    outbound = Outbound("reply", mention.status_id, text, reply_to=mention.status_id)
    key = replier.publisher.outlets[0].key(outbound)
    assert replier.store.record_reply(mention, "pending", int(replier.clock()), text=text, key=key,
                                      network="bluesky")
    return mention, outbound, key


def test_killed_between_the_decision_and_the_send_a_restart_replies_once(bsky_network, people, tmp_path, runtime):
    bot = people[0]
    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    annie, mention, dying, outbound = _dying(bsky_network, people, database, runtime)
    close(dying)  # killed here: nothing was sent
    restarted = make_replier(bsky_network, bot, database, runtime)
    restarted.check()  # settles the intent: sends the reply decided before, once
    restarted.check()
    bsky_network.process()
    [reply] = bot_replies(annie, mention["uri"], bot)
    assert reply["record"]["text"] == outbound.text
    [row] = restarted.store.replies()
    assert (row.state, row.status_id) == ("posted", reply["uri"])
    close(restarted)


def test_killed_after_the_pds_took_the_reply_a_restart_finds_it_and_sends_nothing(bsky_network, people, tmp_path,
                                                                                  runtime):
    bot = people[0]
    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    annie, mention, dying, outbound = _dying(bsky_network, people, database, runtime)
    outlet = dying.publisher.outlets[0]
    key = outlet.key(outbound)  # the publisher's own key, made at its first attempt
    dying.store.record_delivery(Delivery("reply", outbound.ref, "bluesky", outbound.text, key, outbound.reply_to,
                                         "pending", created_at=int(dying.clock())))
    landed = outlet.send(outbound, key)  # the PDS took it; the answer never reached the store
    close(dying)
    restarted = make_replier(bsky_network, bot, database, runtime)
    assert restarted.check() == []  # nothing new was published...
    [row] = restarted.store.replies()
    assert (row.state, row.status_id) == ("posted", landed.status_id)  # ...and the intent is settled
    assert restarted.check() == []
    bsky_network.process()
    assert [p["uri"] for p in bot_replies(annie, mention["uri"], bot)] == [landed.status_id]
    close(restarted)


def test_a_lost_database_does_not_answer_a_mention_again(bsky_network, people, tmp_path, runtime):
    bot, annie = people
    mention = annie.post(f"@{bot.handle} robots", mention=bot)
    bsky_network.process()
    first = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'a.sqlite3'}", runtime)
    [published] = first.check()
    close(first)
    fresh = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'b.sqlite3'}", runtime)  # state lost
    assert fresh.check() == []
    [row] = fresh.store.replies()
    assert (row.state, row.status_id) == ("posted", published.status_id)
    bsky_network.process()
    assert len(bot_replies(annie, mention["uri"], bot)) == 1
    close(fresh)


def test_mastodon_and_bluesky_replies_keep_their_own_pointer_and_intents(bsky_network, people, tmp_path, runtime):
    from bot.posting.replier import AFTER_KEY

    bot, annie = people
    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"
    annie.post(f"@{bot.handle} robots", mention=bot)
    bsky_network.process()
    replier = make_replier(bsky_network, bot, database, runtime)
    mastodon_intent = Mention("99", "1234", "7", "alice", False, "@mashups x", "public", None, 1.0)
    replier.store.record_reply(mastodon_intent, "pending", 1, text="@alice x", key="k")
    replier.store.set_meta({AFTER_KEY: "99"})
    [published] = replier.check()  # the Mastodon intent is not the Bluesky job's to settle
    assert [r.mention_id for r in replier.store.pending_replies()] == ["1234"]
    assert replier.store.pending_replies("bluesky") == [] and replier.store.get_meta(AFTER_KEY) == "99"
    assert replier.store.get_meta(replier.after_key).endswith(published.in_reply_to)
    close(replier)


# -- what the AppView may send --------------------------------------------------------------------

def _notification(**changes):
    n = {"uri": "at://did:plc:annie/app.bsky.feed.post/3kabc", "cid": "bafy", "reason": "mention",
         "author": {"did": "did:plc:annie", "handle": "annie.test", "labels": []},
         "record": {"$type": POST, "text": "@mashups.test transformers & <b>", "createdAt": "2026-12-06T00:00:00Z"},
         "indexedAt": "2026-12-06T00:00:01.000Z"}
    for k, v in changes.items():
        if v is None:
            n.pop(k, None)
        else:
            n[k] = v
    return n


def test_a_notification_becomes_a_mention_whose_words_are_its_request():
    m = mention_of(_notification())
    assert (m.status_id, m.account_id, m.acct, m.bot, m.in_reply_to_id) == (
        "at://did:plc:annie/app.bsky.feed.post/3kabc", "did:plc:annie", "annie.test", False, None)
    assert replies.mention_text(m.content) == "transformers & <b>"
    assert m.notification_id == position("2026-12-06T00:00:01.000Z", m.status_id)
    labelled = mention_of(_notification(author={"did": "did:plc:b", "handle": "b.test", "labels": [{"val": "bot"}]}))
    assert labelled.bot


@pytest.mark.parametrize("changes", [dict(author=None), dict(record=None), dict(indexedAt="yesterday"),
                                     dict(uri="https://example.com/x"), dict(author={"did": "did:plc:x"}),
                                     dict(record={"text": 5}), dict(author="annie")])
def test_a_notification_without_what_a_reply_needs_is_no_mention(changes):
    assert mention_of(_notification(**changes)) is None


def test_positions_sort_as_time_does():
    a = position("2026-12-06T00:00:09.999Z", "at://z")
    b = position("2026-12-06T00:00:10.000+00:00", "at://a")
    assert a < b and position("not a time", "at://a") is None and position("2026-12-06T00:00:10", "x") is None


def test_unknown_reasons_and_odd_notifications_move_the_pointer_without_a_reply(bsky_network, people, tmp_path,
                                                                                 runtime):
    bot, annie = people
    # a like and a follow are notifications too, with other reasons: the pointer passes them
    post = bot.post("Stay (Transformer Networks Remix)")
    annie.network.call("com.atproto.repo.createRecord", token=annie.token, body={
        "repo": annie.did, "collection": "app.bsky.feed.like",
        "record": {"$type": "app.bsky.feed.like", "subject": {"uri": post["uri"], "cid": post["cid"]},
                   "createdAt": _now()}}).raise_for_status()
    bsky_network.process()
    replier = make_replier(bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", runtime)
    assert replier.check() == [] and replier.store.replies() == []
    pointer = replier.store.get_meta(replier.after_key)
    assert pointer is not None and f" at://{annie.did}/app.bsky.feed.like/" in pointer  # moved past the like
    assert len(bsky_network.records(bot.did)) == 1
    close(replier)


# -- the worker as a real process -----------------------------------------------------------------

def test_the_worker_answers_a_bluesky_mention_on_bluesky_once(bsky_network, people, mastodon_server, tmp_path):
    import signal

    from test_bluesky_worker import _daemon, _output, _wait_for

    bot, annie = people
    mention = annie.post(f"@{bot.handle} transformers please", mention=bot)
    bsky_network.process()
    database = f"sqlite:///{tmp_path / 'state.sqlite3'}"

    def answered():
        return [r for r in bsky_network.records(bot.did) if r["value"].get("reply")]

    worker = _daemon(mastodon_server, bsky_network, bot.account, database, tmp_path, REPLIES="on",
                     REPLY_CHECK="0.2s")
    _wait_for(lambda: answered() and f"replied to @{annie.handle} (mention {mention['uri']}, bluesky," in _output(worker),
              worker)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, _output(worker)
    [reply] = answered()
    assert reply["value"]["reply"]["parent"] == {"uri": mention["uri"], "cid": mention["cid"]}
    assert reply["value"]["text"].startswith(f"@{annie.handle} ")
    assert mastodon_server.replies_to(mention["uri"]) == []  # nothing went to Mastodon
    store = open_store(database)
    [row] = store.replies()
    assert (row.network, row.state, row.status_id) == ("bluesky", "posted", reply["uri"])
    store.close()
