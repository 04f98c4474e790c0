"""A worker SIGKILLed, then Redis SIGKILLed and restarted seconds later, while items back off.

Why a module of its own: it crashes its *own* Redis (append-only file, ``appendfsync always``,
so Redis loses nothing it acknowledged) and runs its own web server and two rq workers as the
Procfile starts them. What it proves is liveness: whatever marks a stream as queued, held or
running (drain-queued flags, holds, locks, post records, due wake-ups) must not keep a stream
with pending items waiting once the crashes are over, and nothing is sent twice.
"""
from __future__ import annotations

import time

import pytest

from tests.conftest import Harness, _seed, cid, shown_texts, wait_until
from tests.helpers import own_deployment

FRIENDS = [f"U{0xc0ffee00 + i:032x}" for i in range(6)]
MESSAGES = 3          # per friend, after the first
RECOVERY_S = 30       # every stream moves again within this long after Redis is back (+ slack for CI)


@pytest.fixture(scope="module")
def cr(bridge_env, line_emu, slack_emu):
    with own_deployment(bridge_env, "rr", redis_server="aof", workers=0) as deployment:
        yield deployment


@pytest.fixture(scope="module")
def crash_redis(cr):
    return cr.redis_server


@pytest.fixture(scope="module")
def cr_pool(cr):
    return cr.pool


@pytest.fixture()
def crh(cr, line_emu, slack_emu):
    store = cr.fresh_store()
    _seed(line_emu, slack_emu)
    for i, friend in enumerate(FRIENDS):
        line_emu.add_user(friend, f"友だち {i}")
    cr.pool.keep(2)
    yield Harness(cr.settings, cr.server, line_emu, slack_emu, store)
    wait_until(lambda: not store.r.exists(store.keys.inbox_active()), timeout=20)


def _kill_a_busy_worker(h, pool) -> None:
    """SIGKILL the worker draining a stream if one does (else any): its drain is lost mid-item."""
    for friend in FRIENDS:
        for stream in (f"line-{cid(friend)}", f"slack-{cid(friend)}"):
            holder = h.store.r.get(h.store.keys.inbox_lock(stream=stream))
            if holder:
                try:
                    pool.kill(pool.name_of_pid(int(holder.split("-")[0])))
                    return
                except (LookupError, KeyError, ValueError):
                    pass
    pool.kill(next(iter(pool.procs)))


@pytest.mark.parametrize("crash_after, down", [(0.5, 1.0), (2.0, 3.0), (4.0, 0.5)],
                         ids=["redis-at-once", "redis-2s-later", "redis-4s-later-brief"])
def test_every_stream_moves_again_after_a_worker_kill_and_a_redis_restart(crh, cr_pool, crash_redis, crash_after, down):
    h = crh
    for friend in FRIENDS:
        h.friend_says(friend, "はじめまして")
    threads = {friend: h.thread_of(friend, timeout=60) for friend in FRIENDS}
    assert wait_until(lambda: all("はじめまして" in shown_texts(h.slack, threads[f]) for f in FRIENDS),
                      timeout=60)
    # Platforms in trouble: Slack posts but answers 500, refuses (429), fails (500) and answers
    # slowly; LINE fails and answers slowly. Items back off in the due set when the crashes come,
    # and the friends keep writing meanwhile.
    h.slack.fail_next("chat.postMessage", 500, after_effect=True)
    h.slack.fail_next("chat.postMessage", 429, retry_after=3, times=2)
    h.slack.fail_next("chat.postMessage", 500)
    h.slack.fail_next("chat.postMessage", delay=1.5, times=4)  # in flight when the crashes come
    h.line.fail_next("pushMessage", 500)
    h.line.fail_next("pushMessage", 0, delay=1.0)
    h.line.fail_next("replyMessage", 500)
    sent = {friend: [f"{friend[-2:]} の {i}" for i in range(MESSAGES)] for friend in FRIENDS}
    replies = {friend: f"返信 {friend[-2:]}" for friend in FRIENDS[::2]}
    before = len(h.slack.calls_for("chat.postMessage"))
    for friend in FRIENDS:
        h.friend_says(friend, sent[friend][0])
    # The first post was answered 500 (it did reach Slack); its stream backs off while the friends write on.
    assert wait_until(lambda: any(c.status == 500 for c in h.slack.calls_for("chat.postMessage")[before:]), timeout=30)
    for i in range(1, MESSAGES):
        for friend in FRIENDS:
            h.friend_says(friend, sent[friend][i])
            if i == 1 and friend in replies:
                h.staff_says(threads[friend], replies[friend])
    _kill_a_busy_worker(h, cr_pool)
    time.sleep(crash_after)  # the scenario's timing, not an assertion
    crash_redis.crash()
    time.sleep(down)
    crash_redis.start()
    back = time.time()
    cr_pool.start()  # the process manager restarts the killed worker

    def arrived() -> bool:
        return (all(all(t in shown_texts(h.slack, threads[f]) for t in sent[f]) for f in FRIENDS)
                and all(h.line.delivered_texts(f).count(text) >= 1 for f, text in replies.items()))

    assert wait_until(arrived, timeout=RECOVERY_S + 15), (
        f"stalled {time.time() - back:.0f} s after Redis came back: "
        + str({f[-2:]: [t for t in sent[f] if t not in shown_texts(h.slack, threads[f])] for f in FRIENDS}))
    for friend in FRIENDS:
        shown = [t for t in shown_texts(h.slack, threads[friend]) if t in sent[friend]]
        assert shown == sent[friend], friend  # each once, in order
    for friend, text in replies.items():
        assert h.line.delivered_texts(friend).count(text) == 1
