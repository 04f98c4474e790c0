"""``/stats [week|month]``: first-response and resolution times (median, p90) per staff member and
for the team, conversations opened and resolved, SLA breaches — all in business hours.

Recorded as they happen (one ZADD each, per account, scored by time):

* ``opened``: a friend's first message of a new conversation, or one that reopens 対応済み;
* ``response``: a staff reply that stopped the waiting clock (who, waiting since, replied at);
* ``resolved``: 対応済み set by someone (who, the episode's opening time, resolved at);
* SLA breaches come from ``sla-breaches:<account>`` (written by the alerts);
* ``delivered``: a staff reply that reached LINE (who, ``via`` reply = free or push = counted),
  shown per person for this month and the last (Japan time, as LINE counts its quota);
* ``follow``: a friend added the account (written by the relay, :mod:`bridge.store.follows`, in
  both follow modes): new friends per day, though a quiet follow opens no conversation.

Reading a period is one ZRANGEBYSCORE per kind and account; the business-time arithmetic
runs on the records of the period only.
"""
from __future__ import annotations

import json
import logging
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime

from bridge import clock
from bridge.automation.chart import ChartRow, load_fonts, render_chart, staff_labels
from bridge.humanize import waited
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, RetryLater
from bridge.services import Component, Services
from bridge.slack_ui.quota import JST, month_bounds
from bridge.store.automation import AutomationStore

log = logging.getLogger(__name__)

PERIODS = {"week": 7, "month": 30, "週": 7, "月": 30, "": 7}


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(0.9 * (len(ordered) - 1)))))]


@dataclass
class Durations:
    values: list[float] = field(default_factory=list)

    def summary(self) -> tuple[float, float, int]:
        """(median, p90, count) of non-empty durations."""
        return statistics.median(self.values), p90(self.values), len(self.values)

    def text(self, lang: str) -> str:
        if not self.values:
            return "—"
        return t("stats.durations", lang, median=waited(statistics.median(self.values), lang),
                 p90=waited(p90(self.values), lang), n=len(self.values))


@dataclass
class Report:
    days: int
    opened: int = 0
    resolved: int = 0
    breaches: int = 0
    response: Durations = field(default_factory=Durations)
    resolution: Durations = field(default_factory=Durations)
    by_staff: dict[str, tuple[Durations, Durations]] = field(default_factory=dict)
    replies: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # month → person → [free, counted]
    forecasts: list[str] = field(default_factory=list)  # the quota meter's forecast (bridge.slack_ui.quota)
    retention: list[str] = field(default_factory=list)  # what retention_days deleted (bridge.privacy.retention)
    follows: int = 0
    unblocked: int = 0       # of the follows: friends who came back after blocking the account
    follows_by_day: dict[str, int] = field(default_factory=dict)   # local date (account's time zone) -> follows

    def staff(self, user: str) -> tuple[Durations, Durations]:
        return self.by_staff.setdefault(user, (Durations(), Durations()))


class Stats:
    def __init__(self, state: AutomationStore, schedules):
        self.state = state
        self.schedules = schedules

    # -- recording -------------------------------------------------------------------------------
    def opened(self, conv: Conversation, at: float) -> None:
        self.state.record_stat(conv.account, "opened", {"conv": conv.conv_id}, at)
        self.state.set_episode(conv.conv_id, at)

    def responded(self, conv: Conversation, staff: str, waiting_since: float, at: float) -> None:
        self.state.record_stat(conv.account, "response", {"conv": conv.conv_id, "staff": staff, "from": waiting_since}, at)

    def delivered(self, conv: Conversation, staff: str, via: str, at: float, message: str = "") -> None:
        """``message`` (the Slack message) keeps two replies of the same instant apart."""
        self.state.record_stat(conv.account, "delivered", {"staff": staff, "via": via, "msg": message}, at)

    def resolved(self, conv: Conversation, staff: str, at: float) -> None:
        started = self.state.take_episode(conv.conv_id) or conv.created_at or at
        self.state.record_stat(conv.account, "resolved", {"conv": conv.conv_id, "staff": staff, "from": started}, at)

    # -- the report --------------------------------------------------------------------------------
    def report(self, accounts: list[str], days: int, now: float | None = None) -> Report:
        now = clock.now() if now is None else now
        since = now - days * 86400
        rep = Report(days)
        for account in accounts:
            schedule = self.schedules.of(account)
            rep.opened += len(self.state.stats_between(account, "opened", since, now))
            rep.breaches += len(self.state.breaches(account, since, now))
            for raw, at in self.state.stats_between(account, "follow", since, now):
                rep.follows += 1
                rep.unblocked += bool(json.loads(raw).get("unblocked"))
                day = schedule.local_date(at).isoformat()
                rep.follows_by_day[day] = rep.follows_by_day.get(day, 0) + 1
            for raw, at in self.state.stats_between(account, "response", since, now):
                rec = json.loads(raw)
                took = schedule.business_seconds(float(rec["from"]), at)
                rep.response.values.append(took)
                rep.staff(rec.get("staff") or "?")[0].values.append(took)
            for raw, at in self.state.stats_between(account, "resolved", since, now):
                rec = json.loads(raw)
                took = schedule.business_seconds(float(rec["from"]), at)
                rep.resolved += 1
                rep.resolution.values.append(took)
                rep.staff(rec.get("staff") or "?")[1].values.append(took)
        self._replies(rep, accounts, now)
        return rep

    def _replies(self, rep: Report, accounts: list[str], now: float) -> None:
        """Free and counted replies per person, this month and the last (whatever the period)."""
        this_month, _ = month_bounds(now)
        last_month, _ = month_bounds(this_month - 1)
        for account in accounts:
            for raw, at in self.state.stats_between(account, "delivered", last_month, now):
                rec = json.loads(raw)
                month = datetime.fromtimestamp(at, JST).strftime("%Y-%m")
                counts = rep.replies.setdefault(month, {}).setdefault(rec.get("staff") or "?", [0, 0])
                counts[0 if rec.get("via") == "reply" else 1] += 1


def replies_block(rep: Report, lang: str) -> dict:
    """「返信の内訳」: per month (newest first), each person's 🆓 free and 🔢 counted replies."""
    lines = [t("stats.replies_title", lang)]
    for month in sorted(rep.replies, reverse=True):
        people = sorted(rep.replies[month].items(), key=lambda kv: (-sum(kv[1]), kv[0]))
        lines.append(t("stats.replies_month", lang, month=month, lines="  ·  ".join(
            t("stats.replies_person", lang, staff=f"<@{user}>" if user != "?" else "?", free=free, counted=counted)
            for user, (free, counted) in people)))
    if not rep.replies:
        lines.append(t("stats.replies_none", lang))
    lines.extend(rep.forecasts)
    return {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}}


def has_chart(rep: Report) -> bool:
    """The chart shows first responses: none recorded in the period, no chart."""
    return bool(rep.response.values)


def follows_text(rep: Report, lang: str) -> str:
    """New friends of the period: total, unblocks, a day on average and the busiest day (campaigns)."""
    if not rep.follows:
        return t("stats.follows_none", lang)
    peak_day, peak = max(rep.follows_by_day.items(), key=lambda kv: (kv[1], kv[0]))
    per_day = rep.follows / max(1, rep.days)
    return t("stats.follows", lang, count=f"{rep.follows:,}", unblocked=f"{rep.unblocked:,}",
             per_day=f"{per_day:,.1f}".removesuffix(".0"), peak_day=peak_day[5:].replace("-", "/"), peak=f"{peak:,}")


def render_report(rep: Report, lang: str, chart: bool = False) -> tuple[str, list[dict]]:
    """The message (answered at once); ``chart``: a chart is on its way (else say why there is none)."""
    title = t("stats.title", lang, days=rep.days)
    team = t("stats.team", lang, opened=rep.opened, resolved=rep.resolved, breaches=rep.breaches,
             response=rep.response.text(lang), resolution=rep.resolution.text(lang))
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title}},
                          {"type": "section", "text": {"type": "mrkdwn", "text": team + "\n" + follows_text(rep, lang)}}]
    if rep.by_staff:
        lines = [t("stats.staff_line", lang, staff=f"<@{user}>" if user != "?" else "?", response=resp.text(lang),
                   resolution=reso.text(lang))
                 for user, (resp, reso) in sorted(rep.by_staff.items(), key=lambda kv: -len(kv[1][0].values))]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    blocks.append(replies_block(rep, lang))
    notes = [t("stats.chart_sent" if chart else "stats.chart_none", lang), t("stats.note", lang)]
    notes += ["\n".join(rep.retention)[:3000]] if rep.retention else []  # one element: a context holds at most 10
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": n} for n in notes]})
    return title, blocks


class StatsChart(Component):
    """The /stats chart (an rq job on the low queue): drawn from the same report as the message,
    uploaded as a PNG to the app's DM with the person who asked (only they see it)."""

    def __init__(self, services: Services, stats: Stats):
        super().__init__(services)
        self.stats = stats

    def send(self, user: str, accounts: list[str], days: int, now: float) -> bool:
        rep = self.stats.report(accounts, days, now)
        if not has_chart(rep):
            return False
        fonts = load_fonts(self.settings.chart_font)
        team = t("stats.chart_team", self.lang), t("stats.chart_team", "en")
        rows = [ChartRow(team, *rep.response.summary())]
        people = sorted(((u, resp) for u, (resp, _) in rep.by_staff.items() if resp.values),
                        key=lambda kv: (-len(kv[1].values), kv[0]))
        rows += [ChartRow(staff_labels(u, self._name, self.slack.user_handle, fonts[0]), *resp.summary())
                 for u, resp in people]
        png = render_chart(rows, days, self.lang, fonts)
        name = f"line-stats-{days}d-{time.strftime('%Y%m%d-%H%M', time.gmtime(now))}.png"
        with tempfile.TemporaryDirectory(prefix="lsb-stats-") as tmp:
            path = os.path.join(tmp, name)
            with open(path, "wb") as fh:
                fh.write(png)
            try:
                self.slack.upload_private(user, [(path, name)], t("stats.chart_comment", self.lang, days=days))
            except (DeliveryFailed, RetryLater) as exc:
                log.warning("/stats chart for %s could not be uploaded: %s", user, exc)
                return False
        return True

    def _name(self, user: str) -> str | None:
        try:
            return self.slack.user_name(user)
        except RetryLater:   # rate limited: the handle (or the id) will do
            return None
