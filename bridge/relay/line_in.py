"""LINE → Slack: a friend's messages and notable events appear in the conversation's thread."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import replace
from typing import Any

from bridge.engine import work
from bridge.automation import Automation
from bridge.archive.recorder import Recorder
from bridge.friends.transcript import inbound_time
from bridge.i18n import t
from bridge.line.events import inbound_from_line, member_ids
from bridge.media.inbound import MediaIn
from bridge.model import Conversation, InboundMessage, LineEventItem
from bridge.ports import ParentRefresher, WorkQueue
from bridge.relay.batch import batch_text, post_key_of, sent_secs
from bridge.relay.follows import Follows
from bridge.relay.line_extras import LineExtras
from bridge.relay.portal import Portals
from bridge.relay.saturation import Saturation
from bridge.services import Component, Services
from bridge.text import mrkdwn, preview
from bridge.triage.ops import Triage

log = logging.getLogger(__name__)

GOODBYE_NOTICES = ("unfollow", "leave", "memberLeft", "unsend")
STATE_OF_NOTICE = {"unfollow": {"blocked": True}, "follow": {"blocked": False},
                   "leave": {"left": True}, "join": {"left": False}}
TOKEN_EVENTS = ("follow", "join", "postback")  # notices whose reply token staff may use


class LineIn(Component):
    def __init__(self, services: Services, portals: Portals, parents: ParentRefresher, triage: Triage,
                 automation: Automation, queue: WorkQueue | None):
        super().__init__(services)
        self.portals = portals
        self.parents = parents
        self.triage = triage
        self.automation = automation  # auto-assignment, auto-replies, /stats see each friend message
        self.media = MediaIn(services, queue)  # the queue: an incomplete imageSet is shown after a wait
        self.extras = LineExtras(services, self.media, portals)
        self.history = Recorder(services)  # the archive of every message
        self.saturation = Saturation(services)  # the channel's notice when Slack's post limit holds chats back
        self.follows = Follows(services)  # follow/unfollow recorded; quiet follows show nothing
        self._created: set[str] = set()  # conversations this drain created (their parent needs no search)

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``line_event`` item (:class:`~bridge.model.LineEventItem`)."""
        item = LineEventItem.from_payload(payload)
        if item is None or self.accounts.get(item.account) is None:
            log.warning("LINE event for unknown account %r or malformed; dropped", str(payload.get("account"))[:40])
            return
        account, event = item.account, item.event
        if event.get("type") == "messageEdited":
            self.extras.edit(account, event)
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
        self.handle_messages([msg])

    def note_messages(self, msgs: list[InboundMessage]) -> tuple[Conversation, bool]:
        """The state step of friend messages: the conversation (created, numbered), its waiting
        clock, mark, preview and the /pending indexes, never behind a Slack call.

        Why: Slack takes one post per second per channel; /pending, App Home and SLA timers
        must be right within a second however far behind the channel is. Runs before the post
        and again on every retry of it; each message is noted once (its post record says so),
        keeping what the post step needs from before it (was the chat closed, the conversation
        as automation saw it)."""
        conv, created = self.portals.ensure_conversation(msgs[0])
        if created:
            if len(self._created) > 1000:
                self._created.clear()
            self._created.add(conv.conv_id)
        for m in msgs:
            key = post_key_of(m)
            if self.store.get_record("slack_post", key).get("noted"):
                continue
            before = conv
            sent = _sent_at(m)
            changes: dict[str, Any] = self.triage.on_friend_message(conv, sent)
            latest = self.store.get_conversation(conv.conv_id) or conv
            if sent >= latest.last_message_at:  # the newest message so far: /pending shows its start
                changes["last_message_preview"] = preview(m.text)
            if m.mark_as_read_token and not m.standby:
                # Kept until a person claims the chat: 既読 then means a human read it.
                changes["mark_as_read_token"] = m.mark_as_read_token
            if changes:
                self.store.update_conversation(conv.conv_id, **changes)
            if "mark" in changes:  # reopened (or answered) by the friend's message: just after it in the archive
                self.triage.record(conv.conv_id, f"reopen-{m.account}-{m.message_id}", {"mark": changes["mark"]}, sent + 0.001)
            self.backlog.reindex(conv.conv_id)
            self.store.set_record("slack_post", key, noted="1",
                                  reopen="1" if self.marks.state(before.mark) == "closed" else "",
                                  before=json.dumps(_shown(before).to_hash(), ensure_ascii=False))
            conv = self.store.get_conversation(conv.conv_id) or conv
        self.saturation.waiting(conv, _sent_at(msgs[0]))
        if conv.thread_ts:
            self.parents.request(conv.conv_id)
        return conv, created or conv.conv_id in self._created

    def note_items(self, items: list[dict[str, Any]]) -> None:
        """The state step for every friend message waiting in a stream (the head may wait for Slack)."""
        pending: list[InboundMessage] = []
        for item in items:
            payload = item.get("payload") or {}
            account, event = payload.get("account") or "", payload.get("event")
            if item.get("kind") != work.LINE_EVENT or not isinstance(event, dict) or self.accounts.get(account) is None:
                continue
            msg = inbound_from_line(account, event, self.lang)
            if msg is not None and not msg.is_notice:
                pending.append(msg)
        by_conv: dict[str, list[InboundMessage]] = {}
        for msg in pending:
            by_conv.setdefault(msg.conv_id, []).append(msg)
        for msgs in by_conv.values():
            self.note_messages(msgs)

    def handle_messages(self, msgs: list[InboundMessage]) -> None:
        """Relay one friend message, or several consecutive ones of one sender as ONE Slack message
        (:mod:`bridge.relay.batch`); every LINE message id then maps to that Slack message.

        A new conversation's first messages are its thread parent (one post, not two); a file
        that comes first is uploaded into the thread under a parent of its own."""
        msg = msgs[0]
        conv, created = self.note_messages(msgs)
        sender = self.portals.sender_profile(conv, msg.sender_id)
        texts = []
        for m in msgs:
            text = mrkdwn.escape(m.text)  # a friend's text, or a placeholder naming their file, place, stickers…
            if m.standby:
                text += "\n_" + t("notice.standby", self.lang) + "_"
            texts.append(self.extras.quote_prefix(conv, m) + text)
        text = texts[0] if len(msgs) == 1 else batch_text(msgs, texts)
        records = [self.store.get_record("slack_post", post_key_of(m)) for m in msgs]
        # A friend writing after 対応済み reopens the conversation in the same thread; the
        # parent is far up the channel by then, so this message is also broadcast to it.
        reopened = any(r.get("reopen") for r in records)
        external = self.media.external_text(msg) if self.media.handles(msg) else None
        is_file = len(msgs) == 1 and self.media.handles(msg) and external is None
        self.saturation.check(conv.channel)  # before this post waits for its turn
        in_parent = not conv.thread_ts and not is_file
        if in_parent:
            first = batch_text(msgs, texts)
            if not conv.is_one_to_one:  # a group's parent names the group: who wrote comes with the words
                first = f"*{mrkdwn.escape(sender.display_name)}*\n{first}"
            try:
                ts = self.portals.post_parent(conv, post_key_of(msg), first, [m.message_id for m in msgs], created)
            finally:  # a retry may follow an attempt that reached Slack: it searches first
                self._created.discard(conv.conv_id)
            linked = [(m, m.message_id) for m in msgs]
        elif is_file:
            conv = self.portals.ensure_portal(msg)
            shown = self.media.relay(conv, msg, sender)
            if shown is None:
                return  # an imageSet still being collected: shown with its last image
            ts, line_ids = shown
            linked = [(msg, line_id) for line_id in line_ids]
        else:
            ts = self.slack.post_once(
                post_key_of(msg), conv.channel, (external or text) or " ",
                blocks=self.extras.sticker_blocks(msg, text) if len(msgs) == 1 else None, thread_ts=conv.thread_ts,
                username=sender.display_name, icon_url=sender.picture_url or None, reply_broadcast=reopened,
            )
            linked = [(m, m.message_id) for m in msgs]
        # A batch (and the parent) keeps each message's part of the post: unsend and edit re-render it from them.
        parts = {m.message_id: {"shown": part, "sent": str(sent_secs(m))} for m, part in zip(msgs, texts)} \
            if len(msgs) > 1 or in_parent else {}
        for m, line_id in linked:
            if line_id:
                self.store.link_line_message(m.account, line_id, conv.conv_id, ts, quote_token=m.quote_token,
                                             mark_as_read_token=m.mark_as_read_token, preview=preview(m.text),
                                             at=repr(inbound_time(m, ts)), **parts.get(line_id, {}))
        if ts:
            if not in_parent:
                extra = {"line_message_ids": ",".join(m.message_id for m in msgs)} if len(msgs) > 1 else {}
                self.store.link_slack_message(conv.channel, ts, conv.conv_id, "friend", line_message_id=msg.message_id,
                                              sender=msg.sender_id, **extra)
            for m in msgs:
                self.record(conv, m, sender.display_name, ts)
        self.saturation.shown(conv)
        used = set()  # messages whose reply token an auto-reply took (single use)
        for m, record in zip(msgs, records):
            # Automation sees the conversation as it was before the message (a new chat, a reopened one).
            if self.automation.on_friend_message(_before(record, conv), m, _sent_at(m)):
                used.add(m.message_id)
        for m in reversed(msgs):
            if m.message_id in used:
                break  # the newest token went to an auto-reply; older ones are stale
            if self._keeps_reply_token(m):
                # Reply tokens are single-use and expire quickly; the age counts from LINE's timestamp.
                self.store.save_reply_token(conv.conv_id, m.reply_token, _sent_at(m))
                break
        self.parents.request(conv.conv_id)

    def handle_image_set_due(self, payload: dict[str, Any]) -> None:
        """An imageSet's wait ran out (:mod:`bridge.media.inbound`): what arrived is shown, with how many of how many."""
        conv = self.store.get_conversation(str(payload.get("conv_id") or ""))
        if conv is None or not conv.thread_ts or conv.account != payload.get("account"):
            return
        sender = self.portals.sender_profile(conv, str(payload.get("sender") or ""))
        shown = self.media.relay_incomplete_set(conv, payload, sender)
        if shown is None:
            return  # complete after all: shown with its last image
        ts, line_ids, msg = shown
        for line_id in line_ids:
            self.store.link_line_message(conv.account, line_id, conv.conv_id, ts, preview=msg.text)
        if ts:
            self.store.link_slack_message(conv.channel, ts, conv.conv_id, "friend", line_message_id=msg.message_id,
                                          sender=msg.sender_id)
            self.record(conv, msg, sender.display_name, ts)

    def record(self, conv: Conversation, msg: InboundMessage, name: str, ts: str) -> None:
        """The friend's message in the archive, with the media it showed."""
        media = self.media.archived(msg.account, msg.message_id) if self.media.handles(msg) else None
        self.history.friend(conv, msg, name, ts, inbound_time(msg, ts), media=media)

    def handle_notice(self, msg: InboundMessage) -> None:
        if self.follows.handle(msg):
            return
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
        text = mrkdwn.escape(text)  # member names, postback data: all from LINE
        if msg.kind == "unsend" and self.extras.unsend(conv, msg):
            return  # the Slack copy itself now says it was unsent
        self.slack.post_once(f"line-{msg.account}-{msg.webhook_event_id}", conv.channel, text, thread_ts=conv.thread_ts)
        changes = STATE_OF_NOTICE.get(msg.kind)
        if changes:
            self.store.update_conversation(conv.conv_id, **changes)
            self.parents.request(conv.conv_id)
        if self._keeps_reply_token(msg) and msg.kind in TOKEN_EVENTS:
            self.store.save_reply_token(conv.conv_id, msg.reply_token, msg.timestamp_ms / 1000 or time.time())


def _shown(conv: Conversation) -> Conversation:
    """The conversation without its tokens (kept in a post record for the post step)."""
    return replace(conv, reply_token="", reply_token_at=0.0, mark_as_read_token="")


def _before(record: dict[str, str], conv: Conversation) -> Conversation:
    """The conversation as the state step saw it before a message, in its current thread."""
    try:
        before = Conversation.from_hash(json.loads(record.get("before") or "{}"))
    except (ValueError, TypeError):
        return conv
    if not before.conv_id:
        return conv
    return replace(before, channel=conv.channel, thread_ts=conv.thread_ts)


def _sent_at(msg: InboundMessage) -> float:
    return msg.timestamp_ms / 1000 if msg.timestamp_ms else time.time()
