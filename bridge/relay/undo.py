"""The undo window: a staff reply waits ``BRIDGE_SEND_DELAY_SECONDS`` before it goes to LINE.

The web handler stamps each Slack message item with ``send_at``; the relay keeps the item at
the head of its thread's stream until then (:class:`~bridge.model.RetryLater`, throttled: the
inbox holds the stream and schedules a wake-up), showing ⏳ on the message and LINE's loading
animation to the friend (1:1 chats). The item stays in Redis while it waits, so a worker
restart does not lose it, and the stream lock plus an atomic claim
(:class:`~bridge.store.held.HeldSends`) send it exactly once with several workers.

Edits and deletions arrive on a separate stream per thread (a waiting reply must not hold
them up): in time, they change or cancel what will be sent (confirmed in the thread); too
late, the editor gets an ephemeral answer — LINE messages cannot be retracted — with a
button that sends the edited text as a correction.
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from bridge.access import is_channel_member
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, RetryLater
from bridge.relay.decorations import REACTION_WAITING  # ⏳ a staff reply in its undo window
from bridge.relay.delivery import Delivery
from bridge.relay.slack_in import is_internal_note
from bridge.services import Component, Services
from bridge.slack_ui.correction import correction_offer
from bridge.slack_ui.free_reply import send_now_offer
from bridge.store.held import HeldSends
from bridge.text import slack_to_line, split_for_line

log = logging.getLogger(__name__)

RECENT = 120  # s: edits of older messages the bridge never saw are not ours to confirm


class Undo(Component):
    def __init__(self, services: Services, delivery: Delivery):
        super().__init__(services)
        self.delivery = delivery
        self.held = HeldSends(self.store.r, self.store.keys)
        self.canned = None  # bridge.relay.canned_send.CannedSend, set by SlackIn

    # -- the waiting send ----------------------------------------------------------------
    def wait(self, conv: Conversation, event: dict[str, Any]) -> None:
        """Raise RetryLater until the message's ``send_at``; the first time, show that it waits."""
        remaining = float(event.get("send_at") or 0) - time.time()
        if remaining <= 0:
            return
        channel, ts = event["channel"], event["ts"]
        record = self.store.get_slack_message(channel, ts)
        if record.get("send_now"):
            return  # its author skipped the rest of the window (今すぐ送信（無料）)
        if not record.get("held_at"):
            # ⏳ on the thread's decoration stream (queued first: a crash cannot lose it; deduplicated):
            # Slack's reactions pacing never holds the reply up.
            self.delivery.decorations.mark(channel, ts, conv.thread_ts, REACTION_WAITING)
            self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=event.get("user", ""),
                                          held_at=repr(time.time()), send_at=repr(float(event.get("send_at") or 0)))
            self._offer_free_reply(conv, event)
            if conv.is_one_to_one and not conv.blocked:
                try:
                    self.line_of(conv).show_loading(conv.line_id, max(5, min(60, 5 * math.ceil(remaining / 5))))
                except (DeliveryFailed, RetryLater) as exc:
                    log.info("no loading animation for %s: %s", conv.conv_id, exc)
        raise RetryLater("undo window", delay=remaining, throttled=True)

    def _offer_free_reply(self, conv: Conversation, event: dict[str, Any]) -> None:
        """The friend's reply token expires before the window ends: offer the author to send now, free.

        Without the offer the reply would quietly become a push counted against the monthly quota.
        """
        if not (conv.reply_token and conv.reply_token_at and event.get("user")) or not self.account_of(conv).uses_reply_tokens:
            return
        now, deadline = time.time(), conv.reply_token_at + self.settings.reply_token_ttl
        if not now < deadline < float(event.get("send_at") or 0):
            return
        text, blocks = send_now_offer(event["channel"], event["ts"], conv.thread_ts, deadline, now, self.lang)
        try:
            self.slack.post_ephemeral(event["channel"], event["user"], text, blocks=blocks, thread_ts=conv.thread_ts)
        except (DeliveryFailed, RetryLater) as exc:
            log.info("no free-reply offer for %s: %s", event["ts"], exc)

    def told_sent_now(self, channel: str, ts: str, thread_ts: str, via: str) -> None:
        """A reply sent early with 今すぐ送信（無料）: its author learns whether it was free after all."""
        user = self.store.get_slack_message(channel, ts).get("send_now")
        if not user:
            return
        try:
            self.slack.post_ephemeral(channel, user, t("free.sent_free" if via == "reply" else "free.sent_counted", self.lang),
                                      thread_ts=thread_ts)
        except (DeliveryFailed, RetryLater) as exc:  # the 🆓/🔢 reaction says it too
            log.info("send-now result not told for %s: %s", ts, exc)

    def settled(self, channel: str, ts: str, waited: bool, thread_ts: str = "") -> None:
        """The message is no longer waiting (cancelled): take ⏳ away, after the ⏳ itself (same stream)."""
        if waited:
            try:
                self.delivery.decorations.mark(channel, ts, thread_ts, "", waited=True)
            except (DeliveryFailed, RetryLater) as exc:
                log.info("⏳ not removed from %s: %s", ts, exc)

    # -- edits, deletions, corrections ----------------------------------------------------
    def handle_item(self, payload: dict[str, Any]) -> None:
        channel, ts, thread_ts = payload.get("channel", ""), payload.get("ts", ""), payload.get("thread_ts", "")
        conv = self.store.get_by_thread(channel, thread_ts)
        if conv is None or not ts:
            return
        record = self.store.get_slack_message(channel, ts)
        if record.get("kind") not in (None, "", "staff"):
            return  # notes, friends' messages, failure notices…
        op = payload.get("op")
        if op == "correct":
            user = payload.get("user", "")
            # Checked again here (membership may have changed since the click): the author, a member.
            if user and user == record.get("author") and is_channel_member(self.store, self.slack, user, channel):
                self._send_correction(conv, channel, ts, record, user)
            return
        text = payload.get("text") or ""
        if is_internal_note(text or payload.get("previous_text") or ""):
            return
        if not record and time.time() - float(ts or 0) > self.settings.send_delay + RECENT:
            return
        if op == "edit" and text == payload.get("previous_text"):
            return  # e.g. an unfurl or a file change, not a text edit
        editor = payload.get("user") or record.get("author") or ""
        # An edit's !key is expanded before the edit can be claimed for sending (what is shown is sent).
        waiting = record.get("delivery") not in ("sending", "sent", "failed", "cancelled")
        shown = self.canned.edited(conv, channel, ts, text, editor) if op == "edit" and waiting and self.canned else ""
        if payload.get("source") == "button" and not is_channel_member(self.store, self.slack, editor, channel):
            return  # 取り消し of a picked 定型文: triage channel members only
        result = self.held.change(channel, ts, "delete" if op == "delete" else "edit", text)
        if result == "changed":
            key = "undo.cancelled" if op == "delete" else "undo.edited"
            if payload.get("source") == "button":
                key = "canned.pick.cancelled_by"
            digest = hashlib.sha256(text.encode()).hexdigest()[:8]
            self.slack.post_once(f"undo-{op}-{channel}-{ts}-{digest}", channel, t(key, self.lang, user=f"<@{editor}>"),
                                 thread_ts=thread_ts)
            if op == "delete" and record.get("picked") and self.canned:  # a picked 定型文 cancelled with its button
                self.settled(channel, ts, waited=True, thread_ts=thread_ts)
                self.canned.show_state(channel, ts, record, "cancelled")
            elif shown:
                self.canned.tell(conv, editor, shown)
        elif result in ("sending", "sent") and editor:
            if op == "delete":
                late = "canned.pick.too_late" if payload.get("source") == "button" else "undo.too_late_delete"
                self.slack.post_ephemeral(channel, editor, t(late, self.lang), thread_ts=thread_ts)
                return
            self.held.set(channel, ts, correction_text=text)
            offer, blocks = correction_offer(channel, ts, thread_ts, self.lang)
            self.slack.post_ephemeral(channel, editor, offer, blocks=blocks, thread_ts=thread_ts)

    def _send_correction(self, conv: Conversation, channel: str, ts: str, record: dict[str, str], user: str) -> None:
        text = record.get("correction_text") or ""
        if not text:
            return
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        texts = split_for_line(t("undo.correction_prefix", self.lang) + slack_to_line(text, self.slack.user_name))
        try:
            if conv.blocked:
                raise DeliveryFailed("blocked")
            self.delivery.deliver_to_line(conv, f"{channel}-{ts}-fix-{digest}", list(texts))
        except DeliveryFailed as exc:
            self.delivery.report_failure(channel, ts, conv.thread_ts, exc)
            return
        self.slack.post_once(f"fix-{channel}-{ts}-{digest}", channel, t("undo.correction_sent", self.lang), thread_ts=conv.thread_ts)
