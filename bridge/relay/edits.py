"""Edits and deletions of staff replies, and corrections (``slack_edit`` items).

They arrive on a separate stream per thread (a held reply must not hold them up): in the
undo window (:mod:`bridge.relay.undo`) they change or cancel what will be sent (confirmed in
the thread); too late, the editor gets an ephemeral answer — LINE messages cannot be
retracted — with a button that sends the edited text as a correction.
"""
from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from bridge.access import is_channel_member
from bridge.archive.entry import slack_id
from bridge.archive.recorder import Recorder
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, StaffEdit
from bridge.relay.canned_send import CannedSend
from bridge.relay.decorations import Decorations
from bridge.relay.delivery import Delivery
from bridge.relay.filters import is_internal_note
from bridge.services import Component, Services
from bridge.slack_ui.correction import correction_offer
from bridge.store.held import HeldSends
from bridge.text import mentioned_users, slack_to_line, split_for_line

log = logging.getLogger(__name__)

RECENT = 120  # s: edits of older messages the bridge never saw are not ours to confirm
NOT_WAITING = ("sending", "sent", "failed", "cancelled")


class Edits(Component):
    def __init__(self, services: Services, held: HeldSends, canned: CannedSend, delivery: Delivery, marks: Decorations):
        super().__init__(services)
        self.held = held
        self.canned = canned
        self.delivery = delivery
        self.marks = marks
        self.history = Recorder(services)  # corrections in the archive

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``slack_edit`` item (:class:`~bridge.model.StaffEdit`)."""
        edit = StaffEdit.from_payload(payload)
        channel, ts, thread_ts = edit.channel, edit.ts, edit.thread_ts
        conv = self.store.get_by_thread(channel, thread_ts)
        if conv is None or not ts:
            return
        record = self.store.get_slack_message(channel, ts)
        if record.get("kind") not in (None, "", "staff"):
            return  # notes, friends' messages, failure notices…
        if edit.op == "correct":
            # Checked again here (membership may have changed since the click): the author, a member.
            if edit.user and edit.user == record.get("author") and is_channel_member(self.store, self.slack, edit.user, channel):
                self._send_correction(conv, channel, ts, record)
            return
        text = edit.text
        if is_internal_note(text or edit.previous_text):
            return
        if not record and time.time() - float(ts or 0) > self.settings.send_delay + RECENT:
            return
        if edit.op == "edit" and text == edit.previous_text:
            return  # e.g. an unfurl or a file change, not a text edit
        editor = edit.user or record.get("author") or ""
        # An edit's !key is expanded before the edit can be claimed for sending (what is shown is sent).
        waiting = record.get("delivery") not in NOT_WAITING
        shown = self.canned.edited(conv, channel, ts, text, editor) if edit.op == "edit" and waiting else ""
        if edit.source == "button" and not is_channel_member(self.store, self.slack, editor, channel):
            return  # 取り消し of a picked 定型文: triage channel members only
        digest = hashlib.sha256(text.encode()).hexdigest()[:8]
        # Each step once (bridge.store.steps): the change is applied before its confirmation is
        # posted; when that post has to wait for the channel's turn (RetryLater), the retry finds the
        # reply already cancelled — it must resume at the confirmation, not take "too late" for an answer.
        steps = self.store.steps(f"undo-{edit.op}-{channel}-{ts}-{digest}")
        result = steps.once("change", lambda: self.held.change(channel, ts, "delete" if edit.op == "delete" else "edit", text))
        if result == "changed":
            key = "undo.cancelled" if edit.op == "delete" else "undo.edited"
            if edit.source == "button":
                key = "canned.pick.cancelled_by"
            steps.do("confirmed", lambda: self.slack.post_once(f"undo-{edit.op}-{channel}-{ts}-{digest}", channel,
                                                               t(key, self.lang, user=f"<@{editor}>"), thread_ts=thread_ts))
            if edit.op == "delete" and record.get("picked"):  # a picked 定型文 cancelled with its button
                self.marks.mark(channel, ts, thread_ts, "", waited=True)  # ⏳ away
                steps.do("shown", lambda: self.canned.show_state(channel, ts, record, "cancelled"))
            elif shown:
                steps.do("told", lambda: self.canned.tell(conv, editor, shown))
        elif result in ("sending", "sent") and editor:
            if edit.op == "delete":
                late = "canned.pick.too_late" if edit.source == "button" else "undo.too_late_delete"
                self.slack.post_ephemeral(channel, editor, t(late, self.lang), thread_ts=thread_ts)
            else:
                self.held.set(channel, ts, correction_text=text)
                offer, blocks = correction_offer(channel, ts, thread_ts, self.lang)
                self.slack.post_ephemeral(channel, editor, offer, blocks=blocks, thread_ts=thread_ts)
        steps.close()

    def _send_correction(self, conv: Conversation, channel: str, ts: str, record: dict[str, str]) -> None:
        text = record.get("correction_text") or ""
        if not text:
            return
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        texts = split_for_line(t("undo.correction_prefix", self.lang) + slack_to_line(text, self.names(text)))
        author = record.get("author") or ""
        fix_ts = f"{ts}:fix:{digest}"   # the correction's own entry, pointing at the reply it corrects
        try:
            if conv.blocked:
                raise DeliveryFailed("blocked")
            via = self.delivery.deliver_to_line(conv, f"{channel}-{ts}-fix-{digest}", list(texts))
        except DeliveryFailed as exc:
            self.delivery.report_failure(channel, ts, conv.thread_ts, exc)
            self.history.staff(conv, channel, fix_ts, author, "\n".join(texts), status="failed", kind="correction",
                               corrects=slack_id(channel, ts), at=time.time(), slack_ts="")
            return
        posted = self.slack.post_once(f"fix-{channel}-{ts}-{digest}", channel, t("undo.correction_sent", self.lang),
                                      thread_ts=conv.thread_ts)
        self.history.staff(conv, channel, fix_ts, author, "\n".join(texts), via=via, status="sent", kind="correction",
                           corrects=slack_id(channel, ts), at=float(posted) if posted else time.time(), slack_ts=posted or "")

    def names(self, text: str) -> dict[str, str]:
        """The display names of the people ``text`` mentions (looked up in Slack, cached)."""
        return {user: name for user in mentioned_users(text) if (name := self.slack.user_name(user))}
