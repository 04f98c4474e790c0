"""定型文 at send time: expanded once, shown before it is sent, or picked in the shortcut's modal.

A typed reply with ``!key``: when it enters its undo window, the text is expanded once and
kept on the message's record (``expanded_text``, with a digest of the text it came from); its
author gets an ephemeral message with exactly that text. The send uses the kept text while the
reply's text is unchanged, so a 友だち情報 change during the window does not change what was
shown. An edit within the window is expanded at once and shown again. A reply that is only an
unknown ``!key`` fails at once (⚠️ in the thread), before anything is sent.

A 定型文 picked in the modal (a ``canned_pick`` work item on the thread's own Slack stream, so
it is ordered with typed replies): expanded once (kept in ``canned-pick:<op_id>``), posted in the
thread by the bridge — a bot cannot post as a person — attributed to the staff member and with a
取り消し button; that post is then relayed exactly like a typed reply
(:meth:`bridge.relay.reply.Replies.send_reply`: undo window, ⏳, retry key, reactions,
failures in the thread; :mod:`bridge.relay.canned_pick`). 取り消し within the window cancels it
(bridge.relay.edits).
"""
from __future__ import annotations

import hashlib
import logging
import math
import time

from bridge.friends.canned import unknown_keys
from bridge.friends.ops import canned_texts, expand_canned
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, StaffMessage
from bridge.services import Component, Services
from bridge.slack_ui.canned import picked_post, preview_text
from bridge.store.held import HeldSends

log = logging.getLogger(__name__)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CannedSend(Component):
    def __init__(self, services: Services, held: HeldSends):
        super().__init__(services)
        self.held = held

    def expanded(self, conv: Conversation, msg: StaffMessage, source: str) -> tuple[str, list[str]]:
        """``source`` with its ``!key``s expanded, computed once per text of a message; (text, keys used)."""
        channel, ts = msg.channel, msg.ts
        record = self.store.get_slack_message(channel, ts)
        if record.get("expanded_from") == digest(source):
            return record.get("expanded_text", ""), [k for k in record.get("expanded_keys", "").split(",") if k]
        text, used = expand_canned(self.services, conv, {"user": msg.user, "text": source})
        if used:
            self.held.set(channel, ts, expanded_from=digest(source), expanded_text=text, expanded_keys=",".join(used))
        return text, used

    def notice(self, conv: Conversation, msg: StaffMessage, source: str, seconds: float) -> str:
        """What the author sees while the reply waits ("" without ``!``); raises canned_unknown."""
        if "!" not in source:
            return ""
        text, used = self.expanded(conv, msg, source)
        return preview_text(text if used else "", max(1, math.ceil(seconds)),
                            unknown_keys(source, canned_texts(self.services, conv)), self.lang)

    def preview(self, conv: Conversation, msg: StaffMessage) -> None:
        """A typed reply enters its undo window: its author sees the exact text LINE will get."""
        shown = self.notice(conv, msg, msg.text, msg.send_at - time.time())
        if shown:
            self.tell(conv, msg.user, shown)

    def edited(self, conv: Conversation, channel: str, ts: str, text: str, editor: str) -> str:
        """An edit within the window: expanded now (before it can be claimed); returns what to show."""
        record = self.store.get_slack_message(channel, ts)
        remaining = float(record.get("send_at") or 0) - time.time()
        try:
            return self.notice(conv, StaffMessage(channel, ts, user=editor), text, remaining)
        except DeliveryFailed as exc:
            return t("canned.unknown", self.lang, name=exc.detail)

    def tell(self, conv: Conversation, user: str, text: str) -> None:
        if not user:
            return
        try:
            self.slack.post_ephemeral(conv.channel, user, text, thread_ts=conv.thread_ts)
        except DeliveryFailed as exc:
            log.info("no ephemeral for %s: %s", user, exc)

    def show_state(self, channel: str, ts: str, record: dict[str, str], status: str) -> None:
        """A picked 定型文's post once it is sent, failed or cancelled (the 取り消し button goes away).

        A paced ``chat.update`` raises RetryLater: callers run this as a step (bridge.store.steps)
        that their retry resumes, so the post does not keep its 取り消し button for good."""
        if not record.get("picked"):
            return
        text, blocks = picked_post(record.get("author", ""), record["picked"], record.get("expanded_text", ""),
                                   self.lang, status)
        try:
            self.slack.update(channel, ts, text, blocks)
        except DeliveryFailed as exc:
            log.info("picked 定型文 %s not updated: %s", ts, exc)
