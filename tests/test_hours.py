"""Business hours (pure): schedule, holidays, DST, business-time arithmetic, config errors."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bridge.config import ConfigError, parse_config
from bridge.config.automation_model import AutomationConfig
from bridge.automation.hours import Schedule, format_when, schedule_lines
from bridge.triage.marks import default_marks

JST = ZoneInfo("Asia/Tokyo")
WEEKDAYS = "\n".join(f'{d} = ["10:00-12:00", "13:00-18:00"]' for d in ("mon", "tue", "wed", "thu", "fri"))


def automation_of(text: str, source: str, accounts: list[str]) -> AutomationConfig:
    return parse_config(text, source, accounts).automation


def jst(*args) -> float:
    return datetime(*args, tzinfo=JST).timestamp()


def schedule(extra: str = "", accounts=("default",), account="default") -> Schedule:
    cfg = automation_of(f"[hours]\n{WEEKDAYS}\n{extra}", "bridge.toml", list(accounts))
    return Schedule(cfg.of(account).hours)


def test_friday_evening_message_waits_for_monday_morning():
    s = schedule()
    friday_evening = jst(2026, 11, 27, 19, 30)       # Fri 27 Nov 2026, after closing
    assert not s.is_open(friday_evening)
    monday = jst(2026, 11, 30, 10, 0)
    assert s.next_open(friday_evening) == monday
    # the weekend does not count toward a first-response target
    assert s.business_seconds(friday_evening, jst(2026, 11, 30, 11, 0)) == 3600
    assert s.add_business(friday_evening, 3600) == jst(2026, 11, 30, 11, 0)
    # a 24 h target is more than three business days (7 h a day): due Thu 14:00
    assert s.add_business(friday_evening, 24 * 3600) == jst(2026, 12, 3, 14, 0)
    # lunch break is closed
    assert not s.is_open(jst(2026, 11, 30, 12, 30))
    assert s.business_seconds(jst(2026, 11, 30, 11, 0), jst(2026, 11, 30, 14, 0)) == 2 * 3600


def test_national_holiday_is_closed_by_the_library():
    s = schedule()
    # Mon 23 Nov 2026 is 勤労感謝の日
    friday = jst(2026, 11, 20, 18, 30)
    assert not s.is_open(jst(2026, 11, 23, 11, 0))
    assert s.next_open(friday) == jst(2026, 11, 24, 10, 0)
    ranges, why, name = s.day_rule(datetime(2026, 11, 23).date())
    assert ranges == () and why == "holiday" and "勤労感謝" in name
    # Golden Week 2026: 3 Sun, 4 Mon, 5 Tue, 6 Wed (振替休日)
    assert s.next_open(jst(2026, 5, 1, 19, 0)) == jst(2026, 5, 7, 10, 0)


def test_custom_closed_days_and_special_openings():
    s = schedule('closed = ["2026-12-29", "2026-12-30"]\nspecial = { "2026-11-23" = ["10:00-15:00"], "2026-12-05" = ["09:00-11:00"] }')
    assert not s.is_open(jst(2026, 12, 29, 11, 0))
    assert s.is_open(jst(2026, 11, 23, 14, 0))          # special opening on a holiday
    assert not s.is_open(jst(2026, 11, 23, 16, 0))
    assert s.is_open(jst(2026, 12, 5, 9, 30))            # a Saturday
    assert s.next_open(jst(2026, 12, 28, 19, 0)) == jst(2026, 12, 31, 10, 0)


def test_subtract_business_is_the_inverse_of_add():
    s = schedule()
    start = jst(2026, 11, 27, 17, 0)
    for seconds in (600, 3600, 5 * 3600, 24 * 3600):
        deadline = s.add_business(start, seconds)
        assert s.business_seconds(start, deadline) == pytest.approx(seconds)
        assert s.subtract_business(deadline, seconds) == pytest.approx(start)


def test_dst_timezone_counts_real_hours():
    cfg = automation_of('[hours]\ntimezone = "America/New_York"\nholidays = ""\n'
                           'sat = ["00:00-24:00"]\nsun = ["00:00-24:00"]', "b.toml", ["default"])
    s = Schedule(cfg.of("default").hours)
    ny = ZoneInfo("America/New_York")
    # 2026-11-01: clocks go back at 02:00, Sunday has 25 hours
    sunday = datetime(2026, 11, 1, 0, 0, tzinfo=ny).timestamp()
    monday = datetime(2026, 11, 2, 0, 0, tzinfo=ny).timestamp()
    assert s.business_seconds(sunday, monday) == 25 * 3600
    assert s.is_open(datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ny).timestamp())
    assert not s.is_open(monday + 60)
    assert s.next_open(monday + 60) == datetime(2026, 11, 7, 0, 0, tzinfo=ny).timestamp()
    # JST has no DST: the week US clocks move forward still has five days of 7 hours
    j = schedule()
    assert j.business_seconds(jst(2026, 3, 9, 0, 0), jst(2026, 3, 14, 0, 0)) == 5 * 7 * 3600


def test_without_hours_always_open_and_wall_clock():
    cfg = automation_of("", "b.toml", ["default"])
    s = Schedule(cfg.of("default").hours)
    assert s.always_open and s.is_open(0) and s.business_seconds(100, 200) == 100
    assert s.subtract_business(1000, 100) == 900


def test_per_account_override_and_always_open_account():
    text = f'[hours]\n{WEEKDAYS}\n[hours.shop]\nsat = ["10:00-15:00"]\n'
    cfg = automation_of(text, "b.toml", ["default", "shop"])
    sat = jst(2026, 12, 5, 11, 0)
    assert not Schedule(cfg.of("default").hours).is_open(sat)
    assert Schedule(cfg.of("shop").hours).is_open(sat)
    assert Schedule(cfg.of("shop").hours).is_open(jst(2026, 12, 7, 11, 0))   # inherits the weekdays
    only = automation_of('[hours.shop]\nmon = ["10:00-18:00"]\n', "b.toml", ["default", "shop"])
    assert only.of("default").hours.configured is False


def test_admin_schedule_lines_and_formatting():
    s = schedule()
    lines = schedule_lines(s, jst(2026, 11, 20, 9, 0), 4, "ja")
    assert lines[0] == "2026-11-20 (金)  10:00-12:00, 13:00-18:00"
    assert lines[1] == "2026-11-21 (土)  休業"
    assert lines[3].startswith("2026-11-23 (月)  休業  [祝日: 勤労感謝")
    assert format_when(jst(2026, 11, 24, 10, 0), s, "ja") == "11月24日(火) 10:00"
    assert format_when(jst(2026, 11, 24, 10, 0), s, "en") == "Tue 24 Nov 10:00"


def test_config_errors_name_file_and_line():
    text = """[hours]
timezone = "Mars/Olympus"
mon = ["18:00-10:00"]
tue = ["10:00-12:00", "11:00-13:00"]
holidays = "XX"
auto_reply_text = "{nmae}様"
colour = "blue"

[hours.nosuch]
mon = ["10:00-18:00"]

[sla]
targets = { nosuch = 1 }
mention_group = "here"

[reminders]
weekday = "someday"
time = "25:00"

[[auto_replies]]
match = "regex"
keywords = []
text = "x"
"""
    with pytest.raises(ConfigError) as err:
        automation_of(text, "bridge.toml", ["default"])
    errors = "\n".join(err.value.errors)
    for expected in ("bridge.toml:2: [hours] timezone: unknown time zone 'Mars/Olympus'",
                     "bridge.toml:3: [hours] mon: bad range '18:00-10:00'",
                     "bridge.toml:4: [hours] tue: ranges overlap",
                     "bridge.toml:5: [hours] holidays: no holiday calendar for 'XX'",
                     "bridge.toml:6: [hours] auto_reply_text: unknown placeholder {nmae}",
                     "bridge.toml:7: unknown field `colour` in [hours]",
                     "bridge.toml:9: [hours.nosuch]: no account has the key 'nosuch'",
                     "bridge.toml:13: [sla] targets: no mark has the key 'nosuch'",
                     "bridge.toml:14: [sla] mention_group: must be a Slack user group ID",
                     "bridge.toml:17: [reminders] weekday",
                     "bridge.toml:18: [reminders] time",
                     "bridge.toml:21: [[auto_replies]] #1 match",
                     "bridge.toml:22: [[auto_replies]] #1 keywords"):
        assert expected in errors, f"{expected!r} not in\n{errors}"


def test_sla_targets_default_24h_and_complaint_1h():
    cfg = automation_of("", "b.toml", ["default"]).of("default").sla
    assert cfg.target_seconds("needs_reply") == 24 * 3600
    assert cfg.target_seconds("complaint") == 3600
    cfg = automation_of("[sla]\nhours = 8\ntargets = { inquiry = 48 }", "b.toml", ["default"]).of("default").sla
    assert cfg.target_seconds("needs_reply") == 8 * 3600 and cfg.target_seconds("inquiry") == 48 * 3600
    assert cfg.target_seconds("complaint") == 3600


def test_keyword_rules_exact_and_contains():
    text = """[[auto_replies]]
match = "exact"
keywords = ["営業時間"]
text = "平日10時〜18時です"

[[auto_replies]]
account = "shop"
match = "contains"
keyword = "予約"
text = "ご予約はこちら"
"""
    cfg = automation_of(text, "b.toml", ["default", "shop"])
    assert [r.text for r in cfg.of("default").rules] == ["平日10時〜18時です"]
    rules = cfg.of("shop").rules
    assert rules[0].matches(" 営業時間 ") and not rules[0].matches("営業時間は？")
    assert rules[1].matches("予約したいです") and not rules[1].matches("キャンセル")


def test_stats_count_business_hours_median_and_p90():
    import json

    from bridge.automation.stats import Stats, render_report

    s = schedule()

    class FakeState:
        def __init__(self):
            fri = jst(2026, 11, 27, 19, 0)
            mon = jst(2026, 11, 30, 10, 0)
            self.rows = {
                "opened": [("{}", fri), ("{}", mon)],
                "response": [(json.dumps({"staff": "U1", "from": fri}), jst(2026, 11, 30, 11, 0)),      # 1 h
                             (json.dumps({"staff": "U2", "from": mon}), jst(2026, 11, 30, 10, 30)),     # 30 min
                             (json.dumps({"staff": "U1", "from": mon}), jst(2026, 11, 30, 14, 0))],     # 3 h (lunch)
                "resolved": [(json.dumps({"staff": "U1", "from": fri}), jst(2026, 12, 1, 10, 0))],      # 7 h
            }

        def stats_between(self, account, kind, since, until):
            return [r for r in self.rows.get(kind, []) if since <= r[1] <= until]  # kinds not seeded: none

        def breaches(self, account, since, until):
            return [("x", jst(2026, 11, 30, 12, 0))]

    class OneSchedule:
        def of(self, account):
            return s

    rep = Stats(FakeState(), OneSchedule()).report(["default"], 7, now=jst(2026, 12, 2, 12, 0))
    assert rep.opened == 2 and rep.resolved == 1 and rep.breaches == 1
    assert sorted(rep.response.values) == [1800, 3600, 3 * 3600]
    assert rep.resolution.values == [7 * 3600]
    assert sorted(rep.by_staff) == ["U1", "U2"]
    _, blocks = render_report(rep, "ja")
    text = json.dumps(blocks, ensure_ascii=False)
    assert "中央値 1時間 · p90 3時間（3件）" in text and "新規 2件 · 解決 1件 · SLA超過 1件" in text


def test_admin_hours_prints_the_next_14_days(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    config = tmp_path / "bridge.toml"
    config.write_text(f'[hours]\n{WEEKDAYS}\nspecial = {{ "2026-11-21" = ["10:00-15:00"] }}\n', encoding="utf-8")
    env = {**os.environ, "BRIDGE_CONFIG": str(config), "BRIDGE_TEST_CLOCK": "1",
           "BRIDGE_FAKE_NOW": str(jst(2026, 11, 20, 19, 0)), "LINE_CHANNEL_SECRET": "s", "LINE_CHANNEL_ACCESS_TOKEN": "t",
           "SLACK_TRIAGE_CHANNEL": "CTRIAGE01", "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_SIGNING_SECRET": "x",
           "REDIS_URL": "redis://127.0.0.1:1/0", "PUBLIC_BASE_URL": "http://x", "BRIDGE_LANGUAGE": "ja"}
    out = subprocess.run([sys.executable, "-m", "bridge.admin", "hours"], env=env, capture_output=True, text=True,
                         cwd=Path(__file__).resolve().parents[1], timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "アカウント default の営業時間（Asia/Tokyo）"
    assert lines[1] == "現在: 営業時間外（次の営業開始 11月21日(土) 10:00）"
    days = [line for line in lines if line.startswith("  20")]
    assert len(days) == 14
    assert days[1] == "  2026-11-21 (土)  10:00-15:00  [特別営業日]"
    assert days[3].startswith("  2026-11-23 (月)  休業  [祝日:")


def test_no_auto_reply_with_tokens_that_belong_to_another_tool_or_in_standby():
    from bridge.accounts import Account, AccountSet
    from bridge.automation.autoreply import AutoReply
    from bridge.automation.hours import Schedules
    from bridge.model import Conversation, InboundMessage
    from bridge.services import Services
    from bridge.settings import Settings

    cfg = automation_of(f"[hours]\n{WEEKDAYS}\n[[auto_replies]]\nkeyword = \"hi\"\ntext = \"hello\"\n",
                           "b.toml", ["default", "lstep"])
    settings = Settings(slack_bot_token="xoxb-x", slack_signing_secret="x", redis_url="redis://x", public_base_url="http://x")
    accounts = AccountSet([Account("default", "A", "C1", "s1", "t1"), Account("lstep", "B", "C2", "s2", "t2", reply_token="other")])

    class NoLine:
        def of(self, account):
            raise AssertionError("LINE must not be called")

    services = Services(settings, accounts, None, None, NoLine(), default_marks(), None, None)
    auto = AutoReply(services, cfg, Schedules(cfg))
    friday_night = jst(2026, 11, 27, 22, 0)

    def msg(account, **kw):
        return InboundMessage(account=account, conv_id=f"{account}-U1", line_id="U1", source_type="user", sender_id="U1",
                              kind="text", text="hi", reply_token="tok", webhook_event_id="E1", **kw)

    conv = Conversation(conv_id="lstep-U1", source_type="user", number=1, account="lstep", line_id="U1")
    assert auto.on_friend_message(conv, msg("lstep"), friday_night) is False
    conv.account, conv.conv_id = "default", "default-U1"
    assert auto.on_friend_message(conv, msg("default", standby=True), friday_night) is False
