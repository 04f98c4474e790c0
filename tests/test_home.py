"""App Home end to end: my open chats with links, counts per mark, overdue ones, the LINE quota,
and the on-duty switch that fair assignment honours."""
from __future__ import annotations

import json

from tests.conftest import HANAKO, STAFF, TRIAGE, wait_until
from tests.test_automation import FRIDAY_EVENING, friend_says_at, jst, set_now


def home_of(h, user: str) -> str:
    views = [v for v in h.slack.views.values() if v.get("type") == "home" and v.get("_user") == user]
    return json.dumps(views[-1]["blocks"], ensure_ascii=False) if views else ""


def open_home(h, user: str = STAFF) -> None:
    resp = h.slack_sender.send_event({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home",
                                      "event_ts": "1.0"})
    assert resp.status_code == 200


def press_duty(h, value: str, user: str = STAFF) -> None:
    sender = h.slack_sender
    payload = {"type": "block_actions", "user": sender._user_obj(user), "api_app_id": sender.api_app_id,
               "token": sender.verification_token, "container": {"type": "view", "view_id": "VHOME"},
               "trigger_id": "1.2.3", "team": sender._team_obj(),
               "actions": [{"type": "button", "action_id": "home_duty", "block_id": "b", "value": value,
                            "action_ts": "1.0", "text": {"type": "plain_text", "text": "x"}}]}
    assert sender._post_payload(payload).status_code == 200


def test_home_shows_my_chats_overdue_and_quota_and_switches_duty(h):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "壊れていました", FRIDAY_EVENING)
    thread = h.thread_of(HANAKO)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "raising_hand")
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: h.conv(HANAKO).assignee == STAFF and h.conv(HANAKO).mark == "complaint")
    set_now(h, jst(2026, 11, 24, 11, 30))
    open_home(h)
    assert wait_until(lambda: "自分の担当（未完了 1件）" in home_of(h, STAFF), timeout=20)
    home = home_of(h, STAFF)
    assert "#1 山田 花子" in home and ":rage: クレーム 1" in home
    assert "期限超過（自分の担当 1件）" in home and "⏰ 30分超過" in home
    assert "今月の LINE メッセージ通数" in home
    assert "🟢 *対応中*" in home
    press_duty(h, "off")
    assert wait_until(lambda: "⚪ *対応停止中*" in home_of(h, STAFF), timeout=20)
    assert h.store.r.hget(h.store.keys.duty(), STAFF) == "off"
    press_duty(h, "on")
    assert wait_until(lambda: "🟢 *対応中*" in home_of(h, STAFF), timeout=20)
    assert h.store.r.hget(h.store.keys.duty(), STAFF) is None


def stats(h, text: str = "") -> str:
    resp = h.slack_sender.command("/stats", text, user_id=STAFF, channel_id=TRIAGE)
    assert resp.status_code == 200
    return json.dumps(resp.json(), ensure_ascii=False)


def test_stats_first_response_resolution_and_breaches_in_business_hours(h):
    set_now(h, FRIDAY_EVENING)
    friend_says_at(h, HANAKO, "壊れていました", FRIDAY_EVENING)
    thread = h.thread_of(HANAKO)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: h.conv(HANAKO).mark == "complaint")
    set_now(h, jst(2026, 11, 24, 11, 30))     # Tuesday: 1 h 30 min of business hours later → one breach
    assert wait_until(lambda: h.store.r.zcard(h.store.keys.sla_breaches(account="default")) == 1, timeout=20)
    h.staff_says(thread, "申し訳ございません")
    assert wait_until(lambda: h.conv(HANAKO).waiting_since == 0)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "white_check_mark")
    assert wait_until(lambda: h.conv(HANAKO).mark == "resolved")
    set_now(h, None)   # the staff reply is stamped with the real clock: report at real time
    body = stats(h, "month")
    assert "直近30日" in body
    assert "新規 1件 · 解決 1件 · SLA超過 1件" in body
    assert "初回応答: 中央値" in body and "（1件）" in body and f"<@{STAFF}>" in body
    assert "使い方" in stats(h, "year")
