"""Slack → LINE: staff replies in a conversation thread are sent to the friend; notes stay in Slack."""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from bridge.media.outbound import MediaOut
from bridge.friends.ops import show_canned
from bridge.friends.transcript import record_outbound
from bridge.model import Conversation, DeliveryFailed
from bridge.relay.canned_send import CannedSend
from bridge.relay.decorations import delivered_mark
from bridge.relay.delivery import Delivery
from bridge.relay.portal import Portals
from bridge.services import Component, Services
from bridge.text import slack_to_line, split_for_line

if TYPE_CHECKING:
    from bridge.relay.undo import Undo

log = logging.getLogger(__name__)

NOTE_PREFIXES = ("//", "note:")
REACTION_NOTE = "memo"              # 📝 shown on an internal note
RELAYED_SUBTYPES = (None, "thread_broadcast", "file_share")


def is_bot_message(event: dict[str, Any], bot: dict[str, str]) -> bool:
    """Messages by any bot, including the bridge itself, are never sent to LINE."""
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (bot.get("user_id") and event.get("user") == bot.get("user_id"))
        or event.get("bot_profile")
    )


def is_internal_note(text: str) -> bool:
    """``//…`` and ``note:…`` thread messages are internal notes (ノート), never sent to LINE."""
    return text.lstrip().lower().startswith(NOTE_PREFIXES)


class SlackIn(Component):
    def __init__(self, services: Services, portals: Portals, delivery: Delivery, undo: "Undo"):
        super().__init__(services)
        self.portals = portals
        self.delivery = delivery
        self.undo = undo
        self.media = MediaOut(services)
        self.canned = CannedSend(services, undo.held)  # !key: expanded once, shown while the reply waits
        undo.canned = self.canned

    def handle_item(self, event: dict[str, Any]) -> None:
        """A message event from Slack: relay staff replies in conversation threads to LINE."""
        channel, ts, thread_ts = event.get("channel", ""), event.get("ts", ""), event.get("thread_ts") or ""
        if event.get("subtype") not in RELAYED_SUBTYPES:
            return  # edits, deletions, joins…: not relayed
        if channel not in self.accounts.channels() or not thread_ts or thread_ts == ts:
            return
        if is_bot_message(event, self.slack.bot_identity()):
            return
        conv = self.store.get_by_thread(channel, thread_ts)
        if conv is None:
            return
        text = event.get("text") or ""
        if is_internal_note(text):
            self.handle_note(conv, event)
            return
        self.handle_reply(conv, event)

    def handle_note(self, conv: Conversation, event: dict[str, Any]) -> None:
        channel, ts = event["channel"], event["ts"]
        if not self.store.get_slack_message(channel, ts):
            self.store.add_note(conv.conv_id, event.get("user", ""), event.get("text", ""), ts, time.time())
            self.store.link_slack_message(channel, ts, conv.conv_id, "note", author=event.get("user", ""))
        self.slack.react(channel, ts, REACTION_NOTE)

    def handle_reply(self, conv: Conversation, event: dict[str, Any]) -> None:
        channel, ts = event["channel"], event["ts"]
        existing = self.store.get_slack_message(channel, ts)
        if existing.get("delivery") in ("sent", "failed", "cancelled"):
            return  # already handled (a retried job), or deleted within the undo window
        try:
            if conv.blocked:
                raise DeliveryFailed("blocked")
            if conv.left:
                raise DeliveryFailed("left")
            if not existing.get("held_at") and float(event.get("send_at") or 0) > time.time():
                self.canned.preview(conv, event)  # the author sees the expanded text; unknown !key fails now
            self.undo.wait(conv, event)  # RetryLater while the undo window is open
            state, edited = self.undo.held.claim(channel, ts)
            if state != "sending":
                return  # deleted in time (confirmed in the thread by the undo component)
            text, canned = self.canned.expanded(conv, event, edited or event.get("text") or "")  # !key, once
            texts: list[str | dict] = list(split_for_line(slack_to_line(text, self.slack.user_name)))
            # Text first, then the files in their order, as Slack shows them.
            media, problems = self.media.line_messages(event.get("files") or [])
            for n, line in enumerate(problems):
                self.slack.post_once(f"media-not-sent-{channel}-{ts}-{n}", channel, line, thread_ts=conv.thread_ts)
            if not texts + media:
                raise DeliveryFailed("empty")
            via = self.delivery.deliver_to_line(conv, f"{channel}-{ts}", texts + media)
        except DeliveryFailed as exc:
            self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=event.get("user", ""),
                                          delivery="failed", reason=exc.reason)
            self.delivery.report_failure(channel, ts, conv.thread_ts, exc, waited=bool(existing.get("held_at")))
            return
        # 🆓/🔢 (and ⏳ away) follow at Slack's pace on their own stream; queued before the
        # message is recorded as sent, so a crash in between cannot lose the mark.
        self.delivery.decorations.mark(channel, ts, conv.thread_ts, delivered_mark(via), waited=bool(existing.get("held_at")))
        self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=event.get("user", ""),
                                      delivery="sent", via=via)
        self.undo.told_sent_now(channel, ts, conv.thread_ts, via)  # sent early with 今すぐ送信（無料）: free after all?
        # The reply's own Slack timestamp decides which friend messages it answers.
        stopped = self.store.staff_replied(conv.conv_id, float(ts))
        if stopped and getattr(self, "automation", None):  # a first response (/stats)
            self.automation.on_staff_reply(conv, event.get("user", ""), float(ts))
        if getattr(self, "automation", None):  # free or counted, per person and month (/stats)
            self.automation.on_delivered(conv, event.get("user", ""), via, time.time(), f"{channel}-{ts}")
        self.backlog.reindex(conv.conv_id)
        sent_texts = [x for x in texts if isinstance(x, str)]
        record_outbound(self.services, conv, event, sent_texts)  # chat history for /export
        if canned:  # staff see what the friend received
            show_canned(self.services, conv, f"{channel}-{ts}", sent_texts)
        self.portals.request_parent_refresh(conv.conv_id)
