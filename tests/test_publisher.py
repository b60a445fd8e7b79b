"""Replies leave through the one publisher as posts do: exactly once against a server that ignores
Idempotency-Key, loses answers, or forgot everything; and a failing reply never holds up the
others. On both stores."""
import pytest

from bot.store import open_store
from test_replies import composer, start_replier  # noqa: F401  (composer: a fixture)


@pytest.fixture
def alice(mastodon_server):
    account, _ = mastodon_server.add_account("alice")
    return account


def test_a_reply_whose_answer_is_lost_on_a_key_ignoring_server_is_posted_once(
        mastodon_server, database_url, composer, alice):  # noqa: F811
    mastodon_server.ignore_keys = True
    mastodon_server.reply_faults = [("drop_after_accept",)]
    mention = mastodon_server.post_as(alice, "@mashups make one about transformers")
    replier = start_replier(mastodon_server, database_url, composer)
    replier.check()  # the server stored the reply; the answer was lost: pending
    replier.publisher._not_before.clear()  # the per-network backoff has passed
    replier.check()  # settled by finding it among the account's statuses, not sent again
    assert len(mastodon_server.replies_to(mention["id"])) == 1
    reply = replier.store.reply(mention["id"])
    assert reply.state == "posted" and reply.status_id == mastodon_server.replies_to(mention["id"])[0]["id"]


def test_a_lost_database_never_answers_a_mention_twice(mastodon_server, database_url, composer, alice,  # noqa: F811
                                                       tmp_path):
    mastodon_server.ignore_keys = True  # the server does not remember the key either
    mention = mastodon_server.post_as(alice, "@mashups make one about transformers")
    start_replier(mastodon_server, database_url, composer).check()
    assert len(mastodon_server.replies_to(mention["id"])) == 1
    fresh = start_replier(mastodon_server, f"sqlite:///{tmp_path / 'restored.sqlite3'}", composer)
    fresh.check()  # a new DATABASE_URL: the mention comes again, and was answered already
    assert len(mastodon_server.replies_to(mention["id"])) == 1
    assert fresh.store.reply(mention["id"]).state == "posted"


def test_a_reply_that_keeps_failing_is_left_pending_and_the_next_mention_is_answered(
        mastodon_server, database_url, composer, alice):  # noqa: F811
    bob, _ = mastodon_server.add_account("bob")
    first = mastodon_server.post_as(alice, "@mashups make one about transformers")
    mastodon_server.reply_faults = [("status", 503)]
    replier = start_replier(mastodon_server, database_url, composer)
    replier.check()
    assert replier.store.reply(first["id"]).state == "pending"  # one attempt, no retry loop in the job
    second = mastodon_server.post_as(bob, "@mashups one about love")
    mastodon_server.reply_faults = [("status", 503)] * 100  # the server keeps failing replies
    replier.publisher._not_before.clear()
    replier.check()  # neither blocks the job
    mastodon_server.reply_faults = []
    replier.publisher._not_before.clear()  # the per-network backoff has passed
    replier.check()
    assert len(mastodon_server.replies_to(first["id"])) == 1 and len(mastodon_server.replies_to(second["id"])) == 1
    store = open_store(database_url)
    assert {store.reply(first["id"]).state, store.reply(second["id"]).state} == {"posted"}
    store.close()


class RefusingOutlet:
    """A second network whose credentials are refused (the outlet protocol, bot/outlets/base.py)."""
    network = "elsewhere"
    calls = 0

    def length(self, text):
        return len(text)

    def limit(self):
        return 300

    def key(self, outbound):
        return "k-" + outbound.ref

    def send(self, outbound, key):
        from bot.errors import AuthError

        RefusingOutlet.calls += 1
        raise AuthError("elsewhere: the server refused the credentials (401)")

    def find(self, outbound, key):
        return None


def test_refused_credentials_on_a_second_network_stop_only_that_network(mastodon_server, database_url):
    import threading

    from bot.outlets.base import Outbound
    from bot.posting.gateway import Gateway
    from bot.posting.publisher import Publisher, mastodon_outlet
    from bot.posting.retry import RetryPolicy
    from bot.posting.settings import load
    from fake_mastodon import TOKEN

    RefusingOutlet.calls = 0
    settings = load({"MASTODON_API_BASE_URL": mastodon_server.url, "MASTODON_ACCESS_TOKEN": TOKEN})
    store = open_store(database_url)
    outlets = [mastodon_outlet(settings, Gateway(mastodon_server.url, TOKEN, 5), "1"), RefusingOutlet()]
    publisher = Publisher(store, outlets, RetryPolicy(0.01, 0.05, threading.Event()))
    first = publisher.publish(Outbound("post", "100", "Bad Blood (Sparse Attention Remix)"))
    assert first["mastodon"] is not None and "elsewhere" not in first and "elsewhere" in publisher.stopped
    assert store.delivery("post", "100", "elsewhere") is None  # nothing went out there: no intent left
    second = publisher.publish(Outbound("post", "200", "Closer (feat. Graph Networks)"))
    assert second["mastodon"] is not None and RefusingOutlet.calls == 1  # not tried again
    assert mastodon_server.texts() == ["Bad Blood (Sparse Attention Remix)", "Closer (feat. Graph Networks)"]
    store.close()
