"""The store against a real Redis: portals, reply tokens, and the waiting clock under races."""
from __future__ import annotations

import uuid

import pytest
import redis

from bridge.keys import Keys
from bridge.model import Conversation
from bridge.store import Store


@pytest.fixture()
def store(redis_url):
    s = Store(redis.Redis.from_url(redis_url, decode_responses=True), Keys("st" + uuid.uuid4().hex[:8]))
    yield s
    s.delete_namespace()


def make(store, conv_id="U1"):
    conv, created = store.ensure_conversation(Conversation(conv_id=conv_id, source_type="user", number=0, name="x"))
    return conv


def test_conversations_get_numbers_once_and_are_found_both_ways(store):
    a, b = make(store, "U1"), make(store, "U2")
    again, created = store.ensure_conversation(Conversation(conv_id="U1", source_type="user", number=0))
    assert (a.number, b.number, again.number, created) == (1, 2, 1, False)
    store.bind_thread("U2", "C1", "123.456")
    assert store.get_by_thread("C1", "123.456").conv_id == "U2"
    assert store.get_by_number(2).conv_id == "U2"


def test_reply_token_is_single_use_and_expires(store):
    make(store)
    store.save_reply_token("U1", "tok", received_at=1000.0)
    assert store.take_reply_token("U1", max_age=30, now=1010.0) == ("tok", 1000.0)
    assert store.take_reply_token("U1", max_age=30, now=1011.0) is None
    store.save_reply_token("U1", "old", received_at=1000.0)
    assert store.take_reply_token("U1", max_age=30, now=1031.0) is None


def test_staff_reply_stops_the_clock_for_earlier_messages(store):
    make(store)
    assert store.friend_wrote("U1", 100.0)
    assert not store.friend_wrote("U1", 105.0)  # already running: keeps the first unanswered time
    assert store.get_conversation("U1").waiting_since == 100.0
    assert store.staff_replied("U1", 110.0)
    assert store.get_conversation("U1").waiting_since == 0


def test_friend_message_newer_than_the_reply_keeps_the_clock_running_whatever_ran_first(store):
    # Friend writes at 100, staff reply posted at 110, friend writes again at 120, but the
    # worker relaying the reply finishes after the one relaying the 120 message.
    make(store)
    store.friend_wrote("U1", 100.0)
    store.friend_wrote("U1", 120.0)
    assert not store.staff_replied("U1", 110.0)
    assert store.get_conversation("U1").waiting_since == 120.0  # nobody is forgotten


def test_a_late_reply_does_not_restart_an_answered_clock(store):
    make(store)
    store.friend_wrote("U1", 100.0)
    store.staff_replied("U1", 110.0)
    store.friend_wrote("U1", 130.0)
    assert not store.staff_replied("U1", 105.0)  # an older reply processed late changes nothing
    assert store.get_conversation("U1").waiting_since == 130.0


def test_keys_are_named_in_the_table_and_take_exactly_their_parts():
    keys = Keys("ns")
    assert keys.conv(conv_id="default-U1") == "ns:v2:conv:default-U1"
    assert keys.backlog_mark(account="a", mark="urgent") == "ns:v2:backlog:a:mark:urgent"
    assert keys.due() == "ns:v2:due"
    with pytest.raises(TypeError):
        keys.conv(conv="default-U1")          # a misspelt part fails, never builds "conv:{conv_id}"
    with pytest.raises(TypeError):
        keys.backlog_mark(account="a")        # a missing part too
    with pytest.raises(AttributeError):
        keys.convo(conv_id="default-U1")      # a kind that is not in the table does not exist


def test_a_picked_canned_reply_keeps_its_first_expansion(store):
    from bridge.store.canned import CannedTexts

    picks = CannedTexts(store.r, store.keys)
    assert picks.pick("op1") == {}
    assert picks.keep_pick_text("op1", "山田様、こんにちは")["text"] == "山田様、こんにちは"
    assert picks.keep_pick_text("op1", "a retried job expands again")["text"] == "山田様、こんにちは"   # sent once, as shown
    picks.set_pick_ts("op1", "1700000000.000100")
    assert picks.pick("op1") == {"text": "山田様、こんにちは", "ts": "1700000000.000100"}
    assert store.r.ttl(store.keys.canned_pick(op_id="op1")) > 0
