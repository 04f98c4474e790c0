"""App Home end to end: my open chats with links, counts per mark, overdue ones, the LINE quota,
and the on-duty switch that fair assignment honours; /stats and its chart (a PNG in the asker's DM)."""
from __future__ import annotations

import io
import json
import os
import time

import pytest
from PIL import Image

from bridge.automation import chart
from bridge.runtime import Runtime
from bridge.settings import Settings, SettingsError
from tests.conftest import HANAKO, STAFF, STAFF2, TARO, TRIAGE, wait_until
from tests.test_automation import FRIDAY_EVENING, friend_says_at, jst, set_now, settle


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


def recent(hours_ago: float) -> float:
    """A moment shortly before the real now: staff replies carry real Slack timestamps, so a report
    at real time must find the scenario inside its window whatever day the suite runs (the test
    bridge is open around the clock except on a past long weekend)."""
    return time.time() - hours_ago * 3600


def test_stats_first_response_resolution_and_breaches_in_business_hours(h, settings):
    opened = recent(3)
    set_now(h, opened)
    friend_says_at(h, HANAKO, "壊れていました", opened)
    thread = h.thread_of(HANAKO)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "rage")
    assert wait_until(lambda: h.conv(HANAKO).mark == "complaint")
    set_now(h, opened + 90 * 60)     # 1 h 30 min later: one breach of クレーム's 1 h (escalation at 2 h)
    assert wait_until(lambda: h.store.r.zcard(h.store.keys.sla_breaches(account="default")) == 1, timeout=20)
    h.staff_says(thread, "申し訳ございません")
    assert wait_until(lambda: h.conv(HANAKO).waiting_since == 0)
    h.slack_sender.reaction(STAFF, TRIAGE, thread, "white_check_mark")
    assert wait_until(lambda: h.conv(HANAKO).mark == "resolved")
    set_now(h, None)   # the staff reply is stamped with the real clock: report at real time
    # the records are written right after what the test waited for (the reply, the mark): wait until they
    # are in (reading the report: each /stats with data also queues a chart for the asker)
    stats_of = Runtime(settings).domain.automation.stats
    assert wait_until(lambda: (lambda r: (r.opened, r.resolved, r.breaches) == (1, 1, 1))(stats_of.report(["default"], 30)))
    body = stats(h, "month")
    assert "新規 1件 · 解決 1件 · SLA超過 1件" in body
    assert "直近30日" in body
    assert "初回応答: 中央値" in body and "（1件）" in body and f"<@{STAFF}>" in body
    assert "使い方" in stats(h, "year")
    assert wait_until(lambda: uploads_for(h, STAFF), timeout=20)   # its chart arrived (and cannot leak into the next test)


def uploads_for(h, user: str) -> list[dict]:
    return [m for m in h.slack.messages(h.slack.dm_channel(user)) if m.get("files")]


def bar_widths(img: Image.Image, color: tuple[int, int, int]) -> list[int]:
    """Widths of the bars of one colour, top to bottom (below the title and legend)."""
    px, widths, inside = img.load(), [], False
    for y in range(chart.TOP, img.height):
        width = sum(1 for x in range(chart.LEFT, img.width) if px[x, y] == color)
        if width and not inside:
            widths.append(width)
        elif width:
            widths[-1] = max(widths[-1], width)
        inside = bool(width)
    return widths


def test_stats_chart_is_uploaded_privately_with_a_bar_per_person(h, settings):
    body = stats(h, "week")                                 # nothing recorded yet: no chart, and it says so
    assert "グラフなし" in body and "DM で送ります" not in body
    settle(h)
    assert not uploads_for(h, STAFF)
    set_now(h, recent(5))
    friend_says_at(h, HANAKO, "壊れていました", recent(5))
    first = h.thread_of(HANAKO)
    set_now(h, recent(2))
    friend_says_at(h, TARO, "質問があります", recent(2))
    second = h.thread_of(TARO)
    set_now(h, None)   # staff replies are stamped with the real clock: report at real time
    h.staff_says(first, "お待たせしました")
    h.staff_says(second, "ご質問ありがとうございます", user=STAFF2)
    assert wait_until(lambda: h.conv(HANAKO).waiting_since == 0 and h.conv(TARO).waiting_since == 0)
    # each first response is recorded right after its reply stopped the waiting clock
    stats_of = Runtime(settings).domain.automation.stats
    assert wait_until(lambda: set(stats_of.report(["default"], 30).by_staff) == {STAFF, STAFF2})
    body = stats(h, "month")
    assert "DM で送ります" in body and "グラフなし" not in body
    assert wait_until(lambda: uploads_for(h, STAFF), timeout=20)
    message = uploads_for(h, STAFF)[0]
    assert "初回応答時間" in message.get("text", "")
    (f,) = message["files"]
    assert f["name"].endswith(".png")
    img = Image.open(io.BytesIO(h.slack.files[f["id"]]["content"]))
    assert img.format == "PNG"
    img = img.convert("RGB")
    assert img.width == chart.WIDTH and img.height == chart.TOP + 3 * chart.ROW + chart.BOTTOM  # team + 2 people
    # the bars are proportional to the report's values (team: median of both, p90 = the longer wait)
    rep = Runtime(settings).domain.automation.stats.report(["default"], 30)
    hanako_wait, taro_wait = rep.by_staff[STAFF][0].values[0], rep.by_staff[STAFF2][0].values[0]
    assert hanako_wait > taro_wait > 0
    expected_median = [(hanako_wait + taro_wait) / 2, hanako_wait, taro_wait]
    expected_p90 = [hanako_wait, hanako_wait, taro_wait]
    for color, values in ((chart.MEDIAN_COLOR, expected_median), (chart.P90_COLOR, expected_p90)):
        widths = bar_widths(img, color)
        assert len(widths) == 3, widths
        for width, value in zip(widths, values):
            assert abs(width - chart.BAR_AREA * value / hanako_wait) <= 2, (widths, values)
    assert not uploads_for(h, STAFF2)                       # only the person who asked gets it


def test_chart_labels_never_need_glyphs_the_font_lacks():
    latin = chart.ChartFont("", 15)                          # Pillow's built-in font: no CJK glyphs
    assert not latin.drawable("佐藤") and latin.drawable("sato (3)")
    assert chart.staff_labels("USTAFF01", lambda u: "佐藤", lambda u: "sato", latin) == ("sato", "USTAFF01")
    assert latin.pick("佐藤", "sato") == "sato" and latin.pick("チーム", "Team") == "Team"
    png = chart.render_chart([chart.ChartRow(("チーム", "Team"), 60, 120, 2)], 7, "ja", (latin, chart.ChartFont("", 19)))
    assert Image.open(io.BytesIO(png)).size == (chart.WIDTH, chart.TOP + chart.ROW + chart.BOTTOM)
    cjk = next((p for p in chart.CJK_FONTS if os.path.isfile(p)), None)
    if cjk:
        assert chart.ChartFont(cjk).drawable("佐藤 花子")


def test_chart_font_setting_fails_fast(bridge_env, tmp_path):
    with pytest.raises(SettingsError, match="BRIDGE_CHART_FONT"):
        Settings.from_env({**bridge_env, "BRIDGE_CHART_FONT": str(tmp_path / "missing.ttf")})
    junk = tmp_path / "junk.ttf"
    junk.write_bytes(b"not a font")
    with pytest.raises(SettingsError, match="not a font"):
        Settings.from_env({**bridge_env, "BRIDGE_CHART_FONT": str(junk)})
