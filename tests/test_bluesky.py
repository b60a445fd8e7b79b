"""The Bluesky outlet against the reference PDS (@atproto/pds, started by the `pds` fixture): posts,
exactly once at the outlet level, text that fits as the server counts it, replies, the session and
the bot label. Faults the real PDS cannot be made to show: tests/test_bluesky_faults.py."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest

from bot.errors import AuthError, RejectedError, TemporaryServerError
from bot.outlets import richtext, tid
from bot.outlets.base import Outbound
from bot.outlets.bluesky import POST_CLOCK_ID, BlueskyOutlet, MemorySessions, record_time

SLOT = 1_796_000_400.0  # a planned slot time, epoch seconds


@pytest.fixture
def account(pds):
    return pds.create_account()


@pytest.fixture
def make_outlet(pds):
    made = []

    def make(account, sessions=None, password=None, hashtags=("#bots",)):
        outlet = BlueskyOutlet(pds.url, account.handle, password or account.app_password,
                               sessions if sessions is not None else MemorySessions(), hashtags=hashtags)
        made.append(outlet)
        return outlet

    yield make
    for outlet in made:
        outlet.close()


def post(text: str, slot: float = SLOT) -> Outbound:
    return Outbound("post", str(int(slot)), text, slot_time=slot)


def test_a_post_is_one_record_under_its_slot_key_with_its_hashtag_as_a_tag(pds, account, make_outlet):
    outlet = make_outlet(account)
    status = post("Café Déjà Vu (Attention Is All You Need Remix) #bots")
    key = outlet.key(status)
    published = outlet.send(status, key)

    records = pds.records(account.did)
    assert [r["uri"] for r in records] == [published.status_id]
    assert published.status_id.endswith(f"/app.bsky.feed.post/{key}")
    value = records[0]["value"]
    assert value["text"] == status.text and value["langs"] == ["en"]
    assert value["createdAt"] == record_time(key) and published.created_at == SLOT
    [facet] = value["facets"]
    raw = status.text.encode("utf-8")
    assert raw[facet["index"]["byteStart"]:facet["index"]["byteEnd"]] == b"#bots"  # bytes, not characters
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#tag", "tag": "bots"}]


def test_the_key_is_a_tid_of_the_slot_the_same_in_every_process():
    first = BlueskyOutlet("http://127.0.0.1:9", "bot.test", "x", MemorySessions())
    second = BlueskyOutlet("http://127.0.0.1:9", "bot.test", "x", MemorySessions(), clock=lambda: 0.0)
    key = first.key(post("A"))
    assert tid.is_tid(key) and key == second.key(post("B"))
    assert tid.decode(key) == (int(SLOT * 1_000_000), POST_CLOCK_ID)
    assert first.key(post("A", SLOT + 1)) > key  # later slots sort later
    assert first.key(Outbound("post", str(int(SLOT)), "A")) == key  # ref alone gives the same key
    reply = first.key(Outbound("reply", "at://x/app.bsky.feed.post/y", "R", reply_to="at://x/app.bsky.feed.post/y"))
    assert tid.is_tid(reply) and reply != key


def test_sending_twice_under_one_key_leaves_one_record(pds, account, make_outlet):
    outlet = make_outlet(account)
    status = post("Bang Bang (Cyclical Learning Rates Remix)")
    key = outlet.key(status)
    first = outlet.send(status, key)
    # A restart: a new process, a new session store, the same intent.
    again = make_outlet(account).send(status, key)
    assert again.status_id == first.status_id
    assert [r["value"]["text"] for r in pds.records(account.did)] == [status.text]


def test_another_text_under_a_held_key_gets_the_post_that_is_there(pds, account, make_outlet):
    outlet = make_outlet(account)
    key = outlet.key(post("first"))
    outlet.send(post("Toxic (Adversarial Examples Edition)"), key)
    held = outlet.send(post("Hello (Batch Normalization Remix)"), key)  # InvalidSwap: not retried, not sent
    assert held.text == "Toxic (Adversarial Examples Edition)"
    assert [r["value"]["text"] for r in pds.records(account.did)] == ["Toxic (Adversarial Examples Edition)"]


def test_find_tells_whether_an_attempt_landed(pds, account, make_outlet):
    outlet = make_outlet(account)
    status = post("Yellow (Graph Neural Networks Remix)")
    key = outlet.key(status)
    assert outlet.find(status, key) is None
    outlet.send(status, key)
    found = make_outlet(account).find(status, key)  # after a restart
    assert found is not None and found.text == status.text and found.status_id.endswith(key)
    assert outlet.find(post("x", SLOT + 60), outlet.key(post("x", SLOT + 60))) is None


@pytest.mark.parametrize("unit, label", [("e\u0301", "combining accents"), ("👩\u200d👩\u200d👧", "family emoji"),
                                         ("ก่", "Thai with a tone mark"), ("a", "ASCII")])
def test_length_is_counted_as_the_pds_counts_it(pds, account, make_outlet, unit, label):
    """At the limit and one past it, the outlet's verdict is the server's."""
    outlet = make_outlet(account, hashtags=())
    did = outlet.profile().did
    token = pds.login(account)["accessJwt"]
    for n, slot in ((300, SLOT), (301, SLOT + 1)):
        text = unit * n
        assert outlet.length(text) == n
        local = richtext.too_long(text)
        rkey = tid.from_time(slot, 900)
        server = pds.call("com.atproto.repo.createRecord", token=token, body={
            "repo": did, "collection": "app.bsky.feed.post", "rkey": rkey,
            "record": {"$type": "app.bsky.feed.post", "text": text, "createdAt": record_time(rkey)}})
        assert (local is None) == (server.status_code == 200), (label, n, local, server.text)


def test_301_graphemes_are_never_sent(pds, account, make_outlet):
    outlet = make_outlet(account)
    ok, too_long = post("é" * 300, SLOT), post("é" * 301, SLOT + 60)
    outlet.send(ok, outlet.key(ok))
    with pytest.raises(RejectedError, match="301 graphemes"):
        outlet.send(too_long, outlet.key(too_long))
    assert [len(r["value"]["text"]) for r in pds.records(account.did)] == [300]
    assert outlet.limit() == 300


def test_replies_thread_under_the_post_they_answer(pds, account, make_outlet):
    outlet = make_outlet(account)
    top = outlet.send(post("Creep (Gradient Descent Remix)"), outlet.key(post("x")))
    first = Outbound("reply", top.status_id, "Karma Police (Dropout Edition)", reply_to=top.status_id)
    reply = outlet.send(first, outlet.key(first))
    second = Outbound("reply", reply.status_id, "No Surprises (Attention Remix)", reply_to=reply.status_id)
    key = outlet.key(second)
    deeper = outlet.send(second, key)
    assert outlet.send(second, key).status_id == deeper.status_id  # a re-send is the same record
    assert outlet.find(second, key).in_reply_to == reply.status_id == deeper.in_reply_to
    by_uri = {r["uri"]: r for r in pds.records(account.did)}
    assert len(by_uri) == 3
    ref = by_uri[deeper.status_id]["value"]["reply"]
    assert ref["root"] == {"uri": top.status_id, "cid": by_uri[top.status_id]["cid"]}
    assert ref["parent"] == {"uri": reply.status_id, "cid": by_uri[reply.status_id]["cid"]}


def test_a_reply_to_a_post_that_is_gone_is_refused(account, make_outlet):
    outlet = make_outlet(account)
    gone = f"at://{account.did}/app.bsky.feed.post/{tid.from_time(SLOT, 5)}"
    reply = Outbound("reply", gone, "Hello", reply_to=gone)
    with pytest.raises(RejectedError, match="gone"):
        outlet.send(reply, outlet.key(reply))


# --- the session -----------------------------------------------------------------------------------

def test_the_session_is_kept_and_reused_not_a_login_per_post(pds, account, make_outlet):
    sessions = MemorySessions()
    outlet = make_outlet(account, sessions)
    for i in range(3):
        outlet.send(post(f"Song {i} (Transformer Remix)", SLOT + i), outlet.key(post("x", SLOT + i)))
    assert outlet.logins == 1 and sessions.load()
    # After a restart the kept session is used: this process never logs in (its password is wrong).
    restarted = make_outlet(account, sessions, password="not-the-app-password")
    restarted.send(post("Song 9 (Transformer Remix)", SLOT + 9), restarted.key(post("x", SLOT + 9)))
    assert restarted.logins == 0 and len(pds.records(account.did)) == 4


def test_a_session_for_another_account_is_not_used(pds, account, make_outlet):
    sessions = MemorySessions()
    make_outlet(account, sessions).profile()
    other = pds.create_account()
    outlet = make_outlet(other, sessions)
    assert outlet.profile().did == other.did and outlet.logins == 1


def resign(token: str, **claims) -> str:
    """The PDS's own token with changed claims, signed as the dev PDS signs (HS256, its JWT secret)."""
    from pds_network import JWT_SECRET

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    header, payload, _ = token.split(".")
    body = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    signing = b64(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) + b"." + \
        b64(json.dumps({**body, **claims}).encode())
    signature = hmac.new(JWT_SECRET.encode(), signing, hashlib.sha256).digest()
    return (signing + b"." + b64(signature)).decode()


def expire(sessions: MemorySessions, refresh_too: bool = False) -> str:
    """Make the kept session's access token (and its refresh token) expired an hour ago."""
    kept = json.loads(sessions.load())
    handle, did, access, refresh, endpoint = kept["session"].split(":::")
    past = int(time.time()) - 3600
    access = resign(access, exp=past, iat=past - 7200)
    if refresh_too:
        refresh = resign(refresh, exp=past, iat=past - 7200)
    kept["session"] = ":::".join((handle, did, access, refresh, endpoint))
    sessions.save(json.dumps(kept))
    return access


def test_an_expired_access_token_is_refreshed_not_a_new_login(pds, account, make_outlet):
    sessions = MemorySessions()
    make_outlet(account, sessions).profile()
    expired = expire(sessions)
    outlet = make_outlet(account, sessions, password="not-the-app-password")
    published = outlet.send(post("Wonderwall (Variational Remix)"), outlet.key(post("x")))
    assert outlet.logins == 0 and published.text == "Wonderwall (Variational Remix)"
    assert expired not in sessions.load()  # the refreshed session is kept
    assert pds.call("com.atproto.server.getSession", token=expired).json()["error"] == "ExpiredToken"


def test_an_expired_refresh_token_costs_one_login(pds, account, make_outlet):
    sessions = MemorySessions()
    make_outlet(account, sessions).profile()
    expire(sessions, refresh_too=True)
    outlet = make_outlet(account, sessions)
    outlet.send(post("Wonderwall (Variational Remix)"), outlet.key(post("x")))
    outlet.send(post("Roxanne (Residual Remix)", SLOT + 1), outlet.key(post("x", SLOT + 1)))
    assert outlet.logins == 1 and len(pds.records(account.did)) == 2


def test_a_wrong_app_password_stops_the_outlet_with_one_line(account, make_outlet):
    outlet = make_outlet(account, password="wxyz-wxyz-wxyz-wxyz")
    with pytest.raises(AuthError) as e:
        outlet.send(post("Anything"), outlet.key(post("x")))
    assert "BLUESKY_APP_PASSWORD" in str(e.value) and "wxyz" not in str(e.value) and "\n" not in str(e.value)


def test_too_many_logins_wait_for_the_servers_reset(account, make_outlet):
    """The PDS allows 30 logins per 5 minutes per account: the 31st is a 429, retried after its reset."""
    outlet = make_outlet(account, password="wrong-wrong-wrong")
    for _ in range(30):
        with pytest.raises(AuthError):
            outlet.find(post("x"), outlet.key(post("x")))
    before = time.time()
    with pytest.raises(TemporaryServerError) as e:
        outlet.find(post("x"), outlet.key(post("x")))
    assert before < e.value.retry_at <= before + 301


# --- the profile's bot label -----------------------------------------------------------------------

def test_the_bot_label_is_added_once_and_keeps_the_profile(pds, account, make_outlet):
    token = pds.login(account)["accessJwt"]
    profile = {"$type": "app.bsky.actor.profile", "displayName": "Songs x arXiv", "description": "mashups",
               "labels": {"$type": "com.atproto.label.defs#selfLabels", "values": [{"val": "graphic-media"}]}}
    made = pds.call("com.atproto.repo.putRecord", token=token, body={
        "repo": account.did, "collection": "app.bsky.actor.profile", "rkey": "self", "record": profile})
    assert made.status_code == 200, made.text
    outlet = make_outlet(account)
    assert outlet.profile().bot_label is False
    assert outlet.mark_as_bot() is True
    assert outlet.mark_as_bot() is False
    shown = outlet.profile()
    assert shown.bot_label and shown.handle == account.handle and shown.display_name == "Songs x arXiv"
    [record] = pds.records(account.did, "app.bsky.actor.profile")
    assert record["value"]["description"] == "mashups"
    assert [v["val"] for v in record["value"]["labels"]["values"]] == ["graphic-media", "bot"]


def test_an_account_without_a_profile_gets_one_with_the_label(pds, account, make_outlet):
    outlet = make_outlet(account)
    assert outlet.mark_as_bot() is True
    [record] = pds.records(account.did, "app.bsky.actor.profile")
    assert record["value"]["labels"]["values"] == [{"val": "bot"}]
