"""The parsed automation configuration (see :mod:`bridge.config.automation`)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE_RE = re.compile(r"^(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})$")
_TIME_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_GROUP_RE = re.compile(r"^S[A-Z0-9]{2,}$")
_PLACEHOLDERS = {"name", "next_open", "number"}

HOURS_FIELDS = {"timezone", "holidays", "closed", "special", "auto_reply", "auto_reply_text", *DAYS}
SLA_FIELDS = {"enabled", "hours", "escalate_factor", "mention_group", "targets"}
REMINDER_FIELDS = {"enabled", "weekday", "time", "max", "text", "catch_up_minutes"}
RULE_FIELDS = {"account", "match", "keywords", "keyword", "text"}
ASSIGN_FIELDS = {"enabled", "on", "members", "duty_group", "max_open", "skip_away"}
_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")


@dataclass(frozen=True)
class HoursConfig:
    configured: bool = False            # False: always open (no [hours] section)
    timezone: str = "Asia/Tokyo"
    holidays: str = "JP"
    weekly: tuple[tuple[tuple[int, int], ...], ...] = ((),) * 7   # minutes since midnight, per weekday (Mon=0)
    closed: frozenset[date] = frozenset()
    special: tuple[tuple[date, tuple[tuple[int, int], ...]], ...] = ()
    auto_reply: bool = True
    auto_reply_text: str = ""


@dataclass(frozen=True)
class SlaConfig:
    enabled: bool = True
    hours: float = 24.0
    escalate_factor: float = 2.0
    mention_group: str = ""
    targets: tuple[tuple[str, float], ...] = (("complaint", 1.0),)

    def target_seconds(self, mark: str) -> float:
        return dict(self.targets).get(mark, self.hours) * 3600.0


@dataclass(frozen=True)
class ReminderConfig:
    enabled: bool = False
    weekday: int = 0
    minute: int = 600
    max: int = 3
    text: str = ""
    catch_up: float = 6 * 3600.0   # a bridge down at the slot still reminds within this long after it


@dataclass(frozen=True)
class AutoReplyRule:
    account: str
    match: str
    keywords: tuple[str, ...]
    text: str

    def matches(self, text: str) -> bool:
        body = text.strip()
        if self.match == "exact":
            return any(body == k for k in self.keywords)
        return any(k in body for k in self.keywords)


@dataclass(frozen=True)
class AssignmentConfig:
    enabled: bool = False
    new: bool = True                    # new conversations
    marks: tuple[str, ...] = ()         # …and unassigned conversations given one of these marks
    members: tuple[str, ...] = ()       # the on-duty list (Slack user ids), in rotation order
    duty_group: str = ""                # …and/or a Slack user group whose members follow (usergroups.users.list)
    max_open: int = 0                   # skip people with this many open conversations (0 = no limit)
    skip_away: bool = True              # skip people whose Slack presence is away


@dataclass(frozen=True)
class AccountAutomation:
    hours: HoursConfig = HoursConfig()
    sla: SlaConfig = SlaConfig()
    reminders: ReminderConfig = ReminderConfig()
    rules: tuple[AutoReplyRule, ...] = ()
    assignment: AssignmentConfig = AssignmentConfig()


@dataclass(frozen=True)
class AutomationConfig:
    by_account: dict[str, AccountAutomation] = field(default_factory=dict)

    def of(self, account: str) -> AccountAutomation:
        return self.by_account.get(account) or self.by_account.get("*") or AccountAutomation()
