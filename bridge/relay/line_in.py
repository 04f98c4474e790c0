"""LINE → Slack: a friend's messages and notable events appear in the conversation's thread."""
from __future__ import annotations

import logging
import time
from typing import Any

from bridge.friends.transcript import record_inbound
from bridge.i18n import t
from bridge.line.events import inbound_from_line, member_ids
from bridge.model import InboundMessage
from bridge.relay.portal import Portals
from bridge.services import Component, Services
from bridge.text import line_to_slack, preview
from bridge.triage.ops import Triage

log = logging.getLogger(__name__)

GOODBYE_NOTICES = ("unfollow", "leave", "memberLeft", "unsend")
STATE_OF_NOTICE = {"unfollow": {"blocked": True}, "follow": {"blocked": False},
                   "leave": {"left": True}, "join": {"left": False}}
TOKEN_EVENTS = ("follow", "join", "postback")  # notices whose reply token staff may use


class LineIn(Component):
    def __init__(self, services: Services, portals: Portals, triage: Triage):
        super().__init__(services)
        self.portals = portals
        self.triage = triage

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A work item: {"account": key, "event": <LINE webhook event>}."""
        account, event = payload.get("account") or "", payload.get("event")
        if self.accounts.get(account) is None or not isinstance(event, dict):
            log.warning("LINE event for unknown account %r or malformed; dropped", account)
            return
        inbound = inbound_from_line(account, event, self.lang)
        if inbound is None:
            log.info("LINE event %s (%s) acknowledged, nothing to show", str(event.get("type"))[:40],
                     str(event.get("webhookEventId"))[:40])
            return
        if inbound.is_notice:
            self.handle_notice(inbound)
        else:
            self.handle_message(inbound)

    def _keeps_reply_token(self, msg: InboundMessage) -> bool:
        """Staff may use the event's reply token: not in standby, and not when another tool answers with it."""
        return bool(msg.reply_token) and not msg.standby and self.accounts.require(msg.account).uses_reply_tokens

    def handle_message(self, msg: InboundMessage) -> None:
        conv = self.portals.ensure_portal(msg)
        sender = self.portals.sender_profile(conv, msg.sender_id)
        text = line_to_slack(msg.text) if msg.kind == "text" else msg.text
        if msg.standby:
            text += "\n_" + t("notice.standby", self.lang) + "_"
        sent_at = msg.timestamp_ms / 1000 if msg.timestamp_ms else time.time()
        changes = self.triage.on_friend_message(conv, sent_at)
        # A friend writing after 対応済み reopens the conversation in the same thread; the
        # parent is far up the channel by then, so this message is also broadcast to it.
        reopened = self.marks.state(conv.mark) == "closed"
        ts = self.slack.post_once(
            f"line-{msg.account}-{msg.webhook_event_id or msg.message_id}", conv.channel, text or " ",
            thread_ts=conv.thread_ts, username=sender.display_name, icon_url=sender.picture_url or None,
            reply_broadcast=reopened,
        )
        if msg.message_id:
            self.store.link_line_message(msg.account, msg.message_id, conv.conv_id, ts, quote_token=msg.quote_token,
                                         mark_as_read_token=msg.mark_as_read_token)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "friend", line_message_id=msg.message_id,
                                      sender=msg.sender_id)
        record_inbound(self.services, conv, msg, sender.display_name, ts)  # chat history for /export
        changes["last_message_preview"] = preview(msg.text)
        if msg.mark_as_read_token and not msg.standby:
            # Kept until a person claims the chat: 既読 then means a human read it.
            changes["mark_as_read_token"] = msg.mark_as_read_token
        self.store.update_conversation(conv.conv_id, **changes)
        self.backlog.reindex(conv.conv_id)
        if self._keeps_reply_token(msg):
            # Reply tokens are single-use and expire quickly; the age counts from LINE's timestamp.
            self.store.save_reply_token(conv.conv_id, msg.reply_token, sent_at)
        self.portals.request_parent_refresh(conv.conv_id)

    def handle_notice(self, msg: InboundMessage) -> None:
        if msg.kind in GOODBYE_NOTICES and self.store.get_conversation(msg.conv_id) is None:
            # Someone we never talked to leaves or blocks: no thread to open for that.
            log.info("LINE %s from unknown chat %s: nothing to show", msg.kind, msg.conv_id)
            return
        conv = self.portals.ensure_portal(msg)
        text = msg.text
        if msg.kind in ("memberJoined", "memberLeft"):
            # Names are looked up now (the event only carries ids).
            for uid in member_ids(msg.extra["event"]):
                prof = self.line_of(conv).profile(conv.source_type, conv.line_id, uid) if msg.kind == "memberJoined" else None
                text = text.replace(f"<{uid}>", prof.display_name if prof else uid[:8] + "…")
        if msg.kind == "follow" and conv.blocked:
            text = t("notice.refollow", self.lang)
        self.slack.post_once(f"line-{msg.account}-{msg.webhook_event_id}", conv.channel, text, thread_ts=conv.thread_ts)
        changes = STATE_OF_NOTICE.get(msg.kind)
        if changes:
            self.store.update_conversation(conv.conv_id, **changes)
            self.portals.request_parent_refresh(conv.conv_id)
        if self._keeps_reply_token(msg) and msg.kind in TOKEN_EVENTS:
            self.store.save_reply_token(conv.conv_id, msg.reply_token, msg.timestamp_ms / 1000 or time.time())
