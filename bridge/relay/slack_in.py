"""Slack → LINE, the entry: a thread message is filtered (bots, edits, joins…), an internal note
stays in Slack, and a staff reply goes on to :meth:`bridge.relay.reply.Replies.send_reply`."""
from __future__ import annotations

import time
from typing import Any

from bridge.archive.recorder import Recorder
from bridge.engine import work
from bridge.model import Conversation, StaffMessage
from bridge.relay.filters import relayed_as
from bridge.relay.reply import Replies
from bridge.services import Component, Services

REACTION_NOTE = "memo"              # 📝 shown on an internal note


class SlackIn(Component):
    def __init__(self, services: Services, replies: Replies):
        super().__init__(services)
        self.replies = replies
        self.history = Recorder(services)  # internal notes in the archive, marked as such

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``slack_message`` item (:class:`~bridge.model.StaffMessage`): staff replies in conversation threads go to LINE."""
        msg = StaffMessage.from_payload(payload)
        if msg.channel not in self.accounts.channels() or not msg.thread_ts or msg.thread_ts == msg.ts:
            return
        what = relayed_as(msg, self.slack.bot_identity())
        conv = self.store.get_by_thread(msg.channel, msg.thread_ts) if what else None
        if conv is None:
            return
        if what == "note":
            self.handle_note(conv, msg)
            return
        self.replies.send_reply(conv, msg, work.SLACK_MESSAGE, msg.to_payload())

    def handle_note(self, conv: Conversation, msg: StaffMessage) -> None:
        if not self.store.get_slack_message(msg.channel, msg.ts):
            self.store.add_note(conv.conv_id, msg.user, msg.text, msg.ts, time.time())
            self.store.link_slack_message(msg.channel, msg.ts, conv.conv_id, "note", author=msg.user)
            self.history.note(conv, msg.channel, msg.ts, msg.user, msg.text)
        self.slack.react(msg.channel, msg.ts, REACTION_NOTE)
