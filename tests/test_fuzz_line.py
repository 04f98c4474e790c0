"""Correctly signed LINE webhooks with hostile structure and content (hypothesis).

Judge: never a 5xx, no worker crashes, a large body is answered quickly, and a hostile
event never blocks its conversation: the same friend's next normal message is relayed
within seconds; what the domain cannot process is set aside at once (dead letters).
"""
from __future__ import annotations

import json
import sys
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulators.line_webhooks import new_webhook_event_id, send_webhook
from tests.conftest import HANAKO, LINE_SECRET, TARO, TRIAGE, cid, shown_texts, wait_until
from tests.fuzz_strategies import HOSTILE, mutated, nested

FUZZ = settings(max_examples=60, derandomize=True, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
EVENT_PATHS = [("type",), ("source",), ("source", "type"), ("source", "userId"), ("message",), ("message", "type"),
               ("message", "text"), ("message", "id"), ("message", "emojis"), ("message", "mention"),
               ("message", "quoteToken"), ("webhookEventId",), ("timestamp",), ("replyToken",), ("mode",),
               ("deliveryContext",), ("postback",), ("joined",), ("left",), ("unsend",), ("follow",),
               ("message", "keywords"), ("message", "fileName"), ("message", "latitude")]


def _relayed(h, text: str, line_id: str = HANAKO) -> bool:
    conv = h.conv(line_id)
    return bool(conv and conv.thread_ts and any(text in (m.get("text") or "") for m in
                                                h.thread_messages(conv.thread_ts) + [h.slack.message(TRIAGE, conv.thread_ts) or {}]))


def _body(h, events) -> bytes:
    """Like ``h.webhooks.body`` but keeps lone surrogates (JSON escapes them; raw they would not encode).

    A 950-deep event takes ~950 frames to encode: under pytest-xdist the test already runs deep in
    the stack, so the limit is raised while encoding (the bridge parses it in its own thread)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10_000))
    try:
        return json.dumps({"destination": h.webhooks.destination, "events": events}).encode()
    finally:
        sys.setrecursionlimit(limit)


def _post(h, body: bytes):
    return send_webhook(h.url + "/line/webhook", LINE_SECRET, body, timeout=30)


def _normal_message_gets_through(h, line_id: str, label: str) -> None:
    # Everything accepted so far must be finished (relayed, or set aside): a hostile item retried
    # for minutes would keep its stream busy and fail here. Waiting is the Slack pacing (about one
    # post per second per channel) working through what the fuzzing made the bridge show.
    h.settle(timeout=300)
    text = f"普通のメッセージ {label} {time.time()}"
    h.friend_says(line_id, text)
    assert wait_until(lambda: _relayed(h, text, line_id), timeout=30), \
        f"the friend's next normal message was not relayed: {label} blocked the conversation"


def _workers_alive(workers) -> None:
    assert all(p.poll() is None for p in workers), "an rq worker crashed"


def test_hostile_events_never_5xx_and_never_block_the_friend(h, workers):
    kinds = st.sampled_from(["message", "follow", "unfollow", "postback", "join", "memberJoined", "unsend", "beacon",
                             "things", "unknownFuture"])

    @FUZZ
    @given(data=st.data())
    def one_body(data):
        events = []
        for _ in range(data.draw(st.integers(1, 3))):
            base = h.webhooks.text(HANAKO, "hello")
            base["type"] = data.draw(kinds)
            events.append(data.draw(mutated(base, EVENT_PATHS)))
        if data.draw(st.booleans()) and data.draw(st.booleans()):
            events.append(data.draw(HOSTILE))  # not even an object
        resp = _post(h, _body(h, events))
        assert resp.status_code < 500, resp.text

    one_body()
    _workers_alive(workers)
    _normal_message_gets_through(h, HANAKO, "after fuzzing")


def test_hostile_bodies_are_refused_or_accepted_never_5xx(h):
    # While the bot's user id is not known yet, a hostile destination must not be learned (or crash storing it).
    for destination in ("\ud800", "x" * 10_000, "U1 2"):
        resp = _post(h, json.dumps({"destination": destination, "events": []}).encode())
        assert resp.status_code == 400, resp.text
    assert h.store.bot_account_id("default") in ("", h.webhooks.destination)
    @FUZZ
    @given(payload=st.one_of(HOSTILE, st.fixed_dictionaries({"destination": HOSTILE, "events": HOSTILE}),
                             st.fixed_dictionaries({"events": st.lists(HOSTILE, max_size=5)})))
    def one_body(payload):
        body = json.dumps(payload).encode()
        resp = _post(h, body)
        assert resp.status_code < 500, resp.text

    one_body()
    for raw in (b"", b"{", b"\xff\xfe", b"[" * 100_000, b'{"events": [' + b"1" * 5000 + b"]}", b"\x00" * 10):
        assert _post(h, raw).status_code < 500


def test_known_poison_events_are_set_aside_at_once_and_do_not_block(h, workers):
    """The four poison events measured in issue #10, each followed by a normal message."""
    poisons = {
        "text as a number": lambda e: e["message"].update(text=12345),
        "a 100 kB text": lambda e: e["message"].update(text="長" * 100_000),
        "null text and id": lambda e: e["message"].update(text=None, id=None),
        "message as a string": lambda e: e.update(message="hello"),
        "source as a number": lambda e: e.update(source=42),
        "lone surrogate": lambda e: e["message"].update(text="a\ud800b"),
        "deeply nested message": lambda e: e["message"].update(emojis=nested(950)),
    }
    for label, poison in poisons.items():
        event = h.webhooks.text(HANAKO, "x")
        poison(event)
        resp = _post(h, _body(h, [event]))
        assert resp.status_code == 200, (label, resp.text)
        _normal_message_gets_through(h, HANAKO, label)
    _workers_alive(workers)
    assert not h.store.r.hlen(h.store.keys.inbox_attempts(stream="line-" + cid(HANAKO))), "an item is being retried"


def test_500_events_in_one_body_are_answered_quickly_and_all_relayed_in_order(h):
    events = [h.webhooks.text(TARO if i % 2 else HANAKO, f"burst {i:03d}") for i in range(500)]
    started = time.monotonic()
    resp = _post(h, h.webhooks.body(events))
    elapsed = time.monotonic() - started
    assert resp.status_code == 200 and resp.json()["accepted"] == 500
    # LINE waits 2 s; the strict figure is in bench/hostile_bench.py, here a bound that only a regression breaks.
    assert elapsed < 10, f"500 events took {elapsed:.1f}s to answer"
    again = _post(h, h.webhooks.body(events[:100]))
    assert again.json() == {"accepted": 0, "duplicates": 100}  # redelivery: nothing queued twice
    for friend, first in ((HANAKO, 0), (TARO, 1)):
        assert wait_until(lambda: _relayed(h, "burst 498" if friend == HANAKO else "burst 499", friend), timeout=120)
        texts = [t for t in shown_texts(h.slack, h.conv(friend).thread_ts) if "burst" in t]
        assert texts == [f"burst {i:03d}" for i in range(first, 500, 2)]   # (waiting ones share posts)


def test_events_for_another_friend_in_the_same_body_are_unaffected(h):
    poison = h.webhooks.text(HANAKO, "x")
    poison["message"] = ["not", "an", "object"]
    poison["webhookEventId"] = new_webhook_event_id()
    good = h.webhooks.text(TARO, "元気です")
    assert _post(h, h.webhooks.body([poison, good])).status_code == 200
    assert wait_until(lambda: _relayed(h, "元気です", TARO), timeout=30)



def test_an_item_the_domain_cannot_process_is_dead_lettered_at_once(settings):
    """Whatever slips past the defensive readers and makes the domain raise TypeError/KeyError/… is set aside
    at once (dead letter, reason malformed_input), not retried for minutes: the next item runs right after."""
    import dataclasses
    import uuid

    from bridge.runtime import Runtime

    rt = Runtime(dataclasses.replace(settings, namespace="lsbpoison" + uuid.uuid4().hex[:6]))
    processed = []
    rt.domain.handlers["test_poison"] = lambda payload: payload["text"].upper()  # KeyError / AttributeError
    rt.domain.handlers["test_ok"] = processed.append
    stream = "line-default-Upoison"
    try:
        for i, (kind, payload) in enumerate((("test_poison", {"text": 12345}), ("test_poison", {}), ("test_ok", {"n": 1}))):
            rt.redis.rpush(rt.keys.inbox(stream=stream), json.dumps({"id": f"t:{i}", "stream": stream, "kind": kind,
                                                                     "payload": payload, "accepted_at": time.time()}))
        started = time.monotonic()
        rt.inbox.drain(stream, rt.domain)
        assert processed == [{"n": 1}] and time.monotonic() - started < 30  # no backoff waited
        dead = [json.loads(d) for d in rt.redis.lrange(rt.keys.dead_letters(), 0, -1)]
        assert [d["id"] for d in dead] == ["t:0", "t:1"] and all("malformed_input" in d["reason"] for d in dead)
        assert not rt.redis.exists(rt.keys.inbox(stream=stream), rt.keys.inbox_attempts(stream=stream))
    finally:
        for key in rt.redis.scan_iter(match=rt.keys.prefix + "*"):
            rt.redis.delete(key)
