"""The due set and the sweeper against a real Redis and a real rq queue (no workers: called directly)."""
from __future__ import annotations

import time

from bridge.inbox import DRAIN_QUEUED_TTL, FLAG_TRUST_S
from bridge.scheduler import DRAIN, REFRESH, Ticker


def test_a_due_wake_up_is_claimed_by_one_ticker_only_and_the_earliest_wins(inbox):
    inbox.due.add(DRAIN, "s1", 0)
    inbox.due.add(DRAIN, "s1", 60)       # a later wake-up of the same stream does not postpone it
    inbox.due.add(REFRESH, "conv-1", 60)  # not due yet
    first = inbox.due.claim()
    assert [(k, t) for k, t, _ in first] == [(DRAIN, "s1")]
    assert inbox.due.claim() == []        # leased: a second ticker does not get it
    inbox.due.done(*first[0])
    assert [m for m, _ in inbox.due.pending()] == [f"{REFRESH}\tconv-1"]


def test_a_claimed_wake_up_whose_ticker_died_comes_back_after_the_lease(inbox):
    inbox.due.add(DRAIN, "s1", 0)
    assert inbox.due.claim(lease=0.05)    # ...and the ticker dies before enqueuing
    time.sleep(0.1)
    assert [t for _, t, _ in inbox.due.claim()] == ["s1"]


def test_the_ticker_enqueues_due_drains_once(inbox):
    refreshed = []
    ticker = Ticker(inbox, refreshed.append)
    inbox.accept("t", "e1", "s1", "k", {})
    inbox.queue.empty()                            # the drain job was lost (say, with its worker)
    inbox.r.delete(inbox.keys.inbox_drain_queued(stream="s1"))
    inbox.schedule_wakeup("s1", 0)
    inbox.due.add(REFRESH, "conv-1", 0)
    assert ticker.move_due() == 2
    assert inbox.queue.count == 1 and refreshed == ["conv-1"]
    assert ticker.move_due() == 0


def test_the_sweeper_re_enqueues_stranded_streams_only(inbox):
    for stream in ("stale-flag", "no-flag", "locked", "held", "queued"):
        inbox.accept("t", f"{stream}-1", stream, "k", {})
    inbox.queue.empty()  # every drain job is gone, except the one we put back for "queued"
    job = inbox.queue.enqueue("bridge.jobs.drain", "queued", job_id="drain-queued1")
    inbox.r.set(inbox.keys.inbox_drain_queued(stream="queued"), job.id, ex=DRAIN_QUEUED_TTL - int(FLAG_TRUST_S) - 5)
    # "stale-flag": its flag names a job nobody will run (its worker died after dequeuing it)
    inbox.r.set(inbox.keys.inbox_drain_queued(stream="stale-flag"), "drain-gone",
                ex=DRAIN_QUEUED_TTL - int(FLAG_TRUST_S) - 5)
    inbox.r.delete(inbox.keys.inbox_drain_queued(stream="no-flag"))
    inbox.r.delete(inbox.keys.inbox_drain_queued(stream="locked"))
    inbox.r.set(inbox.keys.inbox_lock(stream="locked"), "123-abc", px=10_000)  # a live drainer
    inbox.r.delete(inbox.keys.inbox_drain_queued(stream="held"))
    inbox.hold("held", 30)                                                      # backing off
    assert sorted(inbox.sweep()) == ["no-flag", "stale-flag"]
    assert sorted(inbox.sweep()) == []      # now queued: not twice
    assert inbox.queue.count == 3


def test_an_emptied_stream_leaves_the_sweepers_list(inbox):
    inbox.accept("t", "e1", "s1", "k", {})
    assert inbox.r.sismember(inbox.active_key, "s1")
    inbox.drain("s1", lambda item: None, lambda *a: None)
    assert not inbox.r.exists(inbox.active_key)
