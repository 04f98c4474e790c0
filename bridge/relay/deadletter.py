"""Dead letters: work items that kept failing are kept for ``bridge.admin`` and announced in Slack.

Announced once per item (``post_once`` keyed by the item id), in the conversation's thread
when there is one, else in the account's triage channel, with the reason. A staff reply that
could not be delivered is reported on the reply itself (:meth:`Delivery.report_failure`).
Replaying (``python -m bridge.admin replay-dead-letters``) is safe: every side effect of an
item is keyed (Slack post keys, LINE retry keys), so what was done before is not done again.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from bridge.engine import work
from bridge.i18n import Mrkdwn, slack_t, t
from bridge.model import DeliveryFailed
from bridge.relay.delivery import Delivery
from bridge.services import Component, Services
from bridge.text import preview
from bridge.urls import scrub_urls

log = logging.getLogger(__name__)


class DeadLetters(Component):
    def __init__(self, services: Services, delivery: Delivery):
        super().__init__(services)
        self.delivery = delivery

    def dead_letter(self, item: dict[str, Any], reason: str) -> None:
        """Keep the item for inspection and replay, then tell people in Slack."""
        reason = scrub_urls(reason)  # an error's text may repeat a URL that embeds a secret: host only
        self.store.add_dead_letter(item, reason, time.time())
        event = item.get("payload")
        if item.get("kind") == work.SLACK_MESSAGE and isinstance(event, dict) and event.get("channel") and event.get("ts"):
            self.delivery.report_failure(event["channel"], event["ts"], event.get("thread_ts") or "",
                                         DeliveryFailed("gave_up", reason))
            return
        channel, thread_ts = self.where(item)
        if not channel:
            log.warning("dead letter %s: no Slack channel to announce it in", item.get("id"))
            return
        text = slack_t("deadletter.announce", self.lang, what=Mrkdwn(self.what(item)), reason=reason)
        self.slack.post_once(f"deadletter-{item.get('id')}", channel, text, thread_ts=thread_ts or None)

    def where(self, item: dict[str, Any]) -> tuple[str, str]:
        """(channel, thread_ts) to announce ``item`` in: its conversation's thread when there is one."""
        stream = str(item.get("stream") or "")
        payload = item.get("payload") or {}
        if stream.startswith("line-"):
            conv = self.store.get_conversation(stream[len("line-"):])
            if conv is not None and conv.channel:
                return conv.channel, conv.thread_ts
        if stream.startswith("slack-"):
            channel, _, thread_ts = stream[len("slack-"):].partition("-")
            return channel, thread_ts
        account = self.accounts.get(str(payload.get("account") or "")) if isinstance(payload, dict) else None
        if account is None and stream.startswith("line-"):
            account = self.accounts.get(stream[len("line-"):].partition("-")[0])
        return (account.channel, "") if account is not None else ("", "")

    def what(self, item: dict[str, Any]) -> str:
        """What the item was, as Slack mrkdwn (a text's preview and an event's type came from LINE)."""
        kind = item.get("kind")
        payload = item.get("payload") or {}
        if kind == work.LINE_EVENT:
            event = payload.get("event") or {}
            message = event.get("message") or {}
            if message.get("type") == "text":
                return slack_t("deadletter.line_message", self.lang, preview=preview(str(message.get("text") or "")))
            return slack_t("deadletter.line_event", self.lang, type=str(message.get("type") or event.get("type") or "?")[:40])
        if kind == work.SLACK_OP:
            return t("deadletter.slack_op", self.lang)
        if kind == work.FORWARD:
            return t("deadletter.forward", self.lang)
        return slack_t("deadletter.other", self.lang, kind=str(kind)[:40])
