"""LINE head batching: the friend messages waiting at the head of a conversation's stream go out as
one Slack message (the rendering and the idempotency rules: :mod:`bridge.relay.batch`)."""
from __future__ import annotations

from typing import Any

from bridge.engine import work
from bridge.line.events import inbound_from_line
from bridge.model import InboundMessage
from bridge.relay.batch import post_key_of
from bridge.relay.line_in import LineIn
from bridge.services import Component, Services

MAX_BATCH_CHARS = 3500   # Slack shows up to ~4,000 characters of a message's text well


class FriendBatches(Component):
    def __init__(self, services: Services, line_in: LineIn):
        super().__init__(services)
        self.line_in = line_in

    def head_messages(self, items: list[dict[str, Any]]) -> list[InboundMessage]:
        """The friend text messages at the head of ``items`` that can share one Slack message:
        consecutive, same sender, same mode, within MAX_BATCH_CHARS (at least one if the head is one)."""
        msgs: list[InboundMessage] = []
        chars = 0
        for item in items:
            payload = item.get("payload") or {}
            account, event = payload.get("account") or "", payload.get("event")
            if item.get("kind") != work.LINE_EVENT or not isinstance(event, dict) or self.accounts.get(account) is None:
                break
            msg = inbound_from_line(account, event, self.lang)
            if msg is None or msg.is_notice or msg.kind != "text":
                break
            if msgs and (msg.sender_id != msgs[0].sender_id or msg.standby != msgs[0].standby
                         or msg.conv_id != msgs[0].conv_id or chars + len(msg.text) > MAX_BATCH_CHARS):
                break
            msgs.append(msg)
            chars += len(msg.text)
        return msgs

    def process_head(self, items: list[dict[str, Any]]) -> int:
        """Relay the friend messages at the head of a stream (the inbox's ``batch`` hook) as one
        Slack message; returns how many items it took, 0 when the head is other work.

        Every friend message waiting in the offered items is noted first (conversation state,
        /pending), so none of them waits behind the head's Slack post for that."""
        self.line_in.note_items(items)
        msgs = self.head_messages(items)
        if not msgs:
            return 0
        key = post_key_of(msgs[0])
        record = self.store.get_record("slack_post", key)
        # "uncertain" too: an attempt answered 5xx may have posted, and its retry finds that post by its key.
        fixed = (record.get("batch") or "").split() if record.get("ts") or record.get("state") in ("pending", "uncertain") else []
        if fixed:
            # An earlier attempt may have reached Slack: exactly the same items again.
            same = 0
            for item, item_id in zip(items, fixed):
                if item.get("id") != item_id:
                    break
                same += 1
            msgs = msgs[:max(1, same)]
        else:
            self.store.set_record("slack_post", key, batch=" ".join(str(i.get("id")) for i in items[:len(msgs)]))
        self.line_in.handle_messages(msgs)
        return len(msgs)
