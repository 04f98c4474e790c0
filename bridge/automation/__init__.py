"""Time as part of triage: business hours, auto-replies, SLA alerts (one component per concern).

:class:`Automation` is what the domain wires: the relay calls :meth:`on_friend_message`,
the periodic job calls :meth:`sweep`, the parent and /pending ask :meth:`badges`.
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from bridge.automation.autoreply import AutoReply
from bridge.automation.config import AutomationConfig
from bridge.automation.hours import Schedules, format_when
from bridge.automation.sla import Sla
from bridge.humanize import waited
from bridge.i18n import t
from bridge.model import Conversation, InboundMessage
from bridge.services import Component, Services
from bridge.store.automation import AutomationStore

log = logging.getLogger(__name__)


class Automation(Component):
    def __init__(self, services: Services, config: AutomationConfig, accept: Callable[..., bool] | None,
                 request_parent_refresh: Callable[[str], None]):
        super().__init__(services)
        self.config = config
        self.schedules = Schedules(config)
        self.state = AutomationStore(self.store.r, self.store.keys, self.backlog)
        self.request_parent_refresh = request_parent_refresh
        self.autoreply = AutoReply(services, config, self.schedules)
        self.sla = Sla(services, config, self.schedules, self.state, accept, request_parent_refresh)

    # -- relay hook -------------------------------------------------------------------------
    def on_friend_message(self, conv: Conversation, msg: InboundMessage, sent_at: float) -> bool:
        """A friend message was shown in the thread. True when its reply token was used."""
        try:
            return self.autoreply.on_friend_message(conv, msg, sent_at)
        except Exception:  # noqa: BLE001 - an auto-reply must never block relaying the message
            log.exception("auto-reply for %s failed", conv.conv_id)
            return False

    # -- the periodic sweep --------------------------------------------------------------------
    def sweep(self, now: float) -> dict[str, Any]:
        stats: dict[str, Any] = dict(self.sla.sweep(now))
        stats["refreshed"] = self._hours_transitions(now)
        return stats

    def _hours_transitions(self, now: float) -> int:
        """At opening and closing time, re-render the parents that show 営業時間外."""
        refreshed = 0
        for account in self.accounts.keys():
            schedule = self.schedules.of(account)
            if schedule.always_open:
                continue
            state = "open" if schedule.is_open(now) else "closed"
            previous = self.state.swap_hours_state(account, state)
            if previous and previous != state:
                for mark in self.marks.open_marks():
                    for conv_id in self.state.waiting_in(account, mark.key):
                        self.request_parent_refresh(conv_id)
                        refreshed += 1
        return refreshed

    # -- what the parent and /pending show -------------------------------------------------------
    def closed_notice(self, account: str, now: float) -> str:
        """「🌙 営業時間外（次の営業開始: 月 10:00）」 while the account is closed, else ""."""
        schedule = self.schedules.of(account)
        if schedule.is_open(now):
            return ""
        opens = schedule.next_open(now)
        when = format_when(opens, schedule, self.lang) if opens else t("hours.unknown_open", self.lang)
        return t("hours.closed_badge", self.lang, next_open=when)

    def badges(self, conv: Conversation, now: float) -> list[str]:
        """Extra parts of the parent's status line: ⏰ overdue, 🌙 closed."""
        out = []
        left = self.sla.remaining(conv, now)
        if left is not None and left <= 0:
            out.append(t("sla.overdue_badge", self.lang, by=waited(-left, self.lang)))
        if conv.waiting_since and self.marks.state(conv.mark) == "open":
            notice = self.closed_notice(conv.account, now)
            if notice:
                out.append(notice)
        return out

    def sla_text(self, conv: Conversation, now: float) -> str:
        """/pending's row: 「残り3時間」 / 「⏰ 2時間超過」 ("" when no target applies)."""
        left = self.sla.remaining(conv, now)
        if left is None:
            return ""
        if left <= 0:
            return t("sla.exceeded", self.lang, by=waited(-left, self.lang))
        return t("sla.remaining", self.lang, left=waited(left, self.lang))
