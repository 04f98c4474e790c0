"""``python -m bridge.admin hours``: the business hours of the next days, per account."""
from __future__ import annotations

import sys

from bridge import clock
from bridge.automation.hours import Schedules, format_when, schedule_lines
from bridge.i18n import t


def print_hours(rt, account: str | None, days: int) -> int:
    lang = rt.settings.language
    keys = rt.accounts.keys()
    if account and account not in keys:
        print(f"unknown account {account!r} (accounts: {', '.join(keys)})", file=sys.stderr)
        return 2
    schedules = Schedules(rt.automation)
    now = clock.now()
    for key in [account] if account else keys:
        schedule = schedules.of(key)
        print(t("hours.admin.title", lang, account=key, tz=schedule.cfg.timezone))
        if not schedule.always_open:
            if schedule.is_open(now):
                print(t("hours.admin.now_open", lang, until=format_when(schedule.closes_at(now), schedule, lang)))
            else:
                opens = schedule.next_open(now)
                print(t("hours.admin.now_closed", lang,
                        next_open=format_when(opens, schedule, lang) if opens else t("hours.unknown_open", lang)))
        for line in schedule_lines(schedule, now, max(1, min(days, 366)), lang):
            print("  " + line)
        print()
    return 0
