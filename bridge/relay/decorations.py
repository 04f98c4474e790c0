"""The marks on staff replies in Slack, off the path of the replies themselves.

Why: Slack paces ``reactions.*`` per workspace (Tier 3, ~50/min). When the reply stream
added its marks itself, each delivery waited for its turn in that bucket before the next
reply could go out, and ten quick replies reached the friend over ~17 s. Now a delivery
only queues its mark: one work item on the thread's decoration stream
(:func:`bridge.engine.work.decoration_stream`), which follows at Slack's pace while the replies
go to LINE as fast as LINE takes them.

One reaction per reply says both that LINE accepted it and what it cost: 🆓 delivered with
the reply token (free), 🔢 delivered as a push (counted against the monthly quota); ❌ it
could not be delivered. The items go through the inbox like all work (never lost on a
crash, deduplicated by message and mark), and one stream per thread keeps them in order,
so a ❌ is never followed by a late delivered mark; a delivered mark is also skipped when
the message is known to have failed. Adding a reaction twice is harmless (already_reacted).
"""
from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from bridge.engine import work
from bridge.model import Decoration, DeliveryFailed
from bridge.ports import WorkQueue
from bridge.relay.undo import REACTION_WAITING  # ⏳ the undo window, taken away with the mark
from bridge.services import Component, Services

log = logging.getLogger(__name__)

REACTION_FREE = "free"        # 🆓 delivered with the reply token (free of charge)
REACTION_COUNTED = "1234"     # 🔢 delivered as a push (counts toward the monthly quota)
REACTION_FAILED = "x"         # ❌ could not be delivered (the reason is posted in the thread)
DELIVERED = (REACTION_FREE, REACTION_COUNTED)


def delivered_mark(via: str) -> str:
    """🆓 for a free reply, 🔢 for a push."""
    return REACTION_FREE if via == "reply" else REACTION_COUNTED


class Decorations(Component):
    def __init__(self, services: Services, queue: WorkQueue | None):
        super().__init__(services)
        self.queue = queue  # None: marks are added at once (in-process use)

    def mark(self, channel: str, ts: str, thread_ts: str, reaction: str, waited: bool = False) -> None:
        """Queue ``reaction`` on the staff message ``ts`` (and ⏳ taken away if it waited; ``reaction`` "": only that)."""
        deco = Decoration(channel, ts, thread_ts, reaction, waited)
        if self.queue is None or not thread_ts:
            self.add(deco)
            return
        self.queue.accept("deco", f"{channel}-{ts}-{reaction or 'settled'}", work.decoration_stream(channel, thread_ts),
                          work.DECORATE, asdict(deco))

    def delivered(self, channel: str, ts: str, thread_ts: str, via: str, waited: bool = False) -> None:
        """🆓 on a reply delivered free (``via`` "reply"), 🔢 on a push (and ⏳ taken away if it waited)."""
        self.mark(channel, ts, thread_ts, delivered_mark(via), waited=waited)

    def handle_item(self, payload: dict[str, Any]) -> None:
        """A ``decorate`` item (:class:`~bridge.model.Decoration`)."""
        self.add(Decoration.from_payload(payload))

    def add(self, deco: Decoration) -> None:
        """Add the mark (RetryLater when Slack's pacing says wait: only this stream waits)."""
        channel, ts, reaction = deco.channel, deco.ts, deco.reaction
        if not (channel and ts):
            return
        if deco.waited:
            try:
                self.slack.unreact(channel, ts, REACTION_WAITING)
            except DeliveryFailed as exc:
                log.info("⏳ not removed from %s: %s", ts, exc)
        if not reaction:
            return
        if reaction in DELIVERED and self.store.get_slack_message(channel, ts).get("delivery") == "failed":
            return  # failed after all: its ❌ stays the only mark
        self.slack.react(channel, ts, reaction)
