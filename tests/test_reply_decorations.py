"""Staff replies never wait for their marks in Slack, and the quota is read at most once a minute.

Slack paces reactions per workspace (~50/min); LINE takes replies as fast as they come. A busy
staff member's replies must reach the friend at LINE's pace, the 🆓/🔢 marks following at
Slack's; and the quota meter must not cost two LINE calls per push.
"""
from __future__ import annotations

from tests.conftest import shown_texts, HANAKO, TRIAGE, cid, wait_until

MARKS = {"free", "1234", "outbox_tray"}  # outbox_tray: the old 📤, which must no longer appear


def marks(h, ts: str) -> set[str]:
    return set(h.slack.reactions(TRIAGE, ts)) & MARKS


def test_ten_quick_replies_reach_line_before_slack_has_marked_them_and_each_gets_one_mark(h):
    h.friend_says(HANAKO, "注文の件で質問があります")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: shown_texts(h.slack, thread))  # the first message is on the parent
    h.slack.set_rate_limits(reactions=(1, 3))  # a small reactions bucket: marks must queue
    texts = [f"返信 {i}" for i in range(10)]
    sent = [h.staff_says(thread, text) for text in texts]
    assert wait_until(lambda: len(h.line.delivered_texts(HANAKO)) >= 10, timeout=60)
    assert h.line.delivered_texts(HANAKO) == texts  # in order, exactly once
    assert [d.via for d in h.line.deliveries] == ["reply"] + ["push"] * 9
    # Each reply ends up with one mark saying both "delivered" and what it cost.
    assert wait_until(lambda: all(marks(h, m["ts"]) for m in sent), timeout=90)
    h.settle(timeout=30)
    # Ordering, not timing: the last reply was with LINE before Slack had marked the earlier ones
    # (a delivery that waited for its marks would have had all nine marked by then).
    last_at = max(d.time for d in h.line.deliveries)
    ours = {m["ts"] for m in sent}
    marked_before = {c.args.get("timestamp") for c in h.slack.calls_for("reactions.add")
                     if c.status == 200 and c.args.get("timestamp") in ours and c.time < last_at}
    assert len(marked_before) < 9, f"{len(marked_before)} replies were marked before the last reached LINE"
    assert [marks(h, m["ts"]) for m in sent] == [{"free"}] + [{"1234"}] * 9



def test_the_quota_is_read_at_most_once_a_minute_and_the_meter_counts_every_push(h):
    h.line.set_monthly_quota(1000)
    h.friend_says(HANAKO, "質問です")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: shown_texts(h.slack, thread))  # the first message is on the parent
    h.line.expire_reply_tokens()  # every reply is a counted push
    for i in range(10):
        h.staff_says(thread, f"プッシュ {i}")
    assert wait_until(lambda: len(h.line.delivered_texts(HANAKO)) == 10, timeout=60)
    h.settle(timeout=30)
    assert [d.via for d in h.line.deliveries] == ["push"] * 10
    for operation in ("getMessageQuota", "getMessageQuotaConsumption"):
        times = [r.time for r in h.line.requests_for(operation)]
        assert times, f"{operation} was never read"
        assert all(b - a >= 59 for a, b in zip(times, times[1:])), f"{operation} read {len(times)} times"
    from bridge.store.meter import read_meter

    assert read_meter(h.store, "default")["used"] == 10  # LINE's figure plus the pushes counted since


def test_a_delivered_mark_is_not_added_to_a_reply_that_failed(ip):
    ip.friend_says(HANAKO, "こんにちは")
    thread = ip.conv(HANAKO).thread_ts
    msg = ip.slack.add_user_message(TRIAGE, "U0STAFF", "送れなかった返信", thread_ts=thread)
    ip.store.link_slack_message(TRIAGE, msg["ts"], cid(HANAKO), "staff", delivery="failed", reason="blocked")
    ip.process(ip.work.DECORATE, {"channel": TRIAGE, "ts": msg["ts"], "thread_ts": thread, "reaction": "1234", "waited": False})
    assert "1234" not in ip.slack.reactions(TRIAGE, msg["ts"])
