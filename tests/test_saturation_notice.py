"""The saturation notice: when Slack's post limit holds many chats back, the channel is told once.

A campaign brings more new chats than Slack's one post per second per channel can show. The
team gets one line in the triage channel (how many conversations wait to be shown, and that
/pending already lists them), posted before the waiting chats rather than after them, and it
turns into 「✅ 追いつきました」 once every chat is shown.
"""
from __future__ import annotations

from tests.conftest import TRIAGE, wait_until

FRIENDS = ["U" + format(0xB000 + i, "x").rjust(32, "0") for i in range(30)]


def notices(h) -> list[dict]:
    return [m for m in h.slack.messages(TRIAGE) if "投稿上限" in (m.get("text") or "") or "追いつきました" in (m.get("text") or "")]


def test_a_saturated_channel_is_told_once_and_the_notice_clears_when_caught_up(h):
    for i, friend in enumerate(FRIENDS):
        h.line.add_user(friend, f"新規{i}")
    h.slack.set_rate_limits(post_per_channel=(1, 5))
    assert h.send_line(*[h.webhooks.text(f, f"はじめまして {i}") for i, f in enumerate(FRIENDS)]).status_code == 200
    assert wait_until(lambda: notices(h), timeout=30)
    (notice,) = notices(h)
    assert "⏳" in notice["text"] and "/pending" in notice["text"] and "件の会話が表示待ち" in notice["text"]
    shown_before = [m for m in h.slack.messages(TRIAGE) if m["ts"] < notice["ts"] and m is not notice]
    assert len(shown_before) < len(FRIENDS) - 10  # told while most chats still waited, not after
    assert wait_until(lambda: all(h.conv(f) and h.conv(f).thread_ts for f in FRIENDS), timeout=90)
    assert wait_until(lambda: "追いつきました" in notices(h)[0]["text"], timeout=20), notices(h)
    h.settle(timeout=30)
    assert len(notices(h)) == 1  # one line, changed in place
    posts = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 200]
    assert len(posts) == len(FRIENDS) + 1  # one post per new chat, one for the notice
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) <= 1
