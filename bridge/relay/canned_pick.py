"""A 定型文 picked in the shortcut's modal (a ``canned_pick`` item on the thread's own Slack stream,
ordered with typed replies): expanded once, posted in the thread by the bridge — attributed to
the staff member, with a 取り消し button — and that post sent like a typed reply
(:meth:`bridge.relay.reply.Replies.send_reply`); its post then shows what became of it."""
from __future__ import annotations

import math
import time
from typing import Any

from bridge.engine import work
from bridge.access import is_channel_member
from bridge.friends.ops import canned_texts, expand_canned
from bridge.i18n import t
from bridge.model import CannedPick, StaffMessage
from bridge.relay.canned_send import CannedSend
from bridge.relay.decorations import Decorations
from bridge.relay.reply import Replies
from bridge.services import Component, Services
from bridge.slack_ui.canned import picked_post
from bridge.text.mrkdwn import escape


class CannedPicks(Component):
    def __init__(self, services: Services, canned: CannedSend, replies: Replies, marks: Decorations):
        super().__init__(services)
        self.canned = canned
        self.replies = replies
        self.marks = marks

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``canned_pick`` item (:class:`~bridge.model.CannedPick`)."""
        pick = CannedPick.from_payload(payload)
        conv = self.store.get_conversation(pick.conv_id)
        op_id, user, key = pick.op_id, pick.user, pick.key
        if conv is None or not conv.thread_ts or not op_id or not user:
            return
        picks = self.services.stores.canned
        record = picks.pick(op_id)
        if "text" not in record:
            if not is_channel_member(self.store, self.slack, user, conv.channel):
                self.canned.tell(conv, user, t("op.refused", self.lang, channel=f"<#{conv.channel}>"))
                return
            if key not in canned_texts(self.services, conv):
                self.canned.tell(conv, user, t("canned.pick.unknown", self.lang, name=key))
                return
            extra = pick.extra.strip()
            source = f"!{key}" + (f"\n{escape(extra)}" if extra else "")  # typed plain text, as Slack markup
            text, _ = expand_canned(self.services, conv, {"user": user, "text": source})
            record = picks.keep_pick_text(op_id, text)  # the first expansion is the one shown and sent
        text = record["text"]
        fallback, blocks = picked_post(user, key, text, self.lang, "waiting", max(0, math.ceil(pick.send_at - time.time())))
        ts = self.slack.post_once(f"canned-pick-{op_id}", conv.channel, fallback, blocks=blocks,
                                  thread_ts=conv.thread_ts, username=self.slack.user_name(user) or None,
                                  icon_url=self.slack.user_icon(user))
        if not record.get("ts"):
            self.store.link_slack_message(conv.channel, ts, conv.conv_id, "staff", author=user, picked=key,
                                          expanded_text=text)
            picks.set_pick_ts(op_id, ts)
        msg = StaffMessage(conv.channel, ts, conv.thread_ts, user=user, text=text, send_at=pick.send_at, picked=key,
                           due=pick.due)
        state = self.replies.send_reply(conv, msg, work.CANNED_PICK, {**payload, "channel": conv.channel,
                                                                       "thread_ts": conv.thread_ts})
        if state not in ("sent", "failed", "cancelled"):
            return
        # Claimed once, shown once (bridge.store.steps): a paced chat.update resumes on the retry
        # instead of finding the claim taken and leaving the post with its 取り消し button.
        steps = self.store.steps(f"canned-pick-{op_id}")
        if steps.once("claimed", lambda: picks.claim_pick_shown(op_id, state)):
            final = self.store.get_slack_message(conv.channel, ts)
            if state == "cancelled" and final.get("held_at"):
                self.marks.mark(conv.channel, ts, conv.thread_ts, "", waited=True)  # ⏳ away
            steps.do("shown", lambda: self.canned.show_state(conv.channel, ts, final, state))
        steps.close()
