"""The ``[hours]``, ``[sla]``, ``[reminders]``, ``[assignment]`` and ``[[auto_replies]]`` sections of ``BRIDGE_CONFIG``.

Every section holds the deployment-wide values; a sub-table named after an account key
(``[hours.shibuya]``) overrides fields for that account only. Every problem is reported
as ``file:line: …`` and stops start-up (web and worker), like every section of the file.

```toml
[hours]
timezone = "Asia/Tokyo"         # IANA name; default Asia/Tokyo
holidays = "JP"                 # country of the national holidays (closed); "" = none
mon = ["10:00-12:00", "13:00-18:00"]   # several ranges per day; a day not listed is closed
tue = ["10:00-18:00"]
closed = ["2026-12-29", "2026-12-30"]  # custom closed days
special = { "2026-12-27" = ["10:00-15:00"] }  # special openings (win over holidays and closed days)
auto_reply = true               # outside hours: one auto-reply per closed period
auto_reply_text = "{name}様、…{next_open}…"   # optional; else the built-in ja/en text

[hours.shibuya]                 # another account's schedule: fields given here replace [hours]'s
sat = ["10:00-15:00"]           # (an account with no [hours] fields at all is always open)

[sla]
hours = 24                      # first-response target (business hours) of every open mark
escalate_factor = 2             # escalation at twice the target
mention_group = "S0123ABCD"     # Slack user group mentioned when nobody owns the conversation (else @here)
targets = { complaint = 1 }     # per mark key

[reminders]                     # 返信待ち reminders, pushed to the friend (counted messages)
enabled = true
weekday = "mon"
time = "10:00"
max = 3                         # per conversation, counted again after the friend writes
text = "{name}様、その後いかがでしょうか。"
catch_up_minutes = 360          # after downtime, a missed slot is still sent within this long

[assignment]                    # fair assignment (round-robin among the on-duty list)
on = ["new", "complaint"]       # new conversations, and unassigned ones given these marks
members = ["U0123ABCD", "U0456EFGH"]
duty_group = "S0123ABCD"        # and/or a Slack user group's members (usergroups.users.list, cached 5 min)
max_open = 10                   # skip people with this many open conversations (0 = no limit)
skip_away = true                # skip people whose Slack presence is away

[[auto_replies]]                # keyword auto-replies (応答メッセージ)
account = "default"             # optional: every account when missing
match = "contains"              # "exact" | "contains"
keywords = ["営業時間", "hours"]
text = "営業時間は平日10時〜18時です。"
```
"""
from __future__ import annotations

from bridge.config.automation_model import (
    ASSIGN_FIELDS, HOURS_FIELDS, REMINDER_FIELDS, SLA_FIELDS, AccountAutomation, AssignmentConfig, AutomationConfig,
    ReminderConfig,
)
from bridge.config.automation_sections import _assignment, _hours, _reminders, _rules, _sla, _split
from bridge.config.source import ConfigSource
from bridge.triage.marks import MarkSet


def parse_automation(src: ConfigSource, accounts: list[str], marks: MarkSet | None, errors: list[str]) -> AutomationConfig:
    """Every account's automation settings; problems are appended to ``errors`` (each once)."""
    data = src.data
    found: list[str] = []

    def where(section: str, key: str | None = None) -> str:
        return src.at(src.lines.line(section, key))

    tables = {}
    for name, fields in (("hours", HOURS_FIELDS), ("sla", SLA_FIELDS), ("reminders", REMINDER_FIELDS),
                         ("assignment", ASSIGN_FIELDS)):
        raw = data.get(name, {})
        if not isinstance(raw, dict):
            found.append(f"{where(name)}: `{name}` must be a table ([{name}])")
            raw = {}
        tables[name] = (name in data, *_split(raw, fields, accounts, name, where, found))
    rules = _rules(data.get("auto_replies", []), src, accounts, found)
    out: dict[str, AccountAutomation] = {}
    for account in accounts:
        _, base, per = tables["hours"]
        fields = {**base, **per.get(account, {})}
        hours = _hours(fields, bool(fields), f"hours.{account}" if account in per else "hours",
                       where, found)
        _, base, per = tables["sla"]
        sla = _sla({**base, **per.get(account, {})}, f"sla.{account}" if account in per else "sla", where, found, marks)
        present, base, per = tables["reminders"]
        reminders = (_reminders({**base, **per.get(account, {})}, f"reminders.{account}" if account in per else "reminders",
                                where, found) if present else ReminderConfig())
        present, base, per = tables["assignment"]
        section = f"assignment.{account}" if account in per else "assignment"
        assignment = (_assignment({**base, **per.get(account, {})}, section, where, found, marks)
                      if present else AssignmentConfig())
        out[account] = AccountAutomation(hours, sla, reminders,
                                         tuple(r for r in rules if not r.account or r.account == account), assignment)
    # the same base field is checked once per account: report each problem once
    errors.extend(dict.fromkeys(found))
    return AutomationConfig(out)
