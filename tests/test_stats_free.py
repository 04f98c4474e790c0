"""/stats: free (reply token) versus counted (push) replies per person and per month, and the quota
meter's forecast — at this month's pace, the day the month's quota runs out."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from bridge.model import Conversation
from bridge.runtime import Runtime
from bridge.slack_ui.quota import JST, forecast, forecast_lines
from bridge.store.meter import save_meter
from tests.conftest import HANAKO, STAFF, STAFF2, TRIAGE, cid, wait_until

DEC_10_NOON = datetime(2026, 12, 10, 12, tzinfo=JST).timestamp()


def stats(h, text: str = "month") -> str:
    resp = h.slack_sender.command("/stats", text, user_id=STAFF, channel_id=TRIAGE)
    assert resp.status_code == 200
    return json.dumps(resp.json(), ensure_ascii=False)


def test_the_forecast_extrapolates_this_months_pace():
    # 150 of 200 pushes by Dec 10 noon (9.5 days): 200 are reached after 12.67 days, on Dec 13.
    kind, runs_out, projected = forecast(150, 200, DEC_10_NOON)
    assert kind == "out" and datetime.fromtimestamp(runs_out, JST).strftime("%Y-%m-%d %H:%M") == "2026-12-13 16:00"
    assert projected == 489  # 150 × 31 / 9.5
    assert forecast(20, 200, DEC_10_NOON)[0] == "ok"        # 65 by the end of December
    assert forecast(200, 200, DEC_10_NOON)[0] == "reached"
    assert forecast(5000, None, DEC_10_NOON)[0] == ""       # no limit, nothing to forecast
    assert forecast(0, 200, datetime(2026, 12, 1, tzinfo=JST).timestamp())[0] == "ok"  # the first instant of a month
    (line,) = forecast_lines([("", {"used": 150, "limit": 200, "at": DEC_10_NOON})], "ja")
    assert "このペースだと今月の上限（200 通）に" in line and "|2026-12-13>" in line
    (line,) = forecast_lines([("", {"used": 20, "limit": 200, "at": DEC_10_NOON})], "en")
    assert "should stay within the quota" in line


def test_stats_counts_free_and_counted_replies_per_person_and_month_and_shows_the_forecast(h, settings):
    stats_of = Runtime(settings).domain.automation.stats
    conv = Conversation(conv_id=cid(HANAKO), source_type="user", number=1, account="default", line_id=HANAKO)
    now = datetime.now(JST)
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last_month = (this_month - timedelta(days=1)).replace(day=2)
    for n, via in enumerate(("reply", "reply", "reply", "push")):
        stats_of.delivered(conv, STAFF, via, this_month.timestamp() + 60, f"{TRIAGE}-{n}")
    stats_of.delivered(conv, STAFF2, "push", this_month.timestamp() + 120, f"{TRIAGE}-4")
    for n, via in enumerate(("reply", "reply")):
        stats_of.delivered(conv, STAFF, via, last_month.timestamp(), f"{TRIAGE}-{5 + n}")
    save_meter(h.store, "default", 200, 150, at=DEC_10_NOON)
    body = stats(h)
    assert "返信の内訳" in body
    assert f"{this_month:%Y-%m}: <@{STAFF}> 🆓3 🔢1  ·  <@{STAFF2}> 🆓0 🔢1" in body
    assert f"{last_month:%Y-%m}: <@{STAFF}> 🆓2 🔢0" in body
    assert body.index(f"{this_month:%Y-%m}:") < body.index(f"{last_month:%Y-%m}:")   # newest month first
    assert "このペースだと今月の上限（200 通）に" in body and "|2026-12-13>" in body
    save_meter(h.store, "default", 200, 20, at=DEC_10_NOON)
    assert "今月は上限内の見込み" in stats(h)


def test_delivered_staff_replies_are_recorded_as_free_or_counted(h, settings):
    h.friend_says(HANAKO, "営業時間を教えてください")
    thread = h.thread_of(HANAKO)
    h.staff_says(thread, "10時から19時です")      # the friend's reply token: free
    assert wait_until(lambda: h.line.delivered_texts(HANAKO) == ["10時から19時です"])
    h.staff_says(thread, "日曜は定休日です", user=STAFF2)  # the token was used: a push
    assert wait_until(lambda: len(h.line.delivered_texts(HANAKO)) == 2)
    stats_of = Runtime(settings).domain.automation.stats
    month = datetime.now(JST).strftime("%Y-%m")
    assert wait_until(lambda: sum(map(sum, stats_of.report(["default"], 7).replies.get(month, {}).values())) == 2)
    assert stats_of.report(["default"], 7).replies[month] == {STAFF: [1, 0], STAFF2: [0, 1]}
    body = stats(h, "")
    assert f"<@{STAFF}> 🆓1 🔢0" in body and f"<@{STAFF2}> 🆓0 🔢1" in body
