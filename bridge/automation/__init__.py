"""Time as part of triage: business hours, auto-replies, SLA alerts (one component per concern).

:class:`Automation` is what the domain wires: the relay calls :meth:`on_friend_message`,
the periodic job calls :meth:`sweep`, the parent and /pending ask :meth:`badges`.
"""
from __future__ import annotations

import logging

from typing import Any

from bridge import clock

from bridge.automation.assignment import Assignment
from bridge.automation.autoreply import AutoReply
from bridge.automation.home import Home
from bridge.automation.stats import Stats, StatsChart
from bridge.automation.reminders import Reminders
from bridge.automation.sla import Sla
from bridge.automation.views import Timekeeper
from bridge.config.automation_model import AutomationConfig
from bridge.model import Conversation, InboundMessage, RetryLater
from bridge.ports import ParentRefresher, WorkQueue
from bridge.services import Component, Services
from bridge.slack_ui.automation import reminder_switch

log = logging.getLogger(__name__)


class Automation(Component):
    def __init__(self, services: Services, config: AutomationConfig, queue: WorkQueue | None,
                 parents: ParentRefresher):
        """``queue`` None (in-process use): no SLA alerts, reminders nor auto-assignments are queued."""
        super().__init__(services)
        self.config = config
        self.timekeeper = Timekeeper(config, self.marks, self.lang)
        self.schedules = self.timekeeper.schedules
        self.state = services.stores.automation
        self.parents = parents
        self.autoreply = AutoReply(services, config, self.schedules)
        self.sla = Sla(services, config, self.schedules, self.state, queue, parents)
        self.reminders = Reminders(services, config, self.schedules, self.state, queue, parents)
        self.assignment = Assignment(services, config, self.state, queue, parents)
        self.home = Home(services, self.timekeeper, self.state)
        self.stats = Stats(self.state, self.schedules)
        self.stats_chart = StatsChart(services, self.stats)

    # -- relay hook -------------------------------------------------------------------------
    def on_friend_message(self, conv: Conversation, msg: InboundMessage, sent_at: float) -> bool:
        """A friend message was shown in the thread. True when its reply token was used."""
        try:
            if not conv.last_message_at or self.marks.state(conv.mark) == "closed":
                self.stats.opened(conv, sent_at)   # a new conversation, or 対応済み reopened
            self.assignment.on_friend_message(conv)
        except Exception:  # noqa: BLE001 - never block relaying the message
            log.exception("auto-assignment of %s failed", conv.conv_id)
        try:
            return self.autoreply.on_friend_message(conv, msg, sent_at)
        except RetryLater:
            # Its line in the thread has to wait for the channel's turn: the item is retried and the
            # auto-reply, already sent (its record says so), is shown then. Swallowed, the line was
            # lost and the used reply token was offered to staff.
            raise
        except Exception:  # noqa: BLE001 - an auto-reply must never block relaying the message
            log.exception("auto-reply for %s failed", conv.conv_id)
            return False

    def on_staff_reply(self, conv: Conversation, staff: str, at: float) -> None:
        """A staff reply stopped the waiting clock (``conv`` as before the reply): a first response."""
        if conv.waiting_since:
            self.stats.responded(conv, staff, conv.waiting_since, at)

    def on_delivered(self, conv: Conversation, staff: str, via: str, at: float, message: str) -> None:
        """A staff reply reached LINE: free (reply token) or counted (push), for /stats."""
        self.stats.delivered(conv, staff, via, at, message)

    def on_triage_change(self, conv: Conversation, actor: str, changes: dict) -> None:
        if "mark" in changes and self.marks.state(str(changes["mark"])) == "closed":
            self.stats.resolved(conv, actor, clock.now())

    # -- the periodic sweep --------------------------------------------------------------------
    def sweep(self, now: float) -> dict[str, Any]:
        stats: dict[str, Any] = dict(self.sla.sweep(now))
        stats["refreshed"] = self._hours_transitions(now)
        stats["reminders"] = self.reminders.sweep(now)
        stats["assigned"] = self.assignment.sweep()
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
            # A parent rendered 🌙 while no sweep saw the closed period (the bridge was down, or the
            # sweep late) must still lose its 🌙 at opening: the render leaves a flag for that.
            shown_closed = state == "open" and self.state.take_closed_shown(account)
            if (previous and previous != state) or shown_closed:
                for mark in self.marks.open_marks():
                    for conv_id in self.state.waiting_in(account, mark.key):
                        self.parents.request(conv_id)
                        refreshed += 1
        return refreshed

    # -- what the parent shows -------------------------------------------------------------------
    def parent_extras(self, conv: Conversation, now: float) -> tuple[list[str], list[dict]]:
        """(status-line badges ⏰/🌙, extra controls: the 返信待ち reminder switch)."""
        elements = []
        if conv.mark == self.marks.waiting and self.reminders.enabled(conv.account):
            elements.append(reminder_switch(conv.conv_id, self.reminders.is_off(conv.conv_id), self.lang))
        badges = self.timekeeper.badges(conv, now)
        notice = self.timekeeper.closed_notice(conv.account, now) if badges else ""
        if notice and notice in badges:
            self.state.note_closed_shown(conv.account)
        return badges, elements
