"""The ordered per-conversation inbox against a real Redis and a real rq queue (drains called directly)."""
from __future__ import annotations

import re

import pytest
import redis

from bridge.engine import jobs
from bridge.engine.drain import MAX_ATTEMPTS
from bridge.model import RetryLater



class Proc:
    """A Processor (bridge.engine.drain) doing ``fn(item)`` per item; ``batch`` takes several head items."""

    def __init__(self, fn=lambda item: None, batch=None, dead=None):
        self.fn, self.batch, self.dead = fn, batch, dead if dead is not None else []

    def process_item(self, item):
        self.fn(item)

    def process_head(self, items):
        if self.batch:
            return self.batch(items)
        self.fn(items[0])
        return 1

    def dead_letter(self, item, reason):
        self.dead.append((item["id"], reason))


def accept(box, n, stream="s1", start=0):
    for i in range(start, start + n):
        box.accept("t", f"e{i}", stream, "k", {"i": i})


def test_items_are_processed_in_order_and_duplicates_refused(inbox):
    accept(inbox, 5)
    assert not inbox.accept("t", "e3", "s1", "k", {"i": 3})
    seen = []
    assert inbox.drain("s1", Proc(lambda item: seen.append(item["payload"]["i"]))) == 5
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

    inbox.drain("s1", Proc(flaky))
    assert calls == [0, 1] and inbox.pending("s1") == 2
    inbox.drain("s1", Proc(flaky))  # still held (30 s): nothing runs early
    assert calls == [0, 1]
    inbox.streams.r.delete(inbox.keys.inbox_hold(stream="s1"))  # the scheduled wake-up's time has come
    inbox.drain("s1", Proc(flaky))
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
            inbox.streams.r.delete(inbox.keys.inbox_hold(stream=stream))
            inbox.drain(stream, Proc(fn, dead=dead))
    assert dead == [("t:e0", "HTTP 503")]
    assert inbox.pending("bad") == 0 and inbox.pending("busy") == 1


def test_a_second_drainer_leaves_the_stream_to_the_lock_holder(inbox):
    accept(inbox, 2)
    seen = []

    def nested(item):
        seen.append(item["payload"]["i"])
        # While we hold the lock, another worker's drain must not process anything.
        assert inbox.drain("s1", Proc(lambda other: seen.append("intruder"))) == 0

    inbox.drain("s1", Proc(nested))
    assert seen == [0, 1]


def test_a_drain_queued_flag_is_replaced_when_its_job_is_not_really_waiting(inbox):
    """A flag is believed only while its job is in the rq queue with its job hash (a worker skips
    a listed id whose hash is gone): otherwise the stream would look busy until the flag expires."""
    accept(inbox, 1)
    flag_key = inbox.keys.inbox_drain_queued(stream="s1")
    flag = inbox.streams.r.get(flag_key)
    inbox.streams.r.delete(inbox.queue.job_class.key_for(flag))  # listed, but nothing a worker could run
    inbox.streams.r.expire(flag_key, 60)  # older than FLAG_TRUST_S
    assert inbox.sweep() == ["s1"]
    new_flag = inbox.streams.r.get(flag_key)
    assert new_flag != flag and new_flag in inbox.queue.get_job_ids()


def test_our_own_redis_failing_counts_no_attempt_and_sets_no_back_off(inbox):
    accept(inbox, 2)

    def redis_restarting(item):
        raise redis.ConnectionError("Connection refused")

    with pytest.raises(redis.ConnectionError):
        inbox.drain("s1", Proc(redis_restarting))
    assert not inbox.streams.r.exists(inbox.keys.inbox_attempts(stream="s1"))
    assert not inbox.streams.r.exists(inbox.keys.inbox_hold(stream="s1"))
    assert not inbox.streams.r.exists(inbox.keys.inbox_lock(stream="s1"))  # released: the next sweep resumes the stream
    seen = []
    assert inbox.drain("s1", Proc(lambda item: seen.append(item["payload"]["i"]))) == 2
    assert seen == [0, 1]


def test_a_drain_yields_after_a_few_units_and_requeues_its_stream_at_the_back(inbox):
    accept(inbox, 12, "big")
    accept(inbox, 1, "small", start=100)
    seen = []
    assert inbox.drain("big", Proc(lambda item: seen.append(item["payload"]["i"]))) == 5
    assert inbox.queue.get_job_ids()[-1] == inbox.streams.r.get(inbox.keys.inbox_drain_queued(stream="big"))  # at the back
    texts = []

    def batch(items):  # the batching path: two items per unit
        texts.extend(i["payload"]["i"] for i in items[:2])
        return 2
    inbox.drain("big", Proc(batch=batch))
    assert seen == [0, 1, 2, 3, 4] and texts == [5, 6, 7, 8, 9, 10, 11]
    assert inbox.pending("big") == 0


def test_a_drain_job_is_enqueued_by_reference_with_a_safe_id(inbox):
    accept(inbox, 1)
    job = inbox.queue.fetch_job(inbox.queue.get_job_ids()[0])
    assert job.func_name == "bridge.engine.jobs.drain" and job.func is jobs.drain  # named after the function
    assert job.args == ["s1"] and re.fullmatch(r"[A-Za-z0-9_-]+", job.id)
