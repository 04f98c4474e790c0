"""Sending to LINE exactly once, and telling staff in Slack when it could not be done.

The first batch uses the conversation's reply token when it is fresh (replies are free);
everything else is pushed with an ``X-Line-Retry-Key`` derived from the Slack message and
the batch number, so a retry after a lost answer is answered 409 by LINE, not delivered
twice. Progress is recorded per batch, so a retry resumes where it failed.
"""
from __future__ import annotations

import logging
import time
import uuid

from bridge.i18n import MESSAGES, t
from bridge.model import Conversation, DeliveryFailed
from bridge.relay.decorations import REACTION_FAILED, Decorations
from bridge.relay.quota import QuotaMeter
from bridge.services import Component, Services
from bridge.text import batch

log = logging.getLogger(__name__)

RETRY_KEY_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-4b8e-9a53-2f0f6d1b7c11")


def retry_key_for(send_key: str, batch_index: int) -> str:
    """A stable X-Line-Retry-Key per Slack message and batch: the same reply can never be pushed twice."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{send_key}#{batch_index}"))


class Delivery(Component):
    def __init__(self, services: Services, decorations: Decorations, quota: QuotaMeter):
        super().__init__(services)
        self.decorations = decorations  # the marks on staff replies, queued off the reply's path
        self.quota = quota  # told of the pushes (replies are free)

    def deliver_to_line(self, conv: Conversation, send_key: str, texts: list[str | dict]) -> str:
        """Send ``texts`` (str: text; dict: any LINE message) to the LINE chat, at most 5 per request. Returns "reply" or "push"."""
        pushed = [0]
        try:
            return self._deliver(conv, send_key, texts, pushed)
        finally:
            self.quota.after_pushes(conv.account, pushed[0])  # those accepted, even if a later batch failed

    def _deliver(self, conv: Conversation, send_key: str, texts: list[str | dict], pushed: list[int]) -> str:
        line = self.line_of(conv)
        record = self.store.get_record("line_send", send_key)
        done = int(record.get("batches_done") or 0)
        via = record.get("via") or ""
        for index, messages in enumerate(batch(texts, 5)):
            if index < done:
                continue
            if index == 0 and via != "push":
                if record.get("reply_token"):
                    token: tuple[str, float] | None = (record["reply_token"], float(record.get("reply_token_at") or 0))
                elif self.account_of(conv).uses_reply_tokens:
                    token = self.store.take_reply_token(conv.conv_id, self.settings.reply_token_ttl)
                else:
                    token = None  # another tool answers with reply tokens: always push
                if token and self._reply(conv, send_key, record, token, messages):
                    via = "reply"
                    self.store.set_record("line_send", send_key, batches_done=1, via=via)
                    continue
                via = "push"
                self.store.set_record("line_send", send_key, via=via)
            _, duplicate = line.push(conv.line_id, messages, retry_key_for(send_key, index))
            if duplicate:
                log.info("push %s#%d was already accepted by LINE (409); not delivered twice", send_key, index)
            self.store.set_record("line_send", send_key, batches_done=index + 1, via=via or "push")
            pushed[0] += 1
        return via or "push"

    def _reply(self, conv: Conversation, send_key: str, record: dict[str, str], token: tuple[str, float],
               messages: list[str | dict]) -> bool:
        """Try the reply token. True if delivered, False if the token cannot be used (fall back to push)."""
        uncertain = record.get("reply_state") == "pending"
        reply_token, token_at = token
        self.store.set_record("line_send", send_key, reply_token=reply_token, reply_token_at=token_at, reply_state="pending")
        try:
            self.line_of(conv).reply(reply_token, messages)
        except DeliveryFailed as exc:
            if exc.reason != "invalid_reply_token":
                raise
            if uncertain and time.time() - token_at < self.settings.reply_token_ttl:
                # Our earlier attempt with this still-fresh token got no answer (timeout/5xx) and
                # LINE now calls the token used: that attempt was delivered. Don't push a duplicate.
                log.info("reply %s: token already used by our previous attempt; treating as delivered", send_key)
                self.store.set_record("line_send", send_key, reply_state="done")
                return True
            log.info("reply %s: reply token rejected (%s); pushing instead", send_key, exc.detail)
            self.store.set_record("line_send", send_key, reply_state="rejected")
            return False
        self.store.set_record("line_send", send_key, reply_state="done")
        return True

    def report_failure(self, channel: str, ts: str, thread_ts: str, exc: DeliveryFailed, waited: bool = False) -> None:
        """⚠️ in the thread with the reason, ❌ on the staff message (queued after its earlier marks; ⏳ goes if it ``waited``)."""
        if "reason." + exc.reason in MESSAGES:
            reason = t("reason." + exc.reason, self.lang, detail=exc.detail)
        else:
            reason = t("reason.invalid", self.lang, detail=f"{exc.reason} {exc.detail}".strip())
        if thread_ts:
            posted = self.slack.post_once(f"failure-{channel}-{ts}", channel, t("delivery.failed", self.lang, reason=reason),
                                          thread_ts=thread_ts)
            conv = self.store.get_by_thread(channel, thread_ts)
            if conv:  # reactions on the failure notice act on the conversation too
                self.store.link_slack_message(channel, posted, conv.conv_id, "failure")
        self.decorations.mark(channel, ts, thread_ts, REACTION_FAILED, waited=waited)
