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
(:meth:`bridge.relay.slack_in.SlackIn.handle_reply`: undo window, ⏳, retry key, reactions,
failures in the thread). 取り消し within the window cancels it (bridge.relay.undo).
"""
from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import TYPE_CHECKING, Any

from bridge.access import is_channel_member
from bridge.friends.canned import unknown_keys
from bridge.friends.ops import canned_texts, expand_canned
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, RetryLater
from bridge.services import Component, Services
from bridge.slack_ui.canned import picked_post, preview_text
from bridge.store.core import RECORD_TTL
from bridge.store.held import HeldSends
from bridge.text.mrkdwn import escape

if TYPE_CHECKING:
    from bridge.relay.slack_in import SlackIn

log = logging.getLogger(__name__)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class CannedSend(Component):
    def __init__(self, services: Services, held: HeldSends):
        super().__init__(services)
        self.held = held

    def expanded(self, conv: Conversation, event: dict[str, Any], source: str) -> tuple[str, list[str]]:
        """``source`` with its ``!key``s expanded, computed once per text of a message; (text, keys used)."""
        if event.get("picked"):
            return source, []  # expanded when it was picked; the post shows exactly this
        channel, ts = event["channel"], event["ts"]
        record = self.store.get_slack_message(channel, ts)
        if record.get("expanded_from") == digest(source):
            return record.get("expanded_text", ""), [k for k in record.get("expanded_keys", "").split(",") if k]
        text, used = expand_canned(self.services, conv, {**event, "text": source})
        if used:
            self.held.set(channel, ts, expanded_from=digest(source), expanded_text=text, expanded_keys=",".join(used))
        return text, used

    def notice(self, conv: Conversation, event: dict[str, Any], source: str, seconds: float) -> str:
        """What the author sees while the reply waits ("" without ``!``); raises canned_unknown."""
        if "!" not in source:
            return ""
        text, used = self.expanded(conv, event, source)
        return preview_text(text if used else "", max(1, math.ceil(seconds)),
                            unknown_keys(source, canned_texts(self.services, conv)), self.lang)

    def preview(self, conv: Conversation, event: dict[str, Any]) -> None:
        """A typed reply enters its undo window: its author sees the exact text LINE will get."""
        if event.get("picked"):
            return  # its post in the thread shows it already (and its text is not expanded again)
        send_at = float(event.get("send_at") or 0)
        shown = self.notice(conv, event, event.get("text") or "", send_at - time.time())
        if shown:
            self.tell(conv, event.get("user", ""), shown)

    def edited(self, conv: Conversation, channel: str, ts: str, text: str, editor: str) -> str:
        """An edit within the window: expanded now (before it can be claimed); returns what to show."""
        record = self.store.get_slack_message(channel, ts)
        remaining = float(record.get("send_at") or 0) - time.time()
        try:
            return self.notice(conv, {"channel": channel, "ts": ts, "user": editor}, text, remaining)
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
        """A picked 定型文's post once it is sent, failed or cancelled (the 取り消し button goes away)."""
        if not record.get("picked"):
            return
        text, blocks = picked_post(record.get("author", ""), record["picked"], record.get("expanded_text", ""),
                                   self.lang, status)
        try:
            self.slack.update(channel, ts, text, blocks)
        except (DeliveryFailed, RetryLater) as exc:
            log.info("picked 定型文 %s not updated: %s", ts, exc)


class CannedPicks(Component):
    """``canned_pick`` work items: {op_id, conv_id, channel, thread_ts, user, key, extra, send_at}."""

    def __init__(self, services: Services, slack_in: "SlackIn"):
        super().__init__(services)
        self.slack_in = slack_in
        self.canned = slack_in.canned

    def handle_item(self, payload: dict[str, Any]) -> None:
        conv = self.store.get_conversation(payload.get("conv_id", ""))
        op_id, user, key = payload.get("op_id", ""), payload.get("user", ""), payload.get("key", "")
        if conv is None or not conv.thread_ts or not op_id or not user:
            return
        r, rec_key = self.store.r, self.store.keys.canned_pick(op_id=op_id)
        record = r.hgetall(rec_key)
        if "text" not in record:
            if not is_channel_member(self.store, self.slack, user, conv.channel):
                self.canned.tell(conv, user, t("op.refused", self.lang, channel=f"<#{conv.channel}>"))
                return
            if key not in canned_texts(self.services, conv):
                self.canned.tell(conv, user, t("canned.pick.unknown", self.lang, name=key))
                return
            extra = (payload.get("extra") or "").strip()
            source = f"!{key}" + (f"\n{escape(extra)}" if extra else "")  # typed plain text, as Slack markup
            text, _ = expand_canned(self.services, conv, {"user": user, "text": source})
            r.hsetnx(rec_key, "text", text)  # the first expansion is the one shown and sent
            r.expire(rec_key, RECORD_TTL)
            record = r.hgetall(rec_key)
        text = record["text"]
        send_at = float(payload.get("send_at") or 0)
        fallback, blocks = picked_post(user, key, text, self.lang, "waiting", max(0, math.ceil(send_at - time.time())))
        ts = self.slack.post_once(f"canned-pick-{op_id}", conv.channel, fallback, blocks=blocks,
                                  thread_ts=conv.thread_ts, username=self.slack.user_name(user) or None,
                                  icon_url=self.slack.user_icon(user))
        if not record.get("ts"):
            self.store.link_slack_message(conv.channel, ts, conv.conv_id, "staff", author=user, picked=key,
                                          expanded_text=text)
            r.hset(rec_key, "ts", ts)
        event = {"channel": conv.channel, "ts": ts, "thread_ts": conv.thread_ts, "user": user, "text": text,
                 "send_at": send_at, "picked": key}
        self.slack_in.handle_reply(conv, event)  # RetryLater while the undo window is open
        final = self.store.get_slack_message(conv.channel, ts)
        state = final.get("delivery")
        if state in ("sent", "failed", "cancelled") and r.hsetnx(rec_key, "shown", state):
            if state == "cancelled":
                self.slack_in.undo.settled(conv.channel, ts, waited=bool(final.get("held_at")), thread_ts=conv.thread_ts)
            self.canned.show_state(conv.channel, ts, final, state)
