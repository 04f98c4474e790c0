"""What time means on screen: ⏰ overdue and 🌙 closed on the parent, SLA left/over on /pending,
and the ``/pending overdue`` page. Pure reads (config, marks, the backlog indexes)."""
from __future__ import annotations

from bridge.automation.hours import Schedules, format_when
from bridge.humanize import waited
from bridge.i18n import t
from bridge.model import Conversation
from bridge.store.automation import AutomationStore
from bridge.store.backlog import BacklogPage


class Timekeeper:
    def __init__(self, config, marks, lang: str):
        self.config = config
        self.marks = marks
        self.lang = lang
        self.schedules = Schedules(config)

    def remaining(self, account: str, mark_key: str, waiting_since: float, now: float) -> float | None:
        """Business seconds left before the first-response target (negative: exceeded); None: no target."""
        cfg = self.config.of(account).sla
        mark = self.marks.effective(mark_key)
        if not cfg.enabled or not waiting_since or mark.state != "open":
            return None
        return cfg.target_seconds(mark.key) - self.schedules.of(account).business_seconds(waiting_since, now)

    def closed_notice(self, account: str, now: float) -> str:
        """「🌙 営業時間外（次の営業開始 11月24日(火) 10:00）」 while the account is closed, else ""."""
        schedule = self.schedules.of(account)
        if schedule.is_open(now):
            return ""
        opens = schedule.next_open(now)
        when = format_when(opens, schedule, self.lang) if opens else t("hours.unknown_open", self.lang)
        return t("hours.closed_badge", self.lang, next_open=when)

    def badges(self, conv: Conversation, now: float) -> list[str]:
        """Extra parts of the parent's status line."""
        out = []
        left = self.remaining(conv.account, conv.mark, conv.waiting_since, now)
        if left is not None and left <= 0:
            out.append(t("sla.overdue_badge", self.lang, by=waited(-left, self.lang)))
        if conv.waiting_since and self.marks.state(conv.mark) == "open":
            notice = self.closed_notice(conv.account, now)
            if notice:
                out.append(notice)
        return out

    def sla_text(self, account: str, mark: str, waiting_since: float, now: float) -> str:
        """/pending's row: 「残り 3時間」 / 「⏰ 2時間超過」 ("" when no target applies)."""
        left = self.remaining(account, mark, waiting_since, now)
        if left is None:
            return ""
        if left <= 0:
            return t("sla.exceeded", self.lang, by=waited(-left, self.lang))
        return t("sla.remaining", self.lang, left=waited(left, self.lang))

    def overdue_page(self, state: AutomationStore, accounts: list[str], *, assignee: str | None = None,
                     unassigned: bool = False, marks: list[str] | None = None, offset: int = 0, limit: int = 20,
                     now: float) -> BacklogPage:
        """``/pending overdue``: open conversations past their first-response target, most urgent first.

        Per account and open mark one ZRANGEBYSCORE up to the latest ``waiting_since`` that is
        overdue now; the rows are then read (one pipelined HMGET each) and filtered by assignee.
        """
        backlog = state.backlog
        wanted = [m for m in self.marks.open_marks() if not marks or m.key in marks]
        scored: list[tuple[float, str]] = []
        for account in accounts:
            cfg = self.config.of(account).sla
            if not cfg.enabled:
                continue
            schedule = self.schedules.of(account)
            for mark in wanted:
                upto = schedule.subtract_business(now, cfg.target_seconds(mark.key))
                scored.extend((self.marks.rank(mark.key), ws, conv_id)
                              for conv_id, ws in state.waiting_between(account, mark.key, 0.0, upto))
        scored.sort()
        rows = backlog.rows([conv_id for _, _, conv_id in scored])  # the same row reader as /pending
        if assignee:
            rows = [r for r in rows if r.assignee == assignee]
        elif unassigned:
            rows = [r for r in rows if not r.assignee]
        counts = backlog.counts(assignee, unassigned, accounts)
        return BacklogPage(rows=rows[offset:offset + limit], total=len(rows), offset=offset, limit=limit,
                           counts=counts, now=now)


_cache: dict[int, Timekeeper] = {}


def timekeeper_of(rt) -> Timekeeper:
    """The web process's Timekeeper of a Runtime (built once)."""
    key = id(rt)
    if key not in _cache:
        _cache[key] = Timekeeper(rt.automation, rt.marks, rt.settings.language)
    return _cache[key]
