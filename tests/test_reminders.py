"""返信待ち reminders end to end: pushed on the weekly slot, at most N, stopping on a reply,
switchable from the parent. The test config (tests/fixtures/automation.toml) reminds on
Sundays 03:17 JST, at most twice."""
from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from bridge import clock
from bridge.runtime import Runtime
from tests.conftest import HANAKO, STAFF, TRIAGE, wait_until
from tests.test_automation import set_now, settle, texts

JST = ZoneInfo("Asia/Tokyo")
SLOTS = [datetime(2026, 12, d, 3, 17, 10, tzinfo=JST).timestamp() for d in (6, 13, 20, 27)]
REMINDER = "その後いかがでしょうか？"


def pushes(h) -> list[str]:
    return [m["text"] for d in h.line.deliveries if d.via == "push" and HANAKO in d.to for m in d.messages]


def waiting_for_friend(h) -> str:
    h.friend_says(HANAKO, "ありがとうございます、確認します")
    thread = h.thread_of(HANAKO)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "hourglass_flowing_sand")
    assert wait_until(lambda: h.conv(HANAKO).mark == "awaiting_friend")
    return thread


def reminder_notes(h, thread):
    return [t for t in texts(h, thread) if t.startswith("🔔 返信待ちリマインド")]


def sweep_at(h, settings, when):
    set_now(h, when)
    Runtime(settings).domain.automation.sweep(clock.now())
    settle(h)


def test_reminders_on_the_schedule_at_most_max_and_counted_pushes(h, settings):
    thread = waiting_for_friend(h)
    assert wait_until(lambda: "🔕 リマインド停止" in json.dumps(h.slack.message(TRIAGE, thread).get("blocks"),
                                                            ensure_ascii=False))
    set_now(h, SLOTS[0])
    assert h.line.wait_for(lambda emu: pushes(h), timeout=20)
    assert pushes(h) == [f"山田 花子様、{REMINDER}"]
    assert wait_until(lambda: reminder_notes(h, thread))
    assert "1/2回目" in reminder_notes(h, thread)[0] and "通数にカウント" in reminder_notes(h, thread)[0]
    sweep_at(h, settings, SLOTS[0] + 5)          # the same slot again: nothing more
    assert len(pushes(h)) == 1
    sweep_at(h, settings, SLOTS[1])
    assert wait_until(lambda: len(pushes(h)) == 2)
    sweep_at(h, settings, SLOTS[2])               # max = 2
    assert len(pushes(h)) == 2 and len(reminder_notes(h, thread)) == 2


def test_reminders_stop_when_the_friend_writes_and_restart_counting(h, settings):
    thread = waiting_for_friend(h)
    sweep_at(h, settings, SLOTS[0])
    assert wait_until(lambda: len(pushes(h)) == 1)
    h.friend_says(HANAKO, "まだ検討中です")
    assert wait_until(lambda: h.conv(HANAKO).mark == "needs_reply")   # 返信待ち → 要対応
    sweep_at(h, settings, SLOTS[1])
    assert len(pushes(h)) == 1
    # back to 返信待ち: the count starts again
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "hourglass_flowing_sand")
    assert wait_until(lambda: h.conv(HANAKO).mark == "awaiting_friend")
    sweep_at(h, settings, SLOTS[2])
    assert wait_until(lambda: len(pushes(h)) == 2)
    assert wait_until(lambda: "1/2回目" in reminder_notes(h, thread)[-1])


def test_reminders_switched_off_from_the_parent(h, settings):
    thread = waiting_for_friend(h)
    conv_id = h.conv(HANAKO).conv_id
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_reminders", f"off:{conv_id}")
    assert wait_until(lambda: any("リマインドを停止しました" in t for t in texts(h, thread)))
    assert wait_until(lambda: "🔔 リマインド再開" in json.dumps(h.slack.message(TRIAGE, thread).get("blocks"),
                                                           ensure_ascii=False))
    sweep_at(h, settings, SLOTS[0])
    assert pushes(h) == [] and reminder_notes(h, thread) == []


def test_switching_reminders_off_is_said_even_when_slack_makes_that_line_wait(h, settings):
    """The switch is stored, then the thread says who switched. When Slack refuses that line (429:
    wait for the channel's turn), the retry used to find reminders off already and stop: nobody
    learned who stopped them. Now the retry resumes at the line: it comes once, and the parent
    offers 🔔 リマインド再開."""
    thread = waiting_for_friend(h)
    h.settle()
    conv_id = h.conv(HANAKO).conv_id
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)  # the next post, the switch's line, has to wait
    h.slack_sender.block_action(STAFF, TRIAGE, thread, "conv_reminders", f"off:{conv_id}")
    said = lambda: [t for t in texts(h, thread) if "リマインドを停止しました" in t]  # noqa: E731
    assert wait_until(said, timeout=20)
    assert wait_until(lambda: "🔔 リマインド再開" in json.dumps(h.slack.message(TRIAGE, thread).get("blocks"),
                                                           ensure_ascii=False))
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "リマインドを停止しました" in refused[0].args.get("text", "")  # it did wait
    assert len(said()) == 1
    assert not h.store.r.keys(h.store.keys.steps(item="*"))  # nothing left half done
