"""返信待ち reminders: conversations waiting for the friend get a reminder pushed on a schedule.

``[reminders]`` gives a weekly slot (weekday + local time, in the account's business-hours
time zone), the text and the most reminders per conversation. The sweep finds the latest
slot at or before "now"; within ``catch_up_minutes`` of it, every conversation carrying the
返信待ち mark gets one reminder for that slot — queued through the inbox's atomic dedupe on
(conversation, slot), so exactly once whichever worker sweeps. The reminder itself runs on
the conversation's stream and checks again: still 返信待ち, not switched off, fewer than
``max`` since the friend last wrote, not blocked. A friend message turns 返信待ち into
要対応 (so reminders stop) and starts the count again.

A reminder is a push message: it counts against the account's monthly message quota, and
the thread says so.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bridge import clock
from bridge.archive.recorder import Recorder
from bridge.engine import work
from bridge.access import is_channel_member
from bridge.automation.hours import Schedules
from bridge.i18n import t
from bridge.model import DeliveryFailed
from bridge.relay.delivery import retry_key_for
from bridge.ports import ParentRefresher, WorkQueue
from bridge.services import Component, Services
from bridge.store.automation import AutomationStore
from bridge.text.mrkdwn import escape

log = logging.getLogger(__name__)


class Reminders(Component):
    def __init__(self, services: Services, automation, schedules: Schedules, state: AutomationStore,
                 queue: WorkQueue | None, parents: ParentRefresher):
        super().__init__(services)
        self.automation = automation
        self.schedules = schedules
        self.state = state
        self.queue = queue  # None (in-process use): nothing is queued
        self.parents = parents
        self.history = Recorder(services)  # reminders in the archive

    def enabled(self, account: str) -> bool:
        return self.automation.of(account).reminders.enabled and bool(self.marks.waiting)

    def last_slot(self, account: str, now: float) -> float:
        """The latest scheduled reminder time at or before ``now``."""
        cfg = self.automation.of(account).reminders
        tz = self.schedules.of(account).tz
        local = datetime.fromtimestamp(now, tz)
        day = local.date() - timedelta(days=(local.weekday() - cfg.weekday) % 7)
        for back in (0, 7):
            d = day - timedelta(days=back)
            slot = datetime(d.year, d.month, d.day, cfg.minute // 60, cfg.minute % 60, tzinfo=tz).timestamp()
            if slot <= now:
                return slot
        return 0.0

    # -- the sweep ----------------------------------------------------------------------
    def sweep(self, now: float) -> int:
        queued = 0
        for account in self.accounts.keys():
            if not self.enabled(account) or self.queue is None:
                continue
            slot = self.last_slot(account, now)
            if not slot or now - slot > self.automation.of(account).reminders.catch_up:
                continue
            for conv_id in self.state.members_of_mark(account, self.marks.waiting):
                key = f"{conv_id}-{int(slot)}"
                if self.queue.accept("reminder", key, work.line_stream(conv_id), work.REMINDER,
                                     {"conv_id": conv_id, "slot": slot}):
                    queued += 1
        return queued

    # -- one reminder (on the conversation's stream) ---------------------------------------
    def handle_item(self, payload: dict[str, Any]) -> None:
        conv = self.store.get_conversation(str(payload.get("conv_id") or ""))
        slot = float(payload.get("slot") or 0)
        if conv is None or conv.mark != self.marks.waiting or conv.blocked or conv.left or not conv.thread_ts:
            return
        cfg = self.automation.of(conv.account).reminders
        state = self.state.reminder_state(conv.conv_id)
        if state.get("off") == "1":
            return
        episode = repr(conv.last_message_at)   # the count starts again when the friend writes
        count = int(state.get("count") or 0) if state.get("since") == episode else 0
        if state.get("period") == repr(slot) and state.get("since") == episode and state.get("sent") == "1":
            count -= 1  # this slot was sent by an earlier attempt: finish it below without sending again
        elif count >= cfg.max:
            return
        send_key = f"reminder-{conv.conv_id}-{int(slot)}"
        text = (cfg.text or t("reminder.text", self.lang))
        text = text.replace("{name}", conv.name if conv.is_one_to_one and conv.name else t("hours.friend", self.lang))
        text = text.replace("{number}", str(conv.number)).replace("{next_open}", "")
        self.state.set_reminder_state(conv.conv_id, period=repr(slot), since=episode, sent="0")
        try:
            # Always a push (never a reply token): the X-Line-Retry-Key makes a retry a 409, not a second message.
            self.line_of(conv).push(conv.line_id, [text], retry_key_for(send_key, 0))
        except DeliveryFailed as exc:
            failed_ts = self.slack.post_once(f"{send_key}-failed", conv.channel, t("reminder.failed", self.lang, reason=exc.reason),
                                             thread_ts=conv.thread_ts)
            self.history.auto(conv, "reminder", send_key, float(failed_ts or slot), text, via="push", status="failed",
                              slack_ts=failed_ts or "")
            return
        self.state.set_reminder_state(conv.conv_id, count=count + 1, sent="1")
        note = t("reminder.sent", self.lang, n=count + 1, max=cfg.max)
        shown = "\n".join(f"> {escape(line)}" for line in text.splitlines())  # plain LINE text, with the {name}
        ts = self.slack.post_once(send_key, conv.channel, f"{note}\n{shown}", thread_ts=conv.thread_ts)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "reminder")
        self.history.auto(conv, "reminder", send_key, float(ts or clock.now()), text, via="push", status="sent", slack_ts=ts or "")
        self.store.add_event(conv.conv_id, {"at": clock.now(), "actor": "bridge", "action": "reminder",
                                            "value": str(count + 1), "source": "automation", "changes": {}})

    # -- the parent's on/off switch ----------------------------------------------------------------
    def switch(self, payload: dict[str, Any]) -> None:
        """A person pressed 🔕/🔔 on the parent: reminders off/on for this conversation."""
        conv = self.store.get_conversation(str(payload.get("conv_id") or ""))
        actor = str(payload.get("actor") or "")
        if conv is None or not is_channel_member(self.store, self.slack, actor, conv.channel):
            return
        off = payload.get("value") == "off"
        # Each step once (bridge.store.steps): a switch whose line has to wait for the channel's
        # turn (RetryLater) is said on the retry, which would otherwise find it switched already.
        steps = self.store.steps(f"remswitch-{payload.get('op_id')}")
        if steps.recall("switched") is None:
            if (self.state.reminder_state(conv.conv_id).get("off") == "1") == off:
                return
            steps.once("switched", lambda: self.state.set_reminder_state(conv.conv_id, off="1" if off else "0") or True)
        ts = self.slack.post_once(f"remswitch-{payload.get('op_id')}", conv.channel,
                                  t("reminder.switched_off" if off else "reminder.switched_on", self.lang, actor=f"<@{actor}>"),
                                  thread_ts=conv.thread_ts)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "audit")
        steps.do("event", lambda: self.store.add_event(conv.conv_id, {
            "at": clock.now(), "actor": actor, "action": "reminders", "value": "off" if off else "on", "source": "button",
            "changes": {}}))
        self.parents.request(conv.conv_id)
        steps.close()

    def is_off(self, conv_id: str) -> bool:
        return self.state.reminder_state(conv_id).get("off") == "1"
