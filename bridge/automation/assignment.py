"""Fair assignment: new conversations (and unassigned ones given marks such as クレーム) go
round-robin to the account's on-duty list (configured user ids and/or a Slack user group's
members, ``duty_group``), skipping people who switched themselves off duty,
people whose Slack presence is away and people at the open-conversation limit.

Triggers queue an ``auto_assign`` item on the conversation's own stream (ordered with its
LINE traffic and with people's claims; the item re-checks that nobody owns it). New
conversations are queued by the relay on their first message; marked ones by the sweep
(one ZRANGEBYSCORE per configured mark over the "unassigned" index), deduplicated per
(conversation, mark) by the inbox. The rotation pointer is one INCR per assignment.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge import clock
from bridge.archive.recorder import Recorder
from bridge.engine import work
from bridge.i18n import t
from bridge.model import Conversation
from bridge.ports import ParentRefresher, WorkQueue
from bridge.services import Component, Services
from bridge.store.automation import AutomationStore

log = logging.getLogger(__name__)


class Assignment(Component):
    def __init__(self, services: Services, automation, state: AutomationStore, queue: WorkQueue | None,
                 parents: ParentRefresher):
        super().__init__(services)
        self.history = Recorder(services)  # automatic assignments in the archive
        self.automation = automation
        self.state = state
        self.queue = queue  # None (in-process use): nothing is queued
        self.parents = parents

    # -- triggers -------------------------------------------------------------------------------
    def on_friend_message(self, conv: Conversation) -> None:
        """The relay: ``conv`` as it was before this message (last_message_at 0 = a new conversation)."""
        cfg = self.automation.of(conv.account).assignment
        if cfg.enabled and cfg.new and not conv.assignee and not conv.last_message_at and self.queue is not None:
            self.queue.accept("assign", f"{conv.conv_id}-new", work.line_stream(conv.conv_id), work.AUTO_ASSIGN,
                              {"conv_id": conv.conv_id, "reason": "new"})

    def sweep(self) -> int:
        queued = 0
        for account in self.accounts.keys():
            cfg = self.automation.of(account).assignment
            if not cfg.enabled or self.queue is None:
                continue
            for mark in cfg.marks:
                for conv_id in self.state.unassigned_in(account, mark):
                    if self.queue.accept("assign", f"{conv_id}-{mark}", work.line_stream(conv_id), work.AUTO_ASSIGN,
                                         {"conv_id": conv_id, "reason": mark}):
                        queued += 1
        return queued

    # -- the assignment (on the conversation's stream) ---------------------------------------------
    def handle_item(self, payload: dict[str, Any]) -> None:
        """Assign the conversation, then say so in its thread, the archive and the parent.

        Each step once (:mod:`bridge.store.steps`): the assignee is set before the line is posted;
        when that post has to wait for the channel's turn (RetryLater), the retry finds the
        conversation assigned — it resumes at the line instead of stopping there, silently."""
        conv_id = str(payload.get("conv_id") or "")
        reason = str(payload.get("reason") or "new")
        steps = self.store.steps(f"assign-{conv_id}-{reason}")
        person = steps.recall("assigned")
        conv = self.store.get_conversation(conv_id)
        if conv is None:
            return
        if person is None:
            if conv.assignee or not conv.thread_ts or self.marks.state(conv.mark) == "closed":
                return
            if reason != "new" and self.marks.effective(conv.mark).key != reason:
                return  # the mark changed again meanwhile
            person = self.pick(conv.account)
            if not person:
                self.slack.post_once(f"assign-{conv.conv_id}-{reason}-none", conv.channel, t("assign.nobody", self.lang),
                                     thread_ts=conv.thread_ts)
                return
            steps.once("assigned", lambda: self._assign(conv, person))
        post_key = f"assign-{conv.conv_id}-{reason}"
        ts = steps.once("said", lambda: self.slack.post_once(post_key, conv.channel, t("assign.done", self.lang, assignee=f"<@{person}>"),
                                                            thread_ts=conv.thread_ts))
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "audit")
        steps.do("recorded", lambda: self.history.event(conv.conv_id, f"{post_key}:assignee", "assignee",
                                                        float(ts) if ts else clock.now(), self.history.name_of(person)))
        steps.do("event", lambda: self.store.add_event(conv.conv_id, {
            "at": clock.now(), "actor": "bridge", "action": "assign", "value": person, "source": "auto_assign",
            "changes": {"assignee": person}}))
        self.parents.request(conv.conv_id)
        steps.close()

    def _assign(self, conv: Conversation, person: str) -> str:
        self.store.update_conversation(conv.conv_id, assignee=person)
        self.backlog.reindex(conv.conv_id)
        return person

    def pick(self, account: str) -> str:
        """The next on-duty person in rotation who is on duty, not away and under the limit ("" = nobody)."""
        cfg = self.automation.of(account).assignment
        members = self.on_duty_list(cfg)
        if not members:
            return ""
        start = self.state.next_turn(account)
        off = self.state.off_duty(members)
        for i in range(len(members)):
            person = members[(start + i) % len(members)]
            if person in off:
                continue
            if cfg.max_open and self.open_count(account, person) >= cfg.max_open:
                continue
            if cfg.skip_away and self.slack.presence(person) == "away":
                continue
            return person
        return ""

    def on_duty_list(self, cfg) -> list[str]:
        """The configured members, then the duty group's (read through a brief cache; see usergroup_members)."""
        members = list(cfg.members)
        if cfg.duty_group:
            members += [u for u in self.slack.usergroup_members(cfg.duty_group) if u not in members]
        return members

    def open_count(self, account: str, person: str) -> int:
        counts = self.backlog.counts(assignee=person, accounts=[account])
        return sum(n for key, n in counts.items() if self.marks.state(key) == "open")
