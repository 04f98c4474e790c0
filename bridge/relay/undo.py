"""The undo window: a staff reply waits ``BRIDGE_SEND_DELAY_SECONDS`` before it goes to LINE.

The web handler stamps each Slack message item with ``send_at``. When the relay first meets a
reply whose window is still open, the reply is *held*: ⏳ on the message, LINE's loading
animation to the friend (1:1 chats), the 今すぐ送信（無料） offer to its author when the friend's
reply token runs out first — and its send is *scheduled*: the same work item, marked ``due``,
is queued into the thread's stream for the window's end (:meth:`bridge.ports.WorkQueue.accept_later`,
kept in Redis, so a worker restart does not lose it). The thread's stream is not held
meanwhile: the next reply is held in its turn, and its send is scheduled after this one's.

At the window's end the ``due`` item runs and the reply is claimed atomically
(:class:`~bridge.store.held.HeldSends`): sent exactly once even with several workers, a
double click on 今すぐ送信 or an edit racing the send; deleted in time, it is not sent.
今すぐ送信 queues the ``due`` item at once (same origin and id: the scheduled one is then a
duplicate the inbox drops).

This module is one component and imports nothing from the relay: the marks on the message
come through the :class:`ReplyMarks` port.
"""
from __future__ import annotations

import json
import logging
import math
import time
from typing import Any, Protocol

from bridge.engine import work
from bridge.model import Conversation, DeliveryFailed, RetryLater, StaffMessage
from bridge.ports import WorkQueue
from bridge.services import Component, Services
from bridge.slack_ui.free_reply import send_now_offer
from bridge.store.held import HeldSends

log = logging.getLogger(__name__)

REACTION_WAITING = "hourglass_flowing_sand"  # ⏳ a staff reply in its undo window
ORIGIN = "undo"                              # the scheduled send's dedupe origin (its id: "<channel>-<ts>")
AFTER_PREVIOUS = 0.05                        # s: a send scheduled behind the thread's previous one comes after it


class ReplyMarks(Protocol):
    """The marks on staff replies (bridge.relay.decorations): ``reaction`` "" only takes ⏳ away."""

    def mark(self, channel: str, ts: str, thread_ts: str, reaction: str, waited: bool = False) -> None: ...


def resume_item(record: dict[str, str]) -> tuple[str, str, str, dict[str, Any]] | None:
    """(event id, stream, kind, payload) of a held reply's scheduled send, from its record (今すぐ送信)."""
    try:
        event_id, stream, kind, payload = json.loads(record.get("resume") or "")
    except (ValueError, TypeError):
        return None
    return (event_id, stream, kind, payload) if isinstance(payload, dict) else None


class UndoWindow(Component):
    def __init__(self, services: Services, held: HeldSends, marks: ReplyMarks, queue: WorkQueue | None):
        """``queue`` None (in-process use): nothing can be scheduled, a reply is sent at once."""
        super().__init__(services)
        self.held = held
        self.marks = marks
        self.queue = queue

    def take(self, conv: Conversation, msg: StaffMessage, kind: str, payload: dict[str, Any]) -> tuple[str, str]:
        """("held", "") while ``msg`` must wait: it is held and its send (``kind``/``payload`` again,
        marked ``due``) scheduled at the window's end. Else it is claimed for sending: ("sending",
        its text as edited in the window or ""), or the final state that says not to send it."""
        if self._hold(conv, msg, kind, payload):
            return "held", ""
        return self.held.claim(msg.channel, msg.ts)

    def _hold(self, conv: Conversation, msg: StaffMessage, kind: str, payload: dict[str, Any]) -> bool:
        if msg.due or self.queue is None or not msg.send_at:
            return False
        record = self.store.get_slack_message(msg.channel, msg.ts)
        if record.get("send_now"):
            return False  # its author skipped the rest of the window (今すぐ送信（無料）)
        delay = msg.send_at - time.time()
        if delay <= 0:
            # Over already (its stream was slow): it still goes after the thread's reply held before it.
            delay = self._after_previous(msg)
            if delay <= 0:
                return False
        stream = work.slack_stream(msg.channel, msg.thread_ts)
        due = (f"{msg.channel}-{msg.ts}", stream, kind, {**payload, "due": True})
        # Scheduled first: a crash after it cannot lose the send (a retry schedules the same item again).
        self.queue.accept_later(delay, ORIGIN, *due)
        if not record.get("held_at"):
            # A reply held before this one still waits: it goes first and takes the friend's reply
            # token, so sending this one "now, free" would be neither first nor free. No offer then.
            offer = not self._previous_waits(msg)
            # ⏳ on the thread's decoration stream (queued, deduplicated): Slack's reaction pacing never holds the reply up.
            self.marks.mark(msg.channel, msg.ts, conv.thread_ts, REACTION_WAITING)
            self.store.link_slack_message(msg.channel, msg.ts, conv.conv_id, "staff", author=msg.user,
                                          held_at=repr(time.time()), send_at=repr(msg.send_at),
                                          resume=json.dumps(due, ensure_ascii=False))
            self.held.set(msg.channel, msg.thread_ts, held_last=msg.ts, held_until=repr(time.time() + delay))
            if offer:
                self._offer_free_reply(conv, msg)
            if conv.is_one_to_one and not conv.blocked:
                try:
                    self.line_of(conv).show_loading(conv.line_id, max(5, min(60, 5 * math.ceil(delay / 5))))
                except (DeliveryFailed, RetryLater) as exc:
                    log.info("no loading animation for %s: %s", conv.conv_id, exc)
        return True

    def _previous_waits(self, msg: StaffMessage) -> bool:
        """The thread's previous held reply is not sent (nor failed, nor cancelled) yet."""
        previous = self.store.get_slack_message(msg.channel, msg.thread_ts).get("held_last") or ""
        if not previous or previous == msg.ts:
            return False
        return self.store.get_slack_message(msg.channel, previous).get("delivery") not in ("sent", "failed", "cancelled")

    def _after_previous(self, msg: StaffMessage) -> float:
        """How long until the send of the thread's previous held reply, if it is not sent yet."""
        if not self._previous_waits(msg):
            return 0.0
        thread = self.store.get_slack_message(msg.channel, msg.thread_ts)
        return max(0.0, float(thread.get("held_until") or 0) - time.time()) + AFTER_PREVIOUS

    def _offer_free_reply(self, conv: Conversation, msg: StaffMessage) -> None:
        """The friend's reply token expires before the window ends: offer the author to send now, free.

        Without the offer the reply would quietly become a push counted against the monthly quota.
        """
        if not (conv.reply_token and conv.reply_token_at and msg.user) or not self.account_of(conv).uses_reply_tokens:
            return
        now, deadline = time.time(), conv.reply_token_at + self.settings.reply_token_ttl
        if not now < deadline < msg.send_at:
            return
        text, blocks = send_now_offer(msg.channel, msg.ts, conv.thread_ts, deadline, now, self.lang)
        try:
            self.slack.post_ephemeral(msg.channel, msg.user, text, blocks=blocks, thread_ts=conv.thread_ts)
        except (DeliveryFailed, RetryLater) as exc:
            log.info("no free-reply offer for %s: %s", msg.ts, exc)
