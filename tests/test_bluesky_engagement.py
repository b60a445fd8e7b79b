"""Engagement on Bluesky feeds the learner: the engagement job adds a post's likes, reposts, quotes
and replies on Bluesky, as the real AppView counts them (`bsky_network`), to its Mastodon counts
(the local server's simulated audience)."""
import random
import threading

from bot.outlets.bluesky import BlueskyOutlet, MemorySessions
from bot.posting.bluesky_engagement import read_bluesky_counts
from bot.posting.gateway import Gateway
from bot.posting.learner import EngagementJob, Learner
from bot.posting.publisher import Publisher, outlets_for
from bot.posting.retry import RetryPolicy
from bot.posting.settings import load
from bot.posting.worker import Worker
from bot.store import open_store
from fake_mastodon import TOKEN, Audience

from test_bluesky_replies import POST, Person, _now
from test_learning import PRIOR, tiny_pool_maker
from test_posting import H, Clock


def start(mastodon, network, bot: Person, database_url, clock):
    """Worker and engagement job as the daemon makes them, posting to both networks."""
    settings = load({"MASTODON_API_BASE_URL": mastodon.url, "MASTODON_ACCESS_TOKEN": TOKEN,
                     "NETWORKS": "mastodon,bluesky", "BLUESKY_SERVICE": network.url, "BLUESKY_HANDLE": bot.handle,
                     "BLUESKY_APP_PASSWORD": bot.account.app_password, "DATABASE_URL": database_url,
                     "POST_INTERVAL": "6h", "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s"}, dotenv=False)
    store = open_store(database_url)
    gateway = Gateway(settings.api_base_url, settings.access_token, 5)
    stop = threading.Event()
    publisher = Publisher(store, outlets_for(settings, store, gateway, "1"),
                          RetryPolicy(settings.retry_base, settings.retry_max, stop), clock)
    learner = Learner(settings, store, PRIOR, random.Random(0))
    worker = Worker(settings, store, gateway, "1", tiny_pool_maker(), stop, clock=clock, rng=random.Random(0),
                    learner=learner, publisher=publisher)
    return worker, EngagementJob(settings, store, gateway, "1", learner, clock, bluesky=publisher.outlet("bluesky"))


def react(person: Person, collection: str, subject: dict) -> None:
    record = {"$type": collection, "subject": {"uri": subject["uri"], "cid": subject["cid"]}, "createdAt": _now()}
    person.network.call("com.atproto.repo.createRecord", token=person.token,
                        body={"repo": person.did, "collection": collection, "record": record}).raise_for_status()


def test_a_posts_bluesky_likes_reposts_and_replies_are_added_to_its_mastodon_counts(bsky_network, mastodon_server,
                                                                                     tmp_path):
    bot, annie, ben = (Person(bsky_network, n) for n in ("mashups", "annie", "ben"))
    clock = Clock()
    mastodon_server.audience = Audience(clock, seed=3)
    worker, job = start(mastodon_server, bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", clock)
    assert worker.tick() is not None
    [record] = bsky_network.records(bot.did)
    for person in (annie, ben):
        react(person, "app.bsky.feed.like", record)
    react(annie, "app.bsky.feed.repost", record)
    annie.post("love it", reply_to={"uri": record["uri"], "cid": record["cid"]})
    bsky_network.process()
    post = worker.store.post_features()[0]
    clock.t += 24 * H
    assert job.run() == 1
    [first] = worker.store.readings()
    on_mastodon = mastodon_server.audience.counts(post.status_id)
    assert (first.favourites, first.boosts, first.replies) == (on_mastodon[0] + 2, on_mastodon[1] + 1,
                                                               on_mastodon[2] + 1)
    assert len(worker.store.snapshots()) == 1  # learned from
    worker.store.close()


def test_a_post_gone_from_bluesky_adds_nothing_and_unknown_uris_read_as_gone(bsky_network, mastodon_server,
                                                                             tmp_path):
    bot, annie = Person(bsky_network, "mashups"), Person(bsky_network, "annie")
    clock = Clock()
    worker, job = start(mastodon_server, bsky_network, bot, f"sqlite:///{tmp_path / 'state.sqlite3'}", clock)
    worker.tick()
    [record] = bsky_network.records(bot.did)
    react(annie, "app.bsky.feed.like", record)
    bot.delete(record)
    bsky_network.process()
    clock.t += 24 * H
    assert job.run() == 1
    [first] = worker.store.readings()
    assert (first.favourites, first.boosts, first.replies) == (0, 0, 0)  # Mastodon's (no audience), nothing more
    outlet = BlueskyOutlet(bsky_network.url, bot.handle, bot.account.app_password, MemorySessions())
    missing = [f"at://{bot.did}/{POST}/3kaaaaaaaa{i:03d}" for i in range(30)]  # two calls of at most 25
    assert read_bluesky_counts(outlet, [record["uri"], *missing]) == dict.fromkeys([record["uri"], *missing])
    outlet.close()
    worker.store.close()
