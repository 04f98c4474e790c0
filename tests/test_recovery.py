"""Crash recovery, end to end (issue #10): SIGKILLed workers, a crashed Redis, lost answers.

This module runs its own stack next to the session one: a private Redis with the
append-only file on (so it can be crashed and restarted on the same port and directory),
the bridge's Flask app on it, and rq workers (as the Procfile starts them) that a test may
SIGKILL and restart. The emulators are the session's.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
import requests

from tests.conftest import HANAKO, ROOT, STAFF2, TARO, TRIAGE, Harness, _seed, cid, shown_texts, wait_until
from tests.helpers import own_deployment
from tests.helpers import open_thread as _open_thread


def open_thread(h, user=HANAKO) -> str:
    return _open_thread(h, user, timeout=30)


@pytest.fixture(scope="module")
def rec(bridge_env, line_emu, slack_emu):
    with own_deployment(bridge_env, "rec", redis_server="aof") as deployment:
        yield deployment


@pytest.fixture(scope="module")
def aof_redis(rec):
    return rec.redis_server


@pytest.fixture(scope="module")
def rec_env(rec):
    return rec.env


@pytest.fixture(scope="module")
def pool(rec):
    return rec.pool


@pytest.fixture()
def rh(rec, line_emu, slack_emu):
    store = rec.fresh_store()
    _seed(line_emu, slack_emu)
    line_emu.add_user(HANAKO, "山田 花子", picture_url="https://profile.line-scdn.net/hanako")
    line_emu.add_user(TARO, "Taro Tanaka", picture_url="https://profile.line-scdn.net/taro")
    rec.pool.keep(2)
    harness = Harness(rec.settings, rec.server, line_emu, slack_emu, store)
    yield harness
    wait_until(lambda: not store.r.exists(store.keys.inbox_active()), timeout=20)


def replies(h, thread: str) -> list[str]:
    """Friend texts shown for the conversation: the parent's first messages, then the thread's."""
    return shown_texts(h.slack, thread)


def test_a_worker_killed_mid_send_loses_nothing_and_sends_nothing_twice(rh, pool):
    thread = open_thread(rh)
    rh.slack.fail_next("chat.postMessage", delay=0.6, times=100)  # a slow Slack: every post takes 0.6 s
    burst = [f"連投 {i}" for i in range(6)]
    lock_key = rh.store.keys.inbox_lock(stream=f"line-{cid(HANAKO)}")
    # The first message alone, then the rest: waiting messages are batched into one post, so this
    # makes sure a post is still to come once part of the burst is in Slack.
    rh.friend_says(HANAKO, burst[0])
    assert wait_until(lambda: burst[0] in replies(rh, thread), timeout=30)
    for text in burst[1:]:
        rh.friend_says(HANAKO, text)
    # Mid-send: part of the burst is in Slack, a drain holds the stream and waits for Slack.
    assert wait_until(lambda: rh.store.r.get(lock_key) and burst[-1] not in replies(rh, thread), timeout=30)
    holder = pool.name_of_pid(int(rh.store.r.get(lock_key).split("-")[0]))
    pool.kill(holder)
    pool.start()  # restarted from the Procfile line; no new event arrives
    assert wait_until(lambda: all(text in replies(rh, thread) for text in burst), timeout=30)
    got = [t for t in replies(rh, thread) if t.startswith("連投")]
    assert got == burst  # each once, in order


def test_a_retry_after_survives_the_death_of_the_worker_holding_rqs_scheduler_lock(rh, pool):
    # Fresh workers, so that a live one holds rq's scheduler lock (a killed worker's lock outlives it).
    pool.stop_all()
    for key in rh.store.r.scan_iter(match="rq:scheduler-lock:*"):
        rh.store.r.delete(key)
    pool.start()
    pool.start()
    thread = open_thread(rh)
    lock = f"rq:scheduler-lock:{rh.settings.queue_name}"
    assert wait_until(lambda: rh.store.r.get(lock) and rh.store.r.hget(f"rq:scheduler:{rh.store.r.get(lock)}", "pid"),
                      timeout=30), "one worker holds rq's scheduler lock"
    holder_name = rh.store.r.get(lock)
    scheduler_pid = int(rh.store.r.hget(f"rq:scheduler:{holder_name}", "pid"))
    holder = pool.name_of_pid(scheduler_pid)
    rh.slack.fail_next("chat.postMessage", 429, retry_after=3)
    rh.friend_says(HANAKO, "混雑中のメッセージ")
    assert wait_until(lambda: rh.store.r.zcard(rh.store.keys.due()), timeout=30)  # the Retry-After wake-up is pending
    pool.kill(holder)
    assert wait_until(lambda: "混雑中のメッセージ" in replies(rh, thread), timeout=30)
    assert replies(rh, thread).count("混雑中のメッセージ") == 1


def test_a_redis_crash_loses_no_accepted_event_nor_scheduled_retry(rh, pool, aof_redis):
    thread = open_thread(rh)
    rh.slack.fail_next("chat.postMessage", 429, retry_after=6)
    rh.friend_says(HANAKO, "再試行待ち")
    assert wait_until(lambda: rh.store.r.zcard(rh.store.keys.due()), timeout=30)
    rh.friend_says(HANAKO, "その後ろ")  # accepted, waiting behind the held one
    aof_redis.crash()
    try:
        health = requests.get(rh.url + "/healthz", timeout=60)
        assert health.status_code == 503
        event = rh.webhooks.text(HANAKO, "停止中に届いた")
        refused = rh.send_line(event)
        assert refused.status_code >= 500, refused.text  # LINE redelivers on a 5xx, never on a 200
    finally:
        aof_redis.start()
    assert rh.send_line(event).status_code == 200  # LINE's redelivery
    assert requests.get(rh.url + "/healthz", timeout=30).status_code == 200
    wanted = ["再試行待ち", "その後ろ", "停止中に届いた"]
    assert wait_until(lambda: all(text in replies(rh, thread) for text in wanted), timeout=30)
    assert [t for t in replies(rh, thread) if t in wanted] == wanted


def _parents(h) -> list[dict]:
    """Top-level posts of the bridge for conversations (a new one's parent carries its first message)."""
    return [m for m in h.slack.messages(TRIAGE)
            if (m.get("metadata") or {}).get("event_payload", {}).get("key", "").startswith(("parent-", "line-"))]


def test_a_lost_post_record_does_not_give_the_conversation_a_second_parent(rh):
    # Slack posts the parent but answers 500; then the pending record is lost (Redis lost its last writes).
    rh.slack.fail_next("chat.postMessage", 500, after_effect=True)
    said = rh.friend_says(HANAKO, "はじめまして")
    assert wait_until(lambda: _parents(rh), timeout=30)
    rh.store.r.delete(rh.store.keys.slack_post(post_key=f"line-default-{said['webhookEventId']}"))
    thread = rh.thread_of(HANAKO, timeout=30)
    assert wait_until(lambda: "はじめまして" in replies(rh, thread), timeout=30)
    assert len(_parents(rh)) == 1 and thread == _parents(rh)[0]["ts"]


def test_a_busy_channel_does_not_hide_the_first_parent_from_the_search(rh):
    rh.slack.fail_next("chat.postMessage", 500, after_effect=True)
    rh.friend_says(HANAKO, "はじめまして")
    assert wait_until(lambda: _parents(rh), timeout=30)
    for i in range(250):  # people keep talking in the channel before the retry looks for the parent
        rh.slack.add_user_message(TRIAGE, STAFF2, f"雑談 {i}")
    thread = rh.thread_of(HANAKO, timeout=30)
    assert wait_until(lambda: "はじめまして" in replies(rh, thread), timeout=30)
    assert len(_parents(rh)) == 1


def admin(env, *args):
    return subprocess.run([sys.executable, "-m", "bridge.admin", *args], env={**os.environ, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_a_dead_letter_is_announced_in_its_thread_and_replayed_once(rh, rec_env):
    thread = open_thread(rh)
    rh.slack.fail_next("chat.postMessage", error="msg_too_long")  # a refusal retrying cannot cure
    rh.friend_says(HANAKO, "届かなかった")
    assert wait_until(lambda: any("保留" in t for t in replies(rh, thread)), timeout=30)
    notice = [t for t in replies(rh, thread) if "保留" in t]
    assert len(notice) == 1 and "届かなかった" in notice[0] and "msg_too_long" in notice[0]
    assert "届かなかった" not in replies(rh, thread)

    raw = rh.store.r.lindex(rh.store.keys.dead_letters(), 0)
    assert "replayed 1" in admin(rec_env, "replay-dead-letters").stdout
    assert wait_until(lambda: "届かなかった" in replies(rh, thread), timeout=30)
    # Replaying the same dead letter again (an operator runs it twice) posts nothing more.
    rh.store.r.rpush(rh.store.keys.dead_letters(), raw)
    assert "replayed 1" in admin(rec_env, "replay-dead-letters").stdout
    assert wait_until(lambda: not rh.store.r.exists(rh.store.keys.inbox_active()), timeout=30)  # processed
    assert replies(rh, thread).count("届かなかった") == 1
    assert rh.store.r.llen(rh.store.keys.dead_letters()) == 0


def test_messages_that_arrive_while_an_uncertain_post_backs_off_are_not_swallowed(rh):
    thread = open_thread(rh)
    # Slack posts the message but answers 500: the retry finds the post by its key. Messages the
    # friend sent meanwhile must not be counted as part of that post: they follow it.
    rh.slack.fail_next("chat.postMessage", 500, after_effect=True)
    rh.friend_says(HANAKO, "一通目")
    assert wait_until(lambda: "一通目" in replies(rh, thread), timeout=30)
    rh.friend_says(HANAKO, "二通目")
    rh.friend_says(HANAKO, "三通目")
    assert wait_until(lambda: "三通目" in replies(rh, thread), timeout=30)
    assert [t for t in replies(rh, thread) if t.endswith("通目")] == ["一通目", "二通目", "三通目"]


def test_waiting_for_our_own_earlier_post_attempt_is_a_wait_not_a_failure(ip):
    """A post whose earlier attempt may still be in flight (a killed worker's) is retried at once when
    that attempt is surely over: no attempt is counted, so crashes cannot grow the back-off for minutes."""
    import time

    from bridge.model import RetryLater

    ip.store.set_record("slack_post", "in-flight-1", state="pending", at=time.time(), first_at=time.time())
    with pytest.raises(RetryLater) as info:
        ip.rt.slack.post_once("in-flight-1", TRIAGE, "まだ送信中かもしれない")
    assert info.value.throttled and 0 < info.value.delay <= 17
    assert not ip.slack.messages(TRIAGE)
