"""Follow and unfollow of a 1:1 friend: recorded always, shown in Slack only where a chat exists.

Why: LINE OA Manager does not put a new friend in 要対応 — its greeting message
(あいさつメッセージ) answers them. On a campaign day a thread per new friend would spend the
triage channel's post budget (about one post per second) on chats nobody needs to answer
and bury the real ones in /pending. So with ``follow = "quiet"`` (the default, per account):

* a follow of a friend without a thread creates nothing in Slack (no call at all, no profile
  lookup, no /pending entry): the follow time and whether it was an unblock are recorded
  (:mod:`bridge.store.follows`) and shown on the parent once the friend writes;
* an unfollow of a friend without a thread is recorded (the friend blocks the account) and
  creates nothing either;
* a friend who already has a thread sees follow and unfollow in it, as before.

``follow = "thread"`` keeps the old behaviour: every follow opens a thread and a 要対応 entry.
Follows are recorded in both modes (/stats, App Home). The follow's reply token is never
used by the bridge in quiet mode, and auto-replies never answer a follow: the greeting
message does.
"""
from __future__ import annotations

import logging
import time

from bridge.model import InboundMessage
from bridge.services import Component
from bridge.store.follows import follow_record, record_follow, record_unfollow

log = logging.getLogger(__name__)


class Follows(Component):
    def handle(self, msg: InboundMessage) -> bool:
        """Record a 1:1 follow/unfollow; True when nothing more is to be done (nothing to show)."""
        if msg.kind not in ("follow", "unfollow") or msg.source_type != "user":
            return False
        at = msg.timestamp_ms / 1000 if msg.timestamp_ms else time.time()
        conv = self.store.get_conversation(msg.conv_id)
        quiet = self.accounts.require(msg.account).quiet_follows
        if msg.kind == "unfollow":
            record_unfollow(self.store, msg.account, msg.conv_id, at)
            if conv is None:
                log.info("LINE unfollow from %s, who never wrote: recorded, nothing to show", msg.conv_id)
                return True
        else:
            event = msg.extra.get("event") or {}
            flag = event.get("follow", {}).get("isUnblocked") if isinstance(event.get("follow"), dict) else None
            unblocked = flag is True or bool(conv and conv.blocked) or follow_record(self.store, msg.conv_id).blocked
            record_follow(self.store, msg.account, msg.conv_id, at, unblocked, msg.webhook_event_id)
        if quiet and (conv is None or not conv.thread_ts):
            if conv is not None:  # a conversation whose thread was never posted: keep its state right
                self.store.update_conversation(conv.conv_id, blocked=msg.kind == "unfollow")
            log.info("LINE %s of %s: recorded quietly (no thread)", msg.kind, msg.conv_id)
            return True
        return False
