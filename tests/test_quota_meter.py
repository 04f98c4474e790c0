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
