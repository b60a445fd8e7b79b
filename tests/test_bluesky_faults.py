"""The Bluesky outlet against faults the real PDS cannot be made to show (tests/fake_xrpc.py): a
connection dropped after the server accepted, 5xx, 429 with its reset, a non-JSON answer, a record
gone between InvalidSwap and getRecord, a session the server holds expired, a suspended account."""
from __future__ import annotations

import time

import pytest

from bot.errors import AuthError, RejectedError, TemporaryServerError
from bot.outlets.base import Outbound
from bot.outlets.bluesky import BlueskyOutlet, MemorySessions
from fake_xrpc import HANDLE, PASSWORD, FakeXrpc

SLOT = 1_796_000_400.0
PUT, GET = "com.atproto.repo.putRecord", "com.atproto.repo.getRecord"


@pytest.fixture
def server():
    with FakeXrpc() as fake:
        yield fake


@pytest.fixture
def outlet(server):
    made = BlueskyOutlet(server.url, HANDLE, PASSWORD, MemorySessions(), timeout=30)
    yield made
    made.close()


STATUS = Outbound("post", str(int(SLOT)), "Hey Jude (Contrastive Learning Remix)", slot_time=SLOT)


def test_a_drop_after_the_server_accepted_is_found_and_never_doubled(server, outlet):
    key = outlet.key(STATUS)
    server.faults[PUT] = [("drop_after_accept",)]
    with pytest.raises(TemporaryServerError):
        outlet.send(STATUS, key)
    found = outlet.find(STATUS, key)
    assert found is not None and found.text == STATUS.text
    again = outlet.send(STATUS, key)  # the publisher may retry all the same: the identical record
    assert again.status_id == found.status_id and server.posts() == [outlet.record(STATUS, key)]


def test_a_drop_before_the_server_did_anything_is_not_found_and_retried(server, outlet):
    key = outlet.key(STATUS)
    server.faults[PUT] = [("drop",)]
    with pytest.raises(TemporaryServerError):
        outlet.send(STATUS, key)
    assert outlet.find(STATUS, key) is None
    outlet.send(STATUS, key)
    assert len(server.posts()) == 1


@pytest.mark.parametrize("code", [500, 502, 503, 504])
def test_server_errors_are_temporary(server, outlet, code):
    server.faults[PUT] = [("status", code)]
    with pytest.raises(TemporaryServerError, match=str(code)):
        outlet.send(STATUS, outlet.key(STATUS))
    assert server.posts() == []


def test_a_429_carries_the_servers_reset(server, outlet):
    reset = int(time.time()) + 240
    server.faults[PUT] = [("ratelimit", reset)]
    with pytest.raises(TemporaryServerError) as e:
        outlet.send(STATUS, outlet.key(STATUS))
    assert e.value.retry_at == reset


def test_a_non_json_answer_is_an_unknown_outcome(server, outlet):
    key = outlet.key(STATUS)
    server.faults[PUT] = [("nonjson",)]
    with pytest.raises(TemporaryServerError, match="not JSON"):
        outlet.send(STATUS, key)
    assert outlet.find(STATUS, key).text == STATUS.text


def test_find_during_an_outage_is_temporary(server, outlet):
    server.faults[GET] = [("status", 503)]
    with pytest.raises(TemporaryServerError):
        outlet.find(STATUS, outlet.key(STATUS))


def test_a_record_gone_between_invalid_swap_and_get_record_is_temporary(server, outlet):
    key = outlet.key(STATUS)
    outlet.send(Outbound("post", STATUS.ref, "another text", slot_time=SLOT), key)
    server.faults[PUT] = [("delete_after",)]  # the InvalidSwap answer, then the record vanishes
    # (the fake deletes after doing the call; here the call is the refused write)
    with pytest.raises(TemporaryServerError, match="gone"):
        outlet.send(STATUS, key)


def test_a_session_the_server_holds_expired_is_refreshed_once_and_the_call_repeated(server, outlet):
    outlet.profile()  # a session
    assert server.calls["com.atproto.server.createSession"] == 1
    server.faults[PUT] = [("expired",)]
    published = outlet.send(STATUS, outlet.key(STATUS))
    assert published.text == STATUS.text and len(server.posts()) == 1
    assert server.calls["com.atproto.server.refreshSession"] == 1
    assert server.calls["com.atproto.server.createSession"] == 1 and outlet.logins == 1


def test_a_session_refused_again_after_its_refresh_stops_the_outlet(server, outlet):
    outlet.profile()
    server.faults[PUT] = [("expired",), ("expired",)]
    with pytest.raises(AuthError, match="bot register --bluesky"):
        outlet.send(STATUS, outlet.key(STATUS))
    assert server.posts() == []


def test_an_access_token_near_its_expiry_is_refreshed_before_the_call():
    with FakeXrpc(access_lifetime=60) as server:  # atproto refreshes 15 minutes early
        outlet = BlueskyOutlet(server.url, HANDLE, PASSWORD, MemorySessions())
        outlet.profile()
        outlet.send(STATUS, outlet.key(STATUS))
        outlet.close()
    assert server.calls.get("com.atproto.server.refreshSession", 0) >= 1
    assert server.calls["com.atproto.server.createSession"] == 1


def test_an_unreadable_kept_session_costs_one_login(server):
    outlet = BlueskyOutlet(server.url, HANDLE, PASSWORD, MemorySessions('{"not": "a session"}'))
    outlet.send(STATUS, outlet.key(STATUS))
    broken = MemorySessions('{"service": "%s", "identifier": "%s", "session": "a:::b:::c:::d:::e"}'
                            % (server.url, HANDLE))
    second = BlueskyOutlet(server.url, HANDLE, PASSWORD, broken)
    assert second.find(STATUS, second.key(STATUS)) is not None
    assert outlet.logins == 1 and second.logins == 1 and "a:::b" not in broken.load()


def test_a_suspended_account_stops_the_outlet(server, outlet):
    server.faults[PUT] = [("status", 400, "AccountTakedown")]
    with pytest.raises(AuthError, match="AccountTakedown"):
        outlet.send(STATUS, outlet.key(STATUS))


def test_a_refused_record_is_rejected_not_retried(server, outlet):
    server.faults[PUT] = [("status", 400, "InvalidRequest")]
    with pytest.raises(RejectedError, match="InvalidRequest"):
        outlet.send(STATUS, outlet.key(STATUS))


def test_no_server_at_all_is_temporary():
    outlet = BlueskyOutlet("http://127.0.0.1:9", HANDLE, PASSWORD, MemorySessions(), timeout=5)
    with pytest.raises(TemporaryServerError, match="no answer"):
        outlet.send(STATUS, outlet.key(STATUS))
