"""The triage channel's saturation notice: one line when Slack's post limit holds chats back.

Why: a campaign brings hundreds of chats within minutes while Slack takes one post per second
per channel. Every chat is in /pending the moment its message is accepted (the conversation
state never waits for Slack), but the channel only catches up at Slack's pace. Instead of a
backlog that builds silently, the team is told once how many conversations wait to be shown
and that /pending already lists them; the line turns into 「✅ 追いつきました」 when the last
one is shown.

The notice is one post, and it goes before the waiting posts (it jumps the limiter's line,
which moves every reserved turn back by one second): a notice shown after the backlog drained
would say nothing. It never costs more than that one post: it is claimed once per episode.
"""
from __future__ import annotations

import logging
import time

from bridge.i18n import slack_t
from bridge.model import Conversation, DeliveryFailed, RetryLater
from bridge.services import Component
from bridge.store import showing

log = logging.getLogger(__name__)

SATURATED_CONVERSATIONS = 20   # this many conversations waiting for their post …
SATURATED_AFTER = 60.0         # … or the oldest waiting this long (s): the channel is saturated
CLAIM_TIMEOUT = 120.0          # s; a notice claimed but never posted (its worker died) is claimed again


class Saturation(Component):
    def waiting(self, conv: Conversation, since: float | None = None) -> None:
        """``conv`` has friend messages not yet shown in Slack (the state step)."""
        if conv.channel:
            showing.waiting_add(self.store, conv.channel, conv.conv_id, since or time.time())

    def shown(self, conv: Conversation) -> None:
        """``conv``'s waiting messages are shown; clears the notice when nothing waits any more."""
        if not conv.channel:
            return
        if showing.waiting_done(self.store, conv.channel, conv.conv_id) == 0:
            self._caught_up(conv.channel)

    def check(self, channel: str) -> None:
        """Post the notice when ``channel`` is saturated and none is shown (before a waiting post)."""
        if not channel:
            return
        now = time.time()
        count, oldest = showing.waiting_stats(self.store, channel, now)
        notice = showing.notice_get(self.store, channel)
        if count == 0:
            if notice:
                try:
                    self._caught_up(channel)
                except RetryLater:
                    pass  # this post goes first; the next one tries again
            return
        if notice:
            if not notice.get("ts") and now - float(notice.get("claimed_at") or 0) > CLAIM_TIMEOUT:
                showing.notice_clear(self.store, channel, notice.get("key") or "")  # its poster died
            return  # shown, or being posted by the worker that claimed it
        if count < SATURATED_CONVERSATIONS and not (oldest and now - oldest > SATURATED_AFTER):
            return
        key = f"saturation-{channel}-{int(now)}"
        if not showing.notice_claim(self.store, channel, key, count, now):
            return  # another worker claimed it
        text = slack_t("saturation.notice", self.lang, count=count)
        try:
            ts = self.slack.post_once(key, channel, text, first_in_line=True)
        except (RetryLater, DeliveryFailed) as exc:  # claimed again before a later waiting post
            log.info("saturation notice for %s not posted: %s", channel, exc)
            showing.notice_clear(self.store, channel, key)
            return
        if showing.notice_get(self.store, channel).get("key") == key:
            showing.notice_set(self.store, channel, ts=ts)
            log.warning("Slack's post limit holds back %s conversations in %s: notice posted", count, channel)
        else:  # caught up while it was being posted
            try:
                self._say_caught_up(channel, ts)
            except RetryLater:
                showing.notice_claim(self.store, channel, key, 0, now)
                showing.notice_set(self.store, channel, ts=ts)  # cleared by the next chat shown

    def _caught_up(self, channel: str) -> None:
        """Turn the notice into 「✅ 追いつきました」, then forget it. A throttled chat.update raises
        RetryLater: the item that showed the last chat is retried, and this runs again."""
        notice = showing.notice_get(self.store, channel)
        if not notice:
            return
        ts = notice.get("ts") or self.store.get_record("slack_post", notice.get("key") or "-").get("ts")
        if ts:  # (not shown yet: its poster says it)
            self._say_caught_up(channel, ts)
        showing.notice_clear(self.store, channel, notice.get("key") or "")

    def _say_caught_up(self, channel: str, ts: str) -> None:
        text = slack_t("saturation.caught_up", self.lang)
        try:
            self.slack.update(channel, ts, text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        except DeliveryFailed as exc:
            log.info("saturation notice %s not updated: %s", ts, exc)
