"""Replies to mentions: the pure parts, then the reply job through real Mastodon.py over HTTP to
the local server (tests/fake_mastodon.py), on SQLite and PostgreSQL."""
import logging
import threading
import time
from types import SimpleNamespace

import pytest

from bot.curation import seams

from bot.curation.filters import blocklist
from bot.posting import replies
from bot.posting.gateway import ReplyGateway
from bot.posting.replier import Replier
from bot.posting.settings import load
from bot.store import open_store
from fake_mastodon import TOKEN

DAY = 86400


# -- pure parts ---------------------------------------------------------------------------------

def test_mention_text_strips_mentions_links_and_html_and_keeps_hashtag_words():
    html = ('<p><span class="h-card" translate="no"><a href="https://x.social/@mashups" class="u-url mention">'
            '@<span>mashups</span></a></span> <span class="h-card"><a href="https://y.social/@al" '
            'class="u-url mention">@<span>al</span></a></span> something about '
            '<a href="https://x.social/tags/Transformers" class="mention hashtag" rel="tag">#<span>Transformers</span></a>'
            ' &amp; love<br />see <a href="https://example.com/a" rel="nofollow"><span class="invisible">https://'
            '</span>example.com/a</a> @bob@elsewhere.org</p>')
    assert replies.mention_text(html) == "something about Transformers & love see"
    assert replies.mention_text("@mashups@x.social #deep learning www.example.com/x") == "deep learning"
    # a server that does not mark its hashtag links: a link whose text is a hashtag keeps its word
    assert replies.mention_text('<p>one on <a href="https://m.example/tags/gans">#gans</a> not '
                                '<a href="https://m.example/page">this page</a></p>') == "one on gans not"
    assert replies.parse_request(replies.mention_text(
        '<p>make one about <a href="https://x.social/tags/transformers" class="mention hashtag" rel="tag">'
        '#<span>transformers</span></a></p>')).words == ("transformers",)


def test_request_words_skip_function_words_and_put_known_words_first():
    known = {"transformer", "love", "networks"}.__contains__
    r = replies.parse_request("please write one about the Zorblax and Transformers and love, network 2024", known)
    assert r.words == ("Transformer", "love", "networks") and r.usable  # unknown words dropped or mended
    assert replies.parse_request("the Zorblax", None).words == ("Zorblax",)
    assert replies.parse_request("hi! please?").words == ()
    # possessives, full-width letters and ligatures are the words they spell; joining and tag words are no request
    known2 = {"transformer", "fire", "attention"}.__contains__
    assert replies.parse_request("Transformer's and ｆｉre", known2).words == ("Transformer", "fire")
    assert replies.parse_request("feat remix using attention towards", known2).words == ("attention",)
    assert not replies.parse_request("").usable


def test_a_refused_word_makes_the_request_unusable():
    bad = blocklist()[0]
    r = replies.parse_request(f"transformers {bad}")
    assert r.refused and not r.usable and bad not in " ".join(r.words)


@pytest.mark.parametrize("mention, posts, expected", [
    ("public", "public", "unlisted"), ("unlisted", "public", "unlisted"), ("private", "public", "private"),
    ("direct", "unlisted", "direct"), ("public", "private", "private"), ("direct", "direct", "direct")])
def test_reply_visibility_is_never_wider_than_the_mention(mention, posts, expected):
    assert replies.reply_visibility(mention, posts) == expected


def _mention(account_id="9", bot=False, age=0.0, now=1e9):
    return SimpleNamespace(account_id=account_id, bot=bot, created_at=now - age)


def test_skip_reasons():
    limits = replies.Limits(max_age=DAY, per_account=3, per_hour=5, bot_limit=1, max_depth=3)
    now = 1e9
    sent = lambda account, ago: SimpleNamespace(account_id=account, created_at=now - ago)  # noqa: E731
    assert replies.skip_reason(_mention("1"), "1", now, [], limits) == replies.OWN
    assert replies.skip_reason(_mention(age=DAY + 1), "1", now, [], limits) == replies.TOO_OLD
    assert replies.skip_reason(_mention(), "1", now, [], limits) is None
    assert replies.skip_reason(_mention(bot=True), "1", now, [sent("9", 20 * 3600)], limits) == replies.BOT_LIMIT
    assert replies.skip_reason(_mention(bot=True), "1", now, [sent("9", DAY + 5)], limits) is None
    three = [sent("9", 60 * k) for k in range(3)]
    assert replies.skip_reason(_mention(), "1", now, three, limits) == replies.ACCOUNT_RATE
    assert replies.skip_reason(_mention(), "1", now + 3600, three, limits) is None
    five = [sent(str(20 + k), 60) for k in range(5)]
    assert replies.skip_reason(_mention(), "1", now, five, limits) == replies.HOURLY_RATE
    assert replies.too_deep(["1", "9", "1", "9", "1"], "1", 3) and not replies.too_deep(["1", "9", "1"], "1", 3)


def test_idempotency_key_is_a_function_of_the_mention():
    assert replies.idempotency_key("1", "55") == replies.idempotency_key("1", "55")
    assert replies.idempotency_key("1", "55") != replies.idempotency_key("1", "56")


# -- the reply job against the local server -----------------------------------------------------

@pytest.fixture(scope="module")
def composer(runtime):
    return replies.Composer(runtime, (0.5, 0.7, 0.9), samples=24)


def start_replier(server, database_url, composer, token=TOKEN, account_id="1", **env):
    """A fresh process's worth of objects: its own store connection and client."""
    settings = load({"MASTODON_API_BASE_URL": server.url, "MASTODON_ACCESS_TOKEN": token,
                     "DATABASE_URL": database_url, "RETRY_BASE": "0.01s", "RETRY_MAX": "0.05s", **env})
    gateway = ReplyGateway(settings.api_base_url, settings.access_token, 5)
    return Replier(settings, open_store(database_url), gateway, account_id, composer, threading.Event(),
                   status_limit=500)


def test_a_request_word_opens_the_half_whose_corpus_uses_it_more(composer):
    stats = composer.evidence.stats
    assert replies.steering_half("Transformer", stats) == "arxiv"
    assert replies.steering_half("love", stats) == "song"
    # a word only one corpus uses opens that corpus' half, however rarely it is used there
    rare_paper = next(w for w, n in sorted(stats.arxiv.items()) if n == 1 and w not in stats.song and w.isalpha())
    rare_song = next(w for w, n in sorted(stats.song.items()) if n == 1 and w not in stats.arxiv and w.isalpha())
    assert replies.steering_half(rare_paper, stats) == "arxiv" and replies.steering_half(rare_song, stats) == "song"
    composed = composer(replies.Request((rare_paper,)), 500, seed=5)
    assert composed.steered_by == rare_paper, (rare_paper, composed)
    for word, half in (("Transformer", "arxiv"), ("love", "song")):
        composed = composer(replies.Request((word,)), 500, seed=3)
        assert composed.steered_by == word
        _, song, paper = seams.parse(composed.mashup)
        assert (paper if half == "arxiv" else song).lower().startswith(word.lower() + " "), composed.mashup


def test_a_mention_gets_exactly_one_reply_with_etiquette(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    mastodon_server.add_account("bob")
    mention = mastodon_server.post_as(alice, "@mashups @bob something about transformers please")
    replier = start_replier(mastodon_server, database_url, composer, POST_LANGUAGE="de", POST_CONTENT_WARNING="mashup")
    [published] = replier.check()
    assert replier.check() == []
    replier.store.close()
    again = start_replier(mastodon_server, database_url, composer)  # a restart
    assert again.check() == []
    [reply] = mastodon_server.replies_to(mention["id"])
    text = reply["_text"]
    assert text.startswith("@alice ") and text.count("@") == 1  # bob is not mentioned
    assert reply["visibility"] == "unlisted" and reply["language"] == "de" and reply["spoiler_text"] == "mashup"
    assert reply["account"]["id"] == "1" and published.status_id == reply["id"]
    # the request steers the mashup: a paper word opens the paper phrase
    _, song, paper = seams.parse(text.removeprefix("@alice "))
    assert paper.startswith("Transformer ") and "transformer" not in song.lower()
    [row] = again.store.replies()
    assert (row.state, row.status_id, row.text) == ("posted", reply["id"], text)
    again.store.close()


def test_direct_and_followers_only_mentions_get_replies_as_narrow(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    direct = mastodon_server.post_as(alice, "@mashups love", visibility="direct")
    private = mastodon_server.post_as(alice, "@mashups networks", visibility="private")
    replier = start_replier(mastodon_server, database_url, composer, POST_VISIBILITY="public")
    assert len(replier.check()) == 2
    assert mastodon_server.replies_to(direct["id"])[0]["visibility"] == "direct"
    assert mastodon_server.replies_to(private["id"])[0]["visibility"] == "private"
    replier.store.close()


def test_a_blocklisted_request_word_is_never_echoed(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    bad = next(w for w in blocklist() if w.isalpha() and len(w) > 4)
    mention = mastodon_server.post_as(alice, f"@mashups {bad} transformers")
    replier = start_replier(mastodon_server, database_url, composer)
    replier.check()
    [reply] = mastodon_server.replies_to(mention["id"])
    assert bad not in reply["_text"].lower()
    replier.store.close()


def test_rate_limits_hold_and_each_skip_is_logged_once(mastodon_server, database_url, composer, caplog):
    alice, _ = mastodon_server.add_account("alice")
    carol, _ = mastodon_server.add_account("carol")
    for k in range(4):
        mastodon_server.post_as(alice, f"@mashups song {k}")
    mastodon_server.post_as(carol, "@mashups love")
    replier = start_replier(mastodon_server, database_url, composer, REPLY_PER_ACCOUNT="2", REPLY_PER_HOUR="3")
    with caplog.at_level(logging.INFO, logger="bot"):
        replier.check()
        replier.check()
    replied = [s for s in mastodon_server.by("1") if s["in_reply_to_id"]]
    assert len(replied) == 3 and sum(s["_text"].startswith("@alice ") for s in replied) == 2
    skips = [r.message for r in caplog.records if r.message.startswith("skipped mention")]
    assert len(skips) == 2 and "account-rate" in skips[0]
    replier.store.close()


def test_old_mentions_and_own_statuses_get_no_reply(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    mastodon_server.post_as(alice, "@mashups transformers", created_at=time.time() - 2 * DAY)
    fresh = mastodon_server.post_as(alice, "@mashups transformers")
    replier = start_replier(mastodon_server, database_url, composer)
    replier.check()
    assert [s["in_reply_to_id"] for s in mastodon_server.by("1")] == [fresh["id"]]
    assert sorted(r.reason or "" for r in replier.store.replies()) == ["", "too-old"]
    replier.store.close()


@pytest.mark.parametrize("bot_limit, expected", [("1", (1, 1)), ("100", (3, 2))])
def test_two_bots_mentioning_each_other_stop(mastodon_server, database_url, tmp_path, composer, bot_limit, expected):
    """Bot B (a copy of this bot on another account) starts a thread; the bot flag limit, or the
    thread depth limit, ends the exchange (B started it, so its first status counts for its depth)."""
    b_id, b_token = mastodon_server.add_account("otherbot", bot=True)
    other_db = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    a = start_replier(mastodon_server, database_url, composer, REPLY_BOT_LIMIT=bot_limit)
    b = start_replier(mastodon_server, other_db, composer, token=b_token, account_id=b_id, REPLY_BOT_LIMIT=bot_limit)
    mastodon_server.post_as(b_id, "@mashups transformers")
    for _ in range(10):
        if not a.check() + b.check():
            break
    assert (len(mastodon_server.by("1")), len(mastodon_server.by(b_id)) - 1) == expected
    reasons = {r.reason for r in a.store.replies() + b.store.replies() if r.state == "skipped"}
    assert reasons == {"bot-limit" if bot_limit == "1" else "thread-depth"}
    a.store.close()
    b.store.close()


def test_a_reply_the_server_times_out_on_is_retried_with_the_same_key(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    mention = mastodon_server.post_as(alice, "@mashups love")
    mastodon_server.reply_faults = [("stall", 3), ("status", 503)]
    replier = start_replier(mastodon_server, database_url, composer, REQUEST_TIMEOUT="0.5s")
    replier.gateway = ReplyGateway(mastodon_server.url, TOKEN, 0.5)
    [published] = replier.check()
    [reply] = mastodon_server.replies_to(mention["id"])
    assert published.status_id == reply["id"]
    reply_keys = set(mastodon_server.keys_seen)
    assert reply_keys == {replies.idempotency_key("1", mention["id"])}
    replier.store.close()


def test_a_token_without_read_notifications_turns_replies_off_not_the_bot(mastodon_server, database_url, composer,
                                                                          caplog):
    _, token = mastodon_server.add_account("mashups2", scopes=("read:accounts", "read:statuses", "write:statuses"))
    replier = start_replier(mastodon_server, database_url, composer, token=token, account_id="2")
    with caplog.at_level(logging.ERROR, logger="bot"):
        assert replier.check() == [] and replier.check() == []
    assert replier.disabled and sum("read:notifications" in r.message for r in caplog.records) == 1
    assert not replier.gateway.can_read_mentions()
    replier.store.close()


def test_killed_after_the_server_accepted_a_reply_then_restarted_replies_exactly_once(mastodon_server, database_url,
                                                                                      tmp_path):
    from test_daemon import _output, _start, _stop, _wait_for

    alice, _ = mastodon_server.add_account("alice")
    mention = mastodon_server.post_as(alice, "@mashups love")
    mastodon_server.reply_faults = [("stall", 60)]
    first = _start(mastodon_server, database_url, tmp_path, REPLY_CHECK="0.2s")
    _wait_for(mastodon_server.reply_accepted.is_set, timeout=60, proc=first)
    first.kill()  # SIGKILL: the server has the reply, the bot never heard back
    first.wait(10)
    mastodon_server.release.set()
    store = open_store(database_url)
    assert [r.state for r in store.replies()] == ["pending"]
    store.close()

    def settled():
        store = open_store(database_url)
        try:
            return [r.state for r in store.replies()] == ["posted"]
        finally:
            store.close()

    second = _start(mastodon_server, database_url, tmp_path, REPLY_CHECK="0.2s")
    _wait_for(settled, timeout=60, proc=second)
    time.sleep(0.6)  # a few more reply checks: nothing new may happen
    assert _stop(second) < 10 and second.returncode == 0
    assert len(mastodon_server.replies_to(mention["id"])) == 1
    assert "settled unfinished reply" in _output(second)


# -- what real servers send (issue 20): odd notifications, hidden threads, hashtags, huge mentions --

def test_a_notification_without_an_account_or_status_is_skipped_once_and_the_pointer_moves_past(
        mastodon_server, database_url, composer, caplog):
    from bot.posting.replier import AFTER_KEY

    alice, _ = mastodon_server.add_account("alice")
    first = mastodon_server.post_as(alice, "@mashups love")
    words_only = mastodon_server.post_as(alice, "no mention here")  # a status, but no notification
    mastodon_server.add_notification(status=mastodon_server.public(words_only))  # its sender deleted
    last = mastodon_server.add_notification(account=mastodon_server.account(alice))  # its status gone
    replier = start_replier(mastodon_server, database_url, composer)
    with caplog.at_level(logging.INFO, logger="bot"):
        [published] = replier.check()
        requests = mastodon_server.notification_requests
        assert replier.check() == []
    assert mastodon_server.replies_to(first["id"])[0]["id"] == published.status_id
    assert replier.store.get_meta(AFTER_KEY) == last["id"]  # past the odd ones, though none was answered
    assert mastodon_server.notification_requests == requests + 1  # the second check: one page, nothing new
    assert sum("skipped notification" in r.message for r in caplog.records) == 2  # each once, not once per check
    later = mastodon_server.post_as(alice, "@mashups networks")
    assert len(replier.check()) == 1 and mastodon_server.replies_to(later["id"])
    replier.store.close()


def test_a_server_that_answers_min_id_with_the_oldest_page_costs_two_requests_and_never_moves_back(
        mastodon_server, database_url, composer):
    from bot.posting.replier import AFTER_KEY

    alice, _ = mastodon_server.add_account("alice")
    for k in range(100):  # a long history, all answered or skipped long ago
        mastodon_server.post_as(alice, f"@mashups song {k}", created_at=time.time() - 3 * DAY)
    replier = start_replier(mastodon_server, database_url, composer)
    newest = mastodon_server.notifications[-1]["id"]
    replier.store.set_meta({AFTER_KEY: newest})
    mastodon_server.min_id_oldest = True
    before = mastodon_server.notification_requests
    assert replier.check() == []
    assert mastodon_server.notification_requests - before <= 2  # min_id, then the newest page once
    assert replier.store.get_meta(AFTER_KEY) == newest and replier.store.replies() == []  # nothing old redone
    fresh = mastodon_server.post_as(alice, "@mashups love")  # and new mentions are still found
    before = mastodon_server.notification_requests
    assert len(replier.check()) == 1 and mastodon_server.replies_to(fresh["id"])
    assert mastodon_server.notification_requests - before <= 2
    assert replier.store.get_meta(AFTER_KEY) == [n for n in mastodon_server.notifications if n["_for"] == "1"][-1]["id"]
    replier.store.close()


def test_a_mention_whose_thread_the_server_hides_is_skipped_not_fatal(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    parent = mastodon_server.post_as(alice, "a thread")
    hidden = mastodon_server.post_as(alice, "@mashups love", in_reply_to_id=parent["id"])
    shown = mastodon_server.post_as(alice, "@mashups networks", in_reply_to_id=parent["id"])
    mastodon_server.hidden[hidden["id"]] = 403  # 403 on reading one thread: not a refused token
    replier = start_replier(mastodon_server, database_url, composer)
    [published] = replier.check()
    assert mastodon_server.replies_to(shown["id"])[0]["id"] == published.status_id
    assert not mastodon_server.replies_to(hidden["id"])
    assert {r.mention_id: r.reason for r in replier.store.replies()}[hidden["id"]] == replies.UNREADABLE
    replier.store.close()


def test_a_hashtag_request_steers_the_reply(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    mention = mastodon_server.post_as(alice, "@mashups make one about #transformers")
    assert 'class="mention hashtag"' in mention["content"]  # rendered as Mastodon renders hashtags
    replier = start_replier(mastodon_server, database_url, composer)
    replier.check()
    [reply] = mastodon_server.replies_to(mention["id"])
    _, song, paper = seams.parse(reply["_text"].removeprefix("@alice "))
    assert paper.startswith("Transformer"), reply["_text"]


_HEAD = ('<p><span class="h-card" translate="no"><a href="https://x.social/@mashups" class="u-url mention">'
         '@<span>mashups</span></a></span> love ')


@pytest.mark.parametrize("hostile", ['<a class="mention" href="x">' * 5, "<" * 7, '<span class="h-card">' * 3,
                                     "transformers networks " * 4])
def test_a_mention_is_read_only_up_to_its_cap(hostile):
    """A hostile mention costs what its first MAX_CONTENT_CHARS cost: nothing past them is read,
    and what is read is one pass over the tokens (each character in exactly one)."""
    filler = " ".join(["x"] * replies.MAX_CONTENT_CHARS)
    huge = _HEAD + filler + hostile * (10**6 // len(hostile))  # about 1 MB
    assert len(huge) > 10**6
    assert replies.mention_text(huge) == replies.mention_text(_HEAD + filler)
    assert replies.mention_text(_HEAD + hostile * 100).startswith("love")
    assert len(replies.mention_text(huge)) <= replies.MAX_TEXT_CHARS
    capped = huge[:replies.MAX_CONTENT_CHARS]
    assert "".join(replies._HTML_TOKEN.findall(capped)) == capped


def test_a_one_megabyte_mention_is_answered_by_its_first_words(mastodon_server, database_url, composer):
    alice, _ = mastodon_server.add_account("alice")
    content = _HEAD + '<a class="mention" href="x">' * 40_000 + "</p>"  # 1 MB that old regexes took minutes on
    mention = mastodon_server.post_as(alice, "@mashups love", content=content)
    assert len(mastodon_server.notifications[-1]["status"]["content"]) > 10**6
    replier = start_replier(mastodon_server, database_url, composer)
    [published] = replier.check()
    assert mastodon_server.replies_to(mention["id"])[0]["id"] == published.status_id
    assert replier.compose(replier.gateway.mentions(None)[0])[0].words == ("love",)
    replier.store.close()
