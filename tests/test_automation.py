"""Business hours, auto-replies and SLA alerts end to end (web app + 2 rq workers + emulators).

The test bridge's config (tests/fixtures/automation.toml) is closed from Fri 20 Nov 2026 18:00
JST to Tue 24 Nov 10:00; tests move every process there with the shared test clock.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bridge import clock
from bridge.runtime import Runtime
from tests.conftest import HANAKO, STAFF, TARO, TRIAGE, cid, shown_texts, wait_until

JST = ZoneInfo("Asia/Tokyo")


def jst(*args) -> float:
    return datetime(*args, tzinfo=JST).timestamp()


FRIDAY_EVENING = jst(2026, 11, 20, 19, 0)


def set_now(h, when: float | None) -> None:
    clock.set_fake_now(h.store.r, h.store.keys.clock(), when)


def friend_says_at(h, user: str, text: str, when: float) -> dict:
    event = h.webhooks.text(user, text)
    event["timestamp"] = int(when * 1000)
    resp = h.send_line(event)
    assert resp.status_code == 200, resp.text
    return event


def texts(h, thread: str) -> list[str]:
    return shown_texts(h.slack, thread)  # the parent's first messages, then the thread's (waiting ones share a post)


def parent(h, thread: str) -> str:
    return json.dumps(h.slack.message(TRIAGE, thread).get("blocks"), ensure_ascii=False)


def replies_to(h, user: str) -> list[str]:
    return [m["text"] for d in h.line.deliveries if d.via == "reply" and user in d.to for m in d.messages]


def settle(h) -> None:
    """Every stream drained and both queues empty."""
    queues = [f"rq:queue:{h.settings.queue_name}", f"rq:queue:{h.settings.low_queue_name}"]
    assert wait_until(lambda: not any(h.store.r.scan_iter(match=h.store.keys.prefix + "inbox:*", count=1000))
                      and not any(h.store.r.llen(q) for q in queues), timeout=20)


@pytest.fixture()
def rt(settings):
    return Runtime(settings)


def set_mark(h, thread: str, emoji: str, key: str, user: str = HANAKO) -> None:
    h.slack_sender.reaction(STAFF, TRIAGE, thread, emoji)
    assert wait_until(lambda: h.conv(user).mark == key)


# -- business hours and auto-replies ------------------------------------------------------------

def test_friday_evening_message_gets_one_auto_reply_until_tuesday(h):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "こんばんは", FRIDAY_EVENING)
    thread = h.thread_of(HANAKO)
    # the friend got the closed-hours text with the reply token (free), naming the next opening
    assert h.line.wait_for(lambda emu: replies_to(h, HANAKO))
    reply = replies_to(h, HANAKO)[0]
    assert "山田 花子様" in reply and "11月24日(火) 10:00" in reply
    # the thread says so, after the friend's message
    assert wait_until(lambda: any("営業時間外の自動応答を送信しました" in t for t in texts(h, thread)))
    assert texts(h, thread)[0] == "こんばんは"
    # the parent shows 営業時間外 while closed
    assert wait_until(lambda: "営業時間外（次の営業開始 11月24日(火) 10:00）" in parent(h, thread))

    # more messages in the same closed period (Saturday): no second auto-reply
    saturday = jst(2026, 11, 21, 9, 0)
    set_now(h, saturday)
    friend_says_at(h, HANAKO, "まだですか", saturday)
    assert wait_until(lambda: "まだですか" in texts(h, thread))
    settle(h)
    assert len(replies_to(h, HANAKO)) == 1
    assert sum("自動応答" in t for t in texts(h, thread)) == 1

    # Tuesday, open: the parent drops 営業時間外 (refreshed at opening), no auto-reply any more
    tuesday = jst(2026, 11, 24, 10, 5)
    set_now(h, tuesday)
    assert wait_until(lambda: "営業時間外" not in parent(h, thread), timeout=45)
    friend_says_at(h, HANAKO, "おはようございます", tuesday)
    assert wait_until(lambda: "おはようございます" in texts(h, thread))
    settle(h)
    assert len(replies_to(h, HANAKO)) == 1


def test_each_conversation_gets_its_own_auto_reply_once_per_closed_period(h):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, TARO, "hello", FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "こんばんは", FRIDAY_EVENING + 60)
    friend_says_at(h, TARO, "anyone?", FRIDAY_EVENING + 120)
    assert h.line.wait_for(lambda emu: replies_to(h, TARO) and replies_to(h, HANAKO))
    taro = h.thread_of(TARO)
    assert wait_until(lambda: "anyone?" in texts(h, taro))
    settle(h)
    assert len(replies_to(h, TARO)) == 1 and len(replies_to(h, HANAKO)) == 1
    # the closed period is identified by its end (the next opening)
    keys = list(h.store.r.scan_iter(match=h.store.keys.closed_reply(conv_id=cid(TARO), period="*")))
    assert len(keys) == 1 and keys[0].endswith(str(int(jst(2026, 11, 24, 10, 0))))


def test_keyword_auto_reply_and_never_when_someone_handles_it(h):
    friend_says_at(h, HANAKO, "営業時間を教えて", clock.now())
    thread = h.thread_of(HANAKO)
    assert h.line.wait_for(lambda emu: replies_to(h, HANAKO))
    assert replies_to(h, HANAKO) == ["山田 花子様、営業時間は平日10時〜18時です。"]
    assert wait_until(lambda: any("キーワード応答メッセージを送信しました" in t for t in texts(h, thread)))
    # somebody claims the chat: the keyword is no longer answered automatically
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "raising_hand")
    assert wait_until(lambda: h.conv(HANAKO).assignee == STAFF)
    friend_says_at(h, HANAKO, "営業時間を教えて", clock.now())
    assert wait_until(lambda: texts(h, thread).count("営業時間を教えて") == 2)
    settle(h)
    assert len(replies_to(h, HANAKO)) == 1
    # …and the staff reply can still use the fresh reply token of that message
    h.staff_says(thread, "10時からです")
    assert h.line.wait_for(lambda emu: "10時からです" in replies_to(h, HANAKO))


def test_the_thread_shows_an_auto_reply_even_when_slack_makes_that_line_wait(h):
    """The keyword auto-reply goes to LINE first, then the thread shows what was sent. When Slack
    refuses that line (429: wait for the channel's turn), the line used to be dropped for good (and
    the reply token it had used was kept for staff). Now the friend's item is retried: the line
    comes once, and the friend still gets one auto-reply."""
    friend_says_at(h, HANAKO, "こんにちは", clock.now())
    thread = h.thread_of(HANAKO)
    h.settle()
    # The auto-reply is held at LINE a moment: the thread's next post is then surely its line.
    h.line.fail_next("replyMessage", 0, delay=2)
    friend_says_at(h, HANAKO, "営業時間を教えて", clock.now())
    assert h.line.wait_for(lambda emu: emu.requests_for("replyMessage"))
    h.slack.fail_next("chat.postMessage", 429, retry_after=1)
    said = lambda: [t for t in texts(h, thread) if "キーワード応答メッセージを送信しました" in t]  # noqa: E731
    assert wait_until(said, timeout=20)
    h.settle()
    refused = [c for c in h.slack.calls_for("chat.postMessage") if c.status == 429]
    assert len(refused) == 1 and "キーワード応答メッセージ" in refused[0].args.get("text", "")  # it did wait
    assert len(said()) == 1
    assert replies_to(h, HANAKO) == ["山田 花子様、営業時間は平日10時〜18時です。"]
    used = h.line.requests_for("replyMessage")[0].json["replyToken"]
    assert h.conv(HANAKO).reply_token != used  # taken by the auto-reply: not offered to staff's reply


def test_open_hours_plain_message_gets_no_auto_reply(h):
    friend_says_at(h, HANAKO, "こんにちは", clock.now())
    thread = h.thread_of(HANAKO)
    assert wait_until(lambda: "こんにちは" in texts(h, thread))
    settle(h)
    assert replies_to(h, HANAKO) == []
    assert "営業時間外" not in parent(h, thread)


# -- SLA ------------------------------------------------------------------------------------

def complaint_on_friday(h, user=HANAKO):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, user, "届いた商品が壊れていました", FRIDAY_EVENING)
    thread = h.thread_of(user)
    set_mark(h, thread, "rage", "complaint", user)
    return thread


def alerts(h, thread: str, marker: str = "⏰ 初回応答の目標") -> list[str]:
    return [t for t in texts(h, thread) if marker in t]


def test_complaint_alert_counts_business_hours_once_then_escalates_and_clears(h, rt):
    thread = complaint_on_friday(h)
    # Tuesday 10:50: 50 business minutes since opening — within the 1 h target
    set_now(h, jst(2026, 11, 24, 10, 50))
    rt.domain.automation.sweep(clock.now())
    settle(h)
    assert alerts(h, thread) == []
    # 11:05: past the target → one alert mentioning @here (nobody owns it)
    set_now(h, jst(2026, 11, 24, 11, 5))
    assert wait_until(lambda: alerts(h, thread), timeout=20)
    assert "<!here>" in alerts(h, thread)[0] and "1時間" in alerts(h, thread)[0]
    assert wait_until(lambda: "⏰ 期限超過" in parent(h, thread), timeout=20)
    for _ in range(3):  # however often it sweeps, the breach is alerted once
        rt.domain.automation.sweep(clock.now())
    settle(h)
    assert len(alerts(h, thread)) == 1
    # someone claims; at 12:05 (twice the target) the escalation mentions them, once
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "raising_hand")
    assert wait_until(lambda: h.conv(HANAKO).assignee == STAFF)
    set_now(h, jst(2026, 11, 24, 12, 5))
    assert wait_until(lambda: alerts(h, thread, "🚨 エスカレーション"), timeout=20)
    assert f"<@{STAFF}>" in alerts(h, thread, "🚨")[0]
    rt.domain.automation.sweep(clock.now())
    settle(h)
    assert len(alerts(h, thread, "🚨")) == 1 and len(alerts(h, thread)) == 1
    # a staff reply clears it: no ⏰ any more, no further alerts
    h.staff_says(thread, "大変申し訳ございません")
    assert wait_until(lambda: h.conv(HANAKO).waiting_since == 0)
    assert wait_until(lambda: "⏰ 期限超過" not in parent(h, thread), timeout=20)
    set_now(h, jst(2026, 11, 25, 12, 0))
    rt.domain.automation.sweep(clock.now())
    settle(h)
    assert len(alerts(h, thread)) == 1 and len(alerts(h, thread, "🚨")) == 1


def test_racing_sweeps_alert_each_breach_once(h, settings):
    thread = complaint_on_friday(h)
    set_now(h, jst(2026, 11, 24, 11, 30))
    runtimes = [Runtime(settings) for _ in range(6)]
    barrier = threading.Barrier(len(runtimes))

    def race(r):
        barrier.wait()
        r.domain.automation.sweep(jst(2026, 11, 24, 11, 30))

    threads = [threading.Thread(target=race, args=(r,)) for r in runtimes]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wait_until(lambda: alerts(h, thread), timeout=20)
    settle(h)
    assert len(alerts(h, thread)) == 1


def test_worker_killed_between_queueing_and_firing_still_alerts_once(h, settings):
    thread = complaint_on_friday(h)
    now = jst(2026, 11, 24, 11, 30)
    # a sweep that dies right after accepting the alert (before enqueueing its drain job)
    dying = Runtime(settings)

    class Killed(Exception):
        pass

    def die(*args, **kwargs):
        raise Killed()

    dying.queue.enqueue = die
    settle(h)
    try:
        dying.domain.automation.sweep(now)
    except Killed:   # it accepted the alert and died before queueing its drain (unless a worker's
        pass         # own sweep got there first: the alert must still go out exactly once)
    # the workers' next sweeps find the accepted breach and kick its stream: alerted once
    set_now(h, now)
    assert wait_until(lambda: alerts(h, thread), timeout=20)
    settle(h)
    assert len(alerts(h, thread)) == 1


def test_catching_up_after_downtime_one_alert_per_breach(h, rt):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "壊れていました", FRIDAY_EVENING)
    friend_says_at(h, TARO, "質問です", FRIDAY_EVENING)
    hanako, taro = h.thread_of(HANAKO), h.thread_of(TARO)
    set_mark(h, hanako, "rage", "complaint", HANAKO)
    set_mark(h, taro, "rage", "complaint", TARO)
    # Taro is answered before the bridge goes down
    h.staff_says(taro, "確認します")
    assert wait_until(lambda: h.conv(TARO).waiting_since == 0)
    # the bridge was "down" from Friday; it comes back Tuesday 15:00, 5 business hours later
    set_now(h, jst(2026, 11, 24, 15, 0))
    assert wait_until(lambda: alerts(h, hanako, "🚨"), timeout=20)
    for _ in range(2):
        rt.domain.automation.sweep(clock.now())
    settle(h)
    # one message for Hanako's breach (the escalation, not alert + escalation), none for Taro
    assert len(alerts(h, hanako, "🚨")) == 1 and alerts(h, hanako) == []
    assert alerts(h, taro) == [] and alerts(h, taro, "🚨") == []


def pending(h, text: str = "") -> str:
    resp = h.slack_sender.command("/pending", text, user_id=STAFF, channel_id=TRIAGE)
    assert resp.status_code == 200
    return json.dumps(resp.json(), ensure_ascii=False)


def test_pending_shows_closed_hours_time_left_and_overdue_filter(h):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "壊れていました", FRIDAY_EVENING)
    friend_says_at(h, TARO, "質問です", FRIDAY_EVENING)
    set_mark(h, h.thread_of(HANAKO), "rage", "complaint", HANAKO)
    assert wait_until(lambda: h.conv(TARO) is not None and h.conv(TARO).thread_ts)
    # Saturday: closed; nothing counts yet
    set_now(h, jst(2026, 11, 21, 12, 0))
    body = pending(h)
    assert "🌙 営業時間外（次の営業開始 11月24日(火) 10:00）" in body
    assert "残り 1時間" in body and "残り 1日" in body        # クレーム 1 h, 要対応 24 h, in business hours
    # Tuesday 11:30: the complaint is 30 min over; Taro's 要対応 still has 22 h 30 min
    set_now(h, jst(2026, 11, 24, 11, 30))
    body = pending(h)
    assert "営業時間外" not in body
    assert "⏰ 30分超過" in body and "残り 22時間30分" in body
    overdue = pending(h, "overdue")
    assert "⏰ 期限超過のみ" in overdue and "山田 花子" in overdue and "Taro Tanaka" not in overdue
    assert "Taro Tanaka" not in pending(h, "期限超過")
    assert "山田 花子" not in pending(h, "overdue mine")


def test_a_parent_shown_closed_loses_its_badge_at_opening_even_if_no_sweep_saw_the_closed_period(ip):
    """The bridge was down (or its sweep late) for the whole closed period: the first sweep after
    opening still refreshes the parents that were rendered 🌙 営業時間外."""
    from bridge import clock

    def parent_blocks() -> str:
        return json.dumps(ip.slack.message(TRIAGE, ip.conv(HANAKO).thread_ts).get("blocks"), ensure_ascii=False)

    clock.set_fake_now(ip.store.r, ip.store.keys.clock(), FRIDAY_EVENING)
    ip.friend_says(HANAKO, "こんばんは")
    assert "営業時間外" in parent_blocks()
    assert ip.store.r.hgetall(ip.store.keys.hours_state()) == {}      # no sweep ran while closed
    tuesday = jst(2026, 11, 24, 10, 5)
    clock.set_fake_now(ip.store.r, ip.store.keys.clock(), tuesday)
    assert ip.domain.automation.sweep(tuesday)["refreshed"] == 1
    assert "営業時間外" not in parent_blocks()
    assert ip.domain.automation.sweep(tuesday + 60)["refreshed"] == 0  # once
