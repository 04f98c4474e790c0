"""The due set, the sweeper and the ticker against a real Redis and a real rq queue (no workers: called directly)."""
from __future__ import annotations

import time
import uuid

import pytest
import redis
from rq import Queue
from rq.serializers import JSONSerializer

from bridge.engine import jobs
from bridge.engine.due import DRAIN, REFRESH
from bridge.engine.inbox import Inbox
from bridge.engine.streams import DRAIN_QUEUED_TTL
from bridge.engine.sweep import FLAG_TRUST_S
from bridge.engine.ticker import Ticker
from bridge.keys import Keys
from bridge.store import Store



class Nothing:
    """A Processor (bridge.engine.drain) that does nothing with its items."""

    def process_item(self, item):
        pass

    def process_head(self, items):
        return 1

    def dead_letter(self, item, reason):
        pass


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


def test_due_drains_and_parent_refreshes_are_enqueued_once(inbox):
    inbox.accept("t", "e1", "s1", "k", {})
    inbox.queue.empty()                            # the drain job was lost (say, with its worker)
    inbox.streams.r.delete(inbox.keys.inbox_drain_queued(stream="s1"))
    inbox.streams.schedule_wakeup("s1", 0)
    inbox.refresh_parent("conv-1", 0.001)
    time.sleep(0.01)
    assert inbox.move_due() == 2
    assert inbox.queue.count == 1 and inbox.low_queue.count == 1
    refresh = inbox.low_queue.fetch_job(inbox.low_queue.get_job_ids()[0])
    assert refresh.func is jobs.refresh_parent and refresh.args == ["conv-1"]
    assert inbox.move_due() == 0


def test_the_sweeper_re_enqueues_stranded_streams_only(inbox):
    for stream in ("stale-flag", "no-flag", "locked", "held", "queued"):
        inbox.accept("t", f"{stream}-1", stream, "k", {})
    inbox.queue.empty()  # every drain job is gone, except the one we put back for "queued"
    job = inbox.queue.enqueue(jobs.drain, "queued", job_id="drain-queued1")
    inbox.streams.r.set(inbox.keys.inbox_drain_queued(stream="queued"), job.id, ex=DRAIN_QUEUED_TTL - int(FLAG_TRUST_S) - 5)
    # "stale-flag": its flag names a job nobody will run (its worker died after dequeuing it)
    inbox.streams.r.set(inbox.keys.inbox_drain_queued(stream="stale-flag"), "drain-gone",
                ex=DRAIN_QUEUED_TTL - int(FLAG_TRUST_S) - 5)
    inbox.streams.r.delete(inbox.keys.inbox_drain_queued(stream="no-flag"))
    inbox.streams.r.delete(inbox.keys.inbox_drain_queued(stream="locked"))
    inbox.streams.r.set(inbox.keys.inbox_lock(stream="locked"), "123-abc", px=10_000)  # a live drainer
    inbox.streams.r.delete(inbox.keys.inbox_drain_queued(stream="held"))
    inbox.hold("held", 30)                                                      # backing off
    assert sorted(inbox.sweep()) == ["no-flag", "stale-flag"]
    assert sorted(inbox.sweep()) == []      # now queued: not twice
    assert inbox.queue.count == 3


def test_an_emptied_stream_leaves_the_sweepers_list(inbox):
    inbox.accept("t", "e1", "s1", "k", {})
    assert inbox.streams.r.sismember(inbox.active_key, "s1")
    inbox.drain("s1", Nothing())
    assert not inbox.streams.r.exists(inbox.active_key)


def test_a_locked_periodic_task_runs_in_one_of_several_workers_per_interval(inbox):
    runs = []
    lock = inbox.keys.sweep_tick()
    tasks = [lambda n=n: runs.append(n) for n in range(3)]  # the same task in three worker processes
    tickers = [Ticker(inbox.streams.r).every(0.3, task, lock=lock) for task in tasks]
    assert [ticker.run_now(task) for ticker, task in zip(tickers, tasks)] == [True, False, False]
    time.sleep(0.3)                     # the lock lives 0.9 × interval: free again next round
    assert tickers[2].run_now(tasks[2])
    assert runs == [0, 2]


def test_a_failing_task_does_not_stop_the_others_and_an_idle_sweep_writes_no_lock(inbox):
    ran = []

    def broken():
        raise RuntimeError("boom")
    now = [100.0]
    ticker = (Ticker(inbox.streams.r, clock=lambda: now[0])
              .every(2.0, broken)
              .every(2.0, lambda: ran.append("moved"))
              .every(3.0, inbox.sweep, lock=inbox.keys.inbox_sweep_lock(), unless=inbox.idle))
    assert ticker.run_due() == 1.0 and ran == []  # every task first runs a second after the start
    now[0] += 1.0
    assert ticker.run_due() == 2.0      # the next round of the two-second tasks
    assert ran == ["moved"]
    assert not inbox.streams.r.exists(inbox.keys.inbox_sweep_lock())  # nothing pending: no key written
    inbox.accept("t", "e1", "s1", "k", {})
    assert ticker.run_now(inbox.sweep)
    assert inbox.streams.r.exists(inbox.keys.inbox_sweep_lock())


def test_the_workers_tickers_enqueue_one_automation_sweep_per_interval_between_them(settings):
    from dataclasses import replace

    from bridge.runtime import Runtime

    ns = settings.namespace + "tk" + uuid.uuid4().hex[:6]  # a queue no running worker takes
    workers = [Runtime(replace(settings, namespace=ns)) for _ in range(2)]
    try:
        tickers = [rt.ticker() for rt in workers]
        assert [t.run_now(rt.enqueue_automation_sweep) for t, rt in zip(tickers, workers)] == [True, False]
        low = workers[0].low_queue
        assert low.count == 1
        assert low.fetch_job(low.get_job_ids()[0]).func is jobs.automation_sweep
    finally:
        for q in (workers[0].queue, workers[0].low_queue):
            q.empty()
            q.delete(delete_jobs=True)
        workers[0].store.delete_namespace()
