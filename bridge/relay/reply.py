"""Slack → LINE: one ``send_reply`` for typed staff replies and picked 定型文.

A reply passes, once each: the undo window (:mod:`bridge.relay.undo`: held and its send
scheduled, or claimed for sending), its 定型文 (``!key`` shown as it enters the window, expanded
once when it is sent), the text and file
conversion, the delivery to LINE (:mod:`bridge.relay.delivery`), its mark (🆓/🔢, or ❌ with the
reason in the thread), the records (/stats, /export, the waiting clock) and the parent refresh.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from bridge.archive.jobs import queue_staff_files, staff_files
from bridge.archive.entry import slack_id
from bridge.archive.recorder import Recorder
from bridge.automation import Automation
from bridge.friends.ops import show_canned
from bridge.i18n import t
from bridge.media.outbound import MediaOut
from bridge.model import Conversation, DeliveryFailed, RetryLater, StaffMessage
from bridge.ports import ParentRefresher, WorkQueue
from bridge.relay.canned_send import CannedSend
from bridge.relay.decorations import Decorations
from bridge.relay.delivery import Delivery
from bridge.relay.undo import UndoWindow
from bridge.services import Component, Services
from bridge.text import mentioned_users, slack_to_line, split_for_line

log = logging.getLogger(__name__)

FINAL = ("sent", "failed", "cancelled")


class Replies(Component):
    def __init__(self, services: Services, window: UndoWindow, canned: CannedSend, delivery: Delivery,
                 marks: Decorations, automation: Automation, parents: ParentRefresher, queue: WorkQueue | None):
        super().__init__(services)
        self.history = Recorder(services)  # every reply in the archive, sent or not
        self.queue = queue  # its files are copied into the media archive as work of their own
        self.window = window
        self.canned = canned
        self.delivery = delivery
        self.marks = marks
        self.automation = automation
        self.parents = parents
        self.media = MediaOut(services)

    def send_reply(self, conv: Conversation, msg: StaffMessage, kind: str, payload: dict[str, Any]) -> str:
        """Send ``msg`` to the friend, or hold it in its undo window (its send scheduled as the item
        ``kind``/``payload`` again). Returns its state: "held", "sent", "failed" or "cancelled"."""
        channel, ts = msg.channel, msg.ts
        existing = self.store.get_slack_message(channel, ts)
        waited = bool(existing.get("held_at"))
        if existing.get("delivery") == "failed" and not existing.get("reported"):
            # Failed in an earlier attempt whose ⚠️ line then had to wait for the channel's turn
            # (RetryLater): report it now, or the failure would stay silent.
            self._report(conv, msg, DeliveryFailed(existing.get("reason") or "failed", existing.get("detail") or ""), waited)
            return "failed"
        if existing.get("delivery") == "sent" and not existing.get("settled"):
            # Delivered by an earlier attempt that was cut short after it (a paced 定型文 echo, say):
            # what it did not get to follows now, once each.
            return self._settle(conv, msg)
        if existing.get("delivery") in FINAL:
            return existing["delivery"]  # already handled (a retried job), or deleted within the undo window
        try:
            if conv.blocked:
                raise DeliveryFailed("blocked")
            if conv.left:
                raise DeliveryFailed("left")
            if not (waited or msg.due or msg.picked) and msg.send_at > time.time():
                # Entering its window: the author sees the text LINE will get; an unknown !key fails now,
                # before ⏳ or the friend's loading animation (a picked one's post shows its text already).
                self.canned.preview(conv, msg)
            state, edited = self.window.take(conv, msg, kind, payload)
            if state == "held":
                return state
            if state != "sending":
                if state == "cancelled":
                    self.record(conv, msg, msg.text, "cancelled")
                return state  # deleted in time (confirmed in the thread by bridge.relay.edits)
            source = edited or msg.text
            text, canned = (source, []) if msg.picked else self.canned.expanded(conv, msg, source)  # !key, once
            texts: list[str | dict] = list(split_for_line(slack_to_line(text, self.names(text))))
            # Text first, then the files in their order, as Slack shows them.
            media, problems = self.media.line_messages(list(msg.files))
            for n, line in enumerate(problems):
                self.slack.post_once(f"media-not-sent-{channel}-{ts}-{n}", channel, line, thread_ts=conv.thread_ts)
            if not texts + media:
                raise DeliveryFailed("empty")
            via = self.delivery.deliver_to_line(conv, f"{channel}-{ts}", texts + media)
        except DeliveryFailed as exc:
            self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=msg.user,
                                          delivery="failed", reason=exc.reason, detail=exc.detail[:500])
            self.record(conv, msg, msg.text, "failed")
            self._report(conv, msg, exc, waited)
            return "failed"
        # What the steps after the delivery need, kept until they are all done (a retry resumes them).
        self.store.steps(self._item(msg)).once("sent", lambda: {
            "via": via, "texts": [x for x in texts if isinstance(x, str)],
            "canned": msg.picked or ",".join(canned), "echo": bool(canned)})
        # 🆓/🔢 (and ⏳ away) follow at Slack's pace on their own stream; queued before the
        # message is recorded as sent, so a crash in between cannot lose the mark.
        self.marks.delivered(channel, ts, conv.thread_ts, via, waited=waited)
        self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=msg.user, delivery="sent", via=via)
        return self._settle(conv, msg)

    @staticmethod
    def _item(msg: StaffMessage) -> str:
        return f"reply-{msg.channel}-{msg.ts}"

    def _settle(self, conv: Conversation, msg: StaffMessage) -> str:
        """After the delivery: the author told, the clocks and records, the 定型文 echo, the parent.

        Each step once (:mod:`bridge.store.steps`): when one has to wait (a post paced by Slack's
        rate, RetryLater), the retry resumes at that step instead of finding the reply "sent"
        and skipping the rest — the echo and the parent refresh are not lost."""
        channel, ts = msg.channel, msg.ts
        steps = self.store.steps(self._item(msg))
        sent = steps.recall("sent")
        if sent is not None:  # (None: sent before this record existed, or already settled)
            via, texts = sent["via"], sent["texts"]
            steps.do("told", lambda: self._tell_sent_now(channel, ts, conv.thread_ts, via))
            # The reply's own Slack timestamp decides which friend messages it answers.
            if steps.once("first", lambda: self.store.staff_replied(conv.conv_id, float(ts))):
                steps.do("first_response", lambda: self.automation.on_staff_reply(conv, msg.user, float(ts)))  # /stats
            steps.do("counted", lambda: self.automation.on_delivered(conv, msg.user, via, time.time(), f"{channel}-{ts}"))
            self.backlog.reindex(conv.conv_id)
            steps.do("recorded", lambda: self.record(conv, msg, "\n".join(texts), "sent", via=via, canned=sent["canned"]))
            if sent["echo"]:  # staff see what the friend received
                show_canned(self.services, conv, f"{channel}-{ts}", texts)
            self.parents.request(conv.conv_id)
        self.store.link_slack_message(channel, ts, conv.conv_id, "staff", settled="1")
        steps.close()
        return "sent"

    def _report(self, conv: Conversation, msg: StaffMessage, exc: DeliveryFailed, waited: bool) -> None:
        """⚠️ in the thread and ❌ on the reply, once (a retry after a paced post resumes here)."""
        self.delivery.report_failure(msg.channel, msg.ts, conv.thread_ts, exc, waited=waited)
        self.store.link_slack_message(msg.channel, msg.ts, conv.conv_id, "staff", reported="1")

    def record(self, conv: Conversation, msg: StaffMessage, text: str, status: str, via: str = "", canned: str = "") -> None:
        """The reply in the archive (the text LINE got; 定型文 as "canned"); its files follow as their own work."""
        files = staff_files(msg.files)
        self.history.staff(conv, msg.channel, msg.ts, msg.user, text, via=via, status=status,
                           kind="canned" if canned else "text", canned=canned)
        if status == "sent":
            queue_staff_files(self.queue, conv.conv_id, slack_id(msg.channel, msg.ts), float(msg.ts), files)

    def _tell_sent_now(self, channel: str, ts: str, thread_ts: str, via: str) -> None:
        """A reply sent early with 今すぐ送信（無料）: its author learns whether it was free after all."""
        user = self.store.get_slack_message(channel, ts).get("send_now")
        if not user:
            return
        try:
            self.slack.post_ephemeral(channel, user, t("free.sent_free" if via == "reply" else "free.sent_counted", self.lang),
                                      thread_ts=thread_ts)
        except (DeliveryFailed, RetryLater) as exc:  # the 🆓/🔢 reaction says it too
            log.info("send-now result not told for %s: %s", ts, exc)

    def names(self, text: str) -> dict[str, str]:
        """The display names of the people ``text`` mentions (looked up in Slack, cached)."""
        return {user: name for user in mentioned_users(text) if (name := self.slack.user_name(user))}
