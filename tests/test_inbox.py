"""The ordered per-conversation inbox against a real Redis and a real rq queue (drains called directly)."""
from __future__ import annotations

import pytest
import redis

from bridge.inbox import MAX_ATTEMPTS
from bridge.model import RetryLater


def accept(box, n, stream="s1", start=0):
    for i in range(start, start + n):
        box.accept("t", f"e{i}", stream, "k", {"i": i})


def test_items_are_processed_in_order_and_duplicates_refused(inbox):
    accept(inbox, 5)
    assert not inbox.accept("t", "e3", "s1", "k", {"i": 3})
    seen = []
    assert inbox.drain("s1", lambda item: seen.append(item["payload"]["i"]), lambda *a: None) == 5
    assert seen == [0, 1, 2, 3, 4]
    assert inbox.pending("s1") == 0


def test_a_burst_queues_one_drain_job_per_stream(inbox):
    accept(inbox, 50, "a")
    accept(inbox, 50, "b", start=100)
    assert inbox.queue.count == 2


def test_transient_failure_keeps_the_item_at_the_head_and_pauses_the_stream(inbox):
    accept(inbox, 3)
    calls = []

    def flaky(item):
        calls.append(item["payload"]["i"])
        if item["payload"]["i"] == 1 and calls.count(1) == 1:
            raise RetryLater("LINE push: HTTP 500", delay=30)

    inbox.drain("s1", flaky, lambda *a: None)
    assert calls == [0, 1] and inbox.pending("s1") == 2
    inbox.drain("s1", flaky, lambda *a: None)  # still held (30 s): nothing runs early
    assert calls == [0, 1]
    inbox.r.delete(inbox.keys.inbox_hold(stream="s1"))  # the scheduled wake-up's time has come
    inbox.drain("s1", flaky, lambda *a: None)
    assert calls == [0, 1, 1, 2] and inbox.pending("s1") == 0


def test_persistent_failures_are_dead_lettered_but_throttling_never_is(inbox):
    accept(inbox, 1, "bad")
    accept(inbox, 1, "busy", start=1)
    dead = []

    def fails(item):
        raise RetryLater("HTTP 503", delay=0)

    def throttled(item):
        raise RetryLater("rate limited", delay=0, throttled=True)

    for _ in range(MAX_ATTEMPTS + 2):
        for stream, fn in (("bad", fails), ("busy", throttled)):
            inbox.r.delete(inbox.keys.inbox_hold(stream=stream))
            inbox.drain(stream, fn, lambda item, reason: dead.append((item["id"], reason)))
    assert dead == [("t:e0", "HTTP 503")]
    assert inbox.pending("bad") == 0 and inbox.pending("busy") == 1


def test_a_second_drainer_leaves_the_stream_to_the_lock_holder(inbox):
    accept(inbox, 2)
    seen = []

    def nested(item):
        seen.append(item["payload"]["i"])
        # While we hold the lock, another worker's drain must not process anything.
        assert inbox.drain("s1", lambda other: seen.append("intruder"), lambda *a: None) == 0

    inbox.drain("s1", nested, lambda *a: None)
    assert seen == [0, 1]


def test_a_drain_queued_flag_is_replaced_when_its_job_is_not_really_waiting(inbox):
    """A flag is believed only while its job is in the rq queue with its job hash (a worker skips
    a listed id whose hash is gone): otherwise the stream would look busy until the flag expires."""
    accept(inbox, 1)
    flag_key = inbox.keys.inbox_drain_queued(stream="s1")
    flag = inbox.r.get(flag_key)
    inbox.r.delete(inbox.queue.job_class.key_for(flag))  # listed, but nothing a worker could run
    inbox.r.expire(flag_key, 60)  # older than FLAG_TRUST_S
    assert inbox.sweep() == ["s1"]
    new_flag = inbox.r.get(flag_key)
    assert new_flag != flag and new_flag in inbox.queue.get_job_ids()


def test_our_own_redis_failing_counts_no_attempt_and_sets_no_back_off(inbox):
    accept(inbox, 2)

    def redis_restarting(item):
        raise redis.ConnectionError("Connection refused")

    with pytest.raises(redis.ConnectionError):
        inbox.drain("s1", redis_restarting, lambda *a: None)
    assert not inbox.r.exists(inbox.keys.inbox_attempts(stream="s1"))
    assert not inbox.r.exists(inbox.keys.inbox_hold(stream="s1"))
    assert not inbox.r.exists(inbox.keys.inbox_lock(stream="s1"))  # released: the next sweep resumes the stream
    seen = []
    assert inbox.drain("s1", lambda item: seen.append(item["payload"]["i"]), lambda *a: None) == 2
    assert seen == [0, 1]


def test_a_drain_yields_after_a_few_units_and_requeues_its_stream_at_the_back(inbox):
    accept(inbox, 12, "big")
    accept(inbox, 1, "small", start=100)
    seen = []
    assert inbox.drain("big", lambda item: seen.append(item["payload"]["i"]), lambda *a: None) == 5
    assert inbox.queue.get_job_ids()[-1] == inbox.r.get(inbox.keys.inbox_drain_queued(stream="big"))  # at the back
    texts = []

    def batch(items):  # the batching path: two items per unit
        texts.extend(i["payload"]["i"] for i in items[:2])
        return 2
    inbox.drain("big", lambda item: None, lambda *a: None, batch=batch)
    assert seen == [0, 1, 2, 3, 4] and texts == [5, 6, 7, 8, 9, 10, 11]
    assert inbox.pending("big") == 0
