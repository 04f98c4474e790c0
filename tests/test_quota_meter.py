"""The quota meter: usage in /pending's header, one warning at 80 % and one at 100 % per month."""
from __future__ import annotations

import json

from tests.conftest import HANAKO, STAFF, TRIAGE, wait_until


def top_level_texts(h):
    return [m["text"] for m in h.slack.messages(TRIAGE)]


def pending(h):
    return json.dumps(h.slack_sender.command("/pending", "", user_id=STAFF, channel_id=TRIAGE).json(), ensure_ascii=False)


def test_usage_is_shown_in_pending_and_warnings_are_posted_once_per_level(h):
    h.line.set_monthly_quota(5)
    h.friend_says(HANAKO, "質問があります")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: h.slack.message(TRIAGE, thread))  # (the first message is the parent)
    h.staff_says(thread, "返信 0（無料の応答）")
    for i in range(1, 5):
        h.staff_says(thread, f"返信 {i}")
    assert wait_until(lambda: any("80%" in x for x in top_level_texts(h)), timeout=30)
    assert [d.via for d in h.line.deliveries] == ["reply", "push", "push", "push", "push"]
    assert "今月の送信 4 / 5 通（80%）" in pending(h)
    h.staff_says(thread, "返信 5")
    assert wait_until(lambda: any("上限に達しました" in x for x in top_level_texts(h)), timeout=20)
    h.staff_says(thread, "返信 6（上限を超える）")
    assert wait_until(lambda: any("⚠️" in m["text"] and "上限" in m["text"] for m in h.thread_messages(thread)), timeout=20)
    texts = top_level_texts(h)
    assert sum("80%" in x for x in texts) == 1 and sum("上限に達しました" in x for x in texts) == 1
    assert "今月の送信 5 / 5 通（100%）" in pending(h)


def test_the_80_percent_warning_is_posted_even_when_slack_makes_it_wait(h):
    """The push that reaches 80 % claims the month's warning, then posts it. When Slack refuses
    that post (429: wait for the channel's turn), the claim used to stay taken and the reply's
    retry pushed nothing more: the warning was never posted. Now the claim goes back and the
    retry posts it, once; the reply is pushed once."""
    h.line.set_monthly_quota(5)
    h.friend_says(HANAKO, "質問があります")
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: h.slack.message(TRIAGE, thread))  # (the first message is the parent)
    h.staff_says(thread, "返信 0（無料の応答）")
    for i in range(1, 4):
        h.staff_says(thread, f"返信 {i}")
    assert wait_until(lambda: len(h.line.deliveries) == 4, timeout=30)
    h.settle()
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the warning, has to wait
    h.staff_says(thread, "返信 4")
    warned = lambda: [x for x in top_level_texts(h) if "80%" in x]  # noqa: E731
    assert wait_until(warned, timeout=30)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "80%" in refused[0].args.get("text", "")  # it did wait
    assert len(warned()) == 1
    assert [d.via for d in h.line.deliveries] == ["reply", "push", "push", "push", "push"]  # 返信 4 pushed once
