"""Segment broadcast end to end: compose → confirm → multicast in chunks of 500, resumable, quota-checked."""
from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import redis

from bridge.store.friends import FriendStore
from bridge.friends.values import FriendData
from bridge.model import Conversation, conv_key
from tests.conftest import STAFF, STAFF2, TRIAGE, start_workers, wait_until

N = 1200


def seed_friends(h, n=N, tag="campaign", blocked=()):
    """n 1:1 conversations tagged ``tag`` (written directly: the broadcast, not the relay, is under test)."""
    friends = FriendStore(h.store.r, h.store.keys)
    ids = [f"U{i:032x}" for i in range(1, n + 1)]
    for i, uid in enumerate(ids):
        h.line.add_user(uid, f"友だち{i}")
        conv, _ = h.store.ensure_conversation(Conversation(conv_id=conv_key("default", uid), source_type="user", number=0,
                                                           line_id=uid, name=f"友だち{i}", channel=TRIAGE,
                                                           blocked=uid in blocked))
        friends.save("default", conv.conv_id, FriendData(tags=[tag]), STAFF)
    for uid in blocked:
        h.line.block(uid)
    return ids


def compose_and_confirm(h, conditions, message, user=STAFF):
    before = set(h.slack.views)
    resp = h.slack_sender.command("/broadcast", "", user_id=user, channel_id=TRIAGE)
    assert resp.status_code == 200
    assert wait_until(lambda: set(h.slack.views) - before)
    view = h.slack.views[(set(h.slack.views) - before).pop()]
    resp = h.slack_sender.view_submission(user, view, {"conditions": {"conditions": conditions},
                                                       "marks": {"marks": {"type": "multi_static_select", "selected_options": []}},
                                                       "message": {"message": message}})
    return resp.json()


def report(h):
    texts = [m.get("text", "") for m in h.slack.messages(TRIAGE) if "セグメント配信" in m.get("text", "")]
    return texts[-1] if texts else ""


def restart_workers(h, procs, bridge_env):
    """SIGKILL every worker (no clean shutdown) and start fresh ones in their place."""
    for p in procs:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
    r = redis.Redis.from_url(bridge_env["REDIS_URL"])
    # A killed worker's rq scheduler lock would block scheduled jobs for ~61 s until it expires.
    for q in (bridge_env["BRIDGE_NAMESPACE"], bridge_env["BRIDGE_NAMESPACE"] + "-low"):
        r.delete(f"rq:scheduler-lock:{q}")
    procs[:] = start_workers(bridge_env, len(procs), "test-restarted", tag=f"-r{time.time_ns()}")


def test_broadcast_to_1200_in_3_chunks_survives_killed_workers_and_reaches_everyone_once(h, workers, bridge_env):
    blocked = {f"U{7:032x}"}
    ids = seed_friends(h, blocked=blocked)
    seed_friends_other = FriendStore(h.store.r, h.store.keys)  # a friend outside the segment
    h.line.add_user("U" + "e" * 32, "対象外")
    other, _ = h.store.ensure_conversation(Conversation(conv_id=conv_key("default", "U" + "e" * 32), source_type="user",
                                                        number=0, line_id="U" + "e" * 32, channel=TRIAGE))
    seed_friends_other.save("default", other.conv_id, FriendData(tags=["other"]), STAFF)

    confirm = compose_and_confirm(h, "tag:campaign", "春のキャンペーンのお知らせです🌸")
    assert confirm["response_action"] == "update"
    shown = json.dumps(confirm["view"], ensure_ascii=False)
    assert "*1,199人*" in shown and "ブロック中の1人" in shown and "春のキャンペーン" in shown   # count + preview
    time.sleep(0.3)
    assert h.line.requests_for("multicast") == []                       # nothing before the second step

    # chunk 1 is answered slowly (so the test can arm a fault for chunk 2), chunk 2 fails with 503
    h.line.fail_next("multicast", 0, delay=1.5)
    h.slack_sender.view_submission(STAFF, confirm["view"], {})
    assert wait_until(lambda: len(h.line.requests_for("multicast")) >= 1, timeout=20)
    h.line.fail_next("multicast", 503)
    assert wait_until(lambda: any(r.status == 503 for r in h.line.requests_for("multicast")), timeout=20)
    assert wait_until(lambda: "(1/3)" in report(h), timeout=10)

    restart_workers(h, workers, bridge_env)                              # killed between chunk 1 and chunk 2

    assert wait_until(lambda: "完了" in report(h), timeout=60), report(h)
    final = report(h)
    assert "送信 1,199" in final and "失敗 0" in final and "除外 1" in final
    received = Counter(uid for d in h.line.deliveries if d.via == "multicast" for uid in d.to)
    assert set(received) == set(ids) - blocked and set(received.values()) == {1}  # everyone once, counted by LINE
    ok = [r for r in h.line.requests_for("multicast") if r.status == 200]
    assert len(ok) == 3 and all(len(r.json["to"]) <= 500 for r in ok)
    keys = [r.headers.get("X-Line-Retry-Key") for r in h.line.requests_for("multicast")]
    assert len(set(keys)) == 3 and keys[1] == keys[2]                    # one retry key per chunk, reused on retry
    assert "U" + "e" * 32 not in received


def test_broadcast_refused_when_the_monthly_quota_would_not_fit(h):
    seed_friends(h, n=30)
    h.line.set_monthly_quota(20)
    confirm = compose_and_confirm(h, "tag:campaign", "お知らせ")
    assert confirm["response_action"] == "errors"
    assert "30" in confirm["errors"]["message"] and "20" in confirm["errors"]["message"]
    # the worker checks again (the quota may shrink between the two steps)
    h.line.set_monthly_quota(None)
    confirm = compose_and_confirm(h, "tag:campaign", "お知らせ")
    h.line.set_monthly_quota(25)
    h.slack_sender.view_submission(STAFF, confirm["view"], {})
    assert wait_until(lambda: "中止" in report(h), timeout=20)
    assert "25" in report(h) and "30" in report(h)
    assert h.line.requests_for("multicast") == []


def test_a_refused_broadcast_is_reported_even_when_slack_makes_that_report_wait(h):
    """The worker finds the quota too small, marks the broadcast refused, then reports it. When
    Slack refuses that post (429: wait for the channel's turn), the retry used to find the
    broadcast over and stop: the person who sent it never learned it was stopped. Now the retry
    says it then, once."""
    seed_friends(h, n=30)
    confirm = compose_and_confirm(h, "tag:campaign", "お知らせ")
    h.line.set_monthly_quota(25)
    h.settle()
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the report, has to wait
    h.slack_sender.view_submission(STAFF, confirm["view"], {})
    assert wait_until(lambda: "中止" in report(h), timeout=20)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "中止" in refused[0].args.get("text", "")  # it did wait
    assert sum("中止" in m.get("text", "") for m in h.slack.messages(TRIAGE)) == 1
    assert h.line.requests_for("multicast") == []
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done


def test_only_admins_may_broadcast_and_conditions_are_checked(h):
    resp = h.slack_sender.command("/broadcast", "", user_id=STAFF2, channel_id=TRIAGE).json()
    assert "管理者" in resp["text"]
    seed_friends(h, n=3)
    bad = compose_and_confirm(h, "nosuchfield:1", "x")
    assert bad["response_action"] == "errors" and "nosuchfield:1" in bad["errors"]["conditions"]
    nobody = compose_and_confirm(h, "tag:nobody", "x")
    assert nobody["response_action"] == "errors" and "いません" in nobody["errors"]["conditions"]
