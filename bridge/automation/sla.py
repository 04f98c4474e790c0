"""First-response targets (SLA) counted in business hours, and the overdue alerts.

The sweep (run periodically, see :mod:`bridge.engine.ticker`) is idempotent: for every
account, open mark and level (1 = target, 2 = ``escalate_factor`` × target) it computes
the latest ``waiting_since`` that is past the deadline *now* — one walk back through the
business hours — and reads the conversations waiting since then from the mark's /pending
index with one ZRANGEBYSCORE. Each breach becomes an inbox item on the conversation's own
stream, accepted through the inbox's atomic dedupe (``SET NX`` on
``sla:<conv>-<mark>-<waiting_since>-<level>`` and the append in one Lua step), so it is
alerted exactly once whichever worker or how many sweeps find it, and a crash after the
accept is repaired by the next sweep (a duplicate accept kicks a stream that still holds
work). Only breaches whose deadline lies within :data:`LOOKBACK` are considered: a bridge
that was down catches up with one alert per breach, and breaches older than that (alerted
long ago) cost nothing per sweep. A breach that reached level 2 while nobody swept gets
only the escalation.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge import clock
from bridge.engine import work
from bridge.automation.hours import Schedules
from bridge.humanize import waited
from bridge.i18n import t
from bridge.model import Conversation
from bridge.ports import ParentRefresher, WorkQueue
from bridge.services import Component, Services
from bridge.store.automation import AutomationStore

log = logging.getLogger(__name__)

LOOKBACK = 36 * 3600   # s of wall-clock time; below the inbox's 3-day dedupe memory


def breach_id(conv_id: str, mark: str, waiting_since: float, level: int) -> str:
    return f"{conv_id}-{mark}-{waiting_since!r}-{level}"


class Sla(Component):
    def __init__(self, services: Services, automation, schedules: Schedules, state: AutomationStore,
                 queue: WorkQueue | None, parents: ParentRefresher):
        super().__init__(services)
        self.automation = automation
        self.schedules = schedules
        self.state = state
        self.queue = queue  # None (in-process use): nothing is queued
        self.parents = parents

    # -- the sweep ----------------------------------------------------------------------
    def sweep(self, now: float) -> dict[str, int]:
        """Queue an alert for every new breach. Returns counts (candidates, queued, kicked, queries)."""
        stats = {"candidates": 0, "queued": 0, "kicked": 0, "queries": 0}
        found: list[tuple[str, str, float, int, float]] = []
        for account in self.accounts.keys():
            cfg = self.automation.of(account).sla
            if not cfg.enabled:
                continue
            schedule = self.schedules.of(account)
            for mark in self.marks.open_marks():
                target = cfg.target_seconds(mark.key)
                levels = []
                for level, factor in ((1, 1.0), (2, cfg.escalate_factor)):
                    upto = schedule.subtract_business(now, target * factor)
                    after = schedule.subtract_business(now - LOOKBACK, target * factor)
                    levels.append((level, after, upto))
                escalated_upto = levels[1][2]
                for level, after, upto in levels:
                    stats["queries"] += 1
                    for conv_id, ws in self.state.waiting_between(account, mark.key, after, upto):
                        if level == 1 and ws <= escalated_upto:
                            continue  # already past the escalation too: one alert, not two
                        found.append((conv_id, mark.key, ws, level,
                                      target * (1.0 if level == 1 else cfg.escalate_factor)))
        stats["candidates"] = len(found)
        if not found or self.queue is None:
            return stats
        # Breaches queued by an earlier sweep cost one EXISTS each (pipelined): calling the
        # inbox again would re-enqueue a drain job for every stream still holding its alert.
        breaches = [breach_id(c, m, ws, lv) for c, m, ws, lv, _ in found]
        seen = self.state.already_queued("sla", breaches)
        old = [f for f, s in zip(found, seen) if s]
        stranded = self.state.stranded([work.line_stream(f[0]) for f in old]) if old else []
        for (conv_id, mark, ws, level, target), breach, queued in zip(found, breaches, seen):
            if not queued and self._queue(breach, conv_id, mark, ws, level, target):
                stats["queued"] += 1
        for (conv_id, mark, ws, level, target), is_stranded in zip(old, stranded):
            if is_stranded:  # accepted, but the worker died before enqueueing the drain: kick it
                self._queue(breach_id(conv_id, mark, ws, level), conv_id, mark, ws, level, target)
                stats["kicked"] += 1
        return stats

    def _queue(self, breach: str, conv_id: str, mark: str, ws: float, level: int, target: float) -> bool:
        payload = {"conv_id": conv_id, "mark": mark, "waiting_since": ws, "level": level, "target": target,
                   "breach": breach}
        return self.queue.accept("sla", breach, work.line_stream(conv_id), work.SLA_ALERT, payload)

    # -- the alert (runs on the conversation's stream) ------------------------------------
    def handle_item(self, payload: dict[str, Any]) -> None:
        conv = self.store.get_conversation(str(payload.get("conv_id") or ""))
        ws, level = float(payload.get("waiting_since") or 0), int(payload.get("level") or 1)
        if conv is None or abs(conv.waiting_since - ws) > 1e-3 or self.marks.effective(conv.mark).key != payload.get("mark"):
            log.info("SLA alert %s dropped: answered or re-marked meanwhile", payload.get("breach"))
            return
        if not conv.thread_ts:
            return
        cfg = self.automation.of(conv.account).sla
        mention = self._mention(conv, cfg.mention_group, level)
        target = waited(float(payload.get("target") or 0), self.lang)
        now = clock.now()
        key = "sla.alert" if level == 1 else "sla.escalation"
        text = t(key, self.lang, mention=mention, target=target, factor=f"{cfg.escalate_factor:g}",
                 waited=waited(self.schedules.of(conv.account).business_seconds(ws, now), self.lang))
        ts = self.slack.post_once(f"sla-{payload.get('breach')}", conv.channel, text, thread_ts=conv.thread_ts)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "sla_alert")
        self.state.record_breach(conv.account, conv.conv_id, level, ws, now)
        self.store.add_event(conv.conv_id, {"at": now, "actor": "bridge", "action": "sla_breach", "value": str(level),
                                            "source": "automation", "changes": {}})
        self.parents.request(conv.conv_id)

    @staticmethod
    def _mention(conv: Conversation, group: str, level: int) -> str:
        people = []
        if conv.assignee:
            people.append(f"<@{conv.assignee}>")
        if group and (level > 1 or not conv.assignee):
            people.append(f"<!subteam^{group}>")
        if not people or (level > 1 and not group):
            people.append("<!here>")
        return " ".join(people)
