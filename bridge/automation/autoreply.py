"""Auto-replies sent with the friend's reply token (free): outside business hours, and on keywords.

* **Outside hours**: the first friend message of each closed period gets the account's
  closed-hours text (placeholders ``{name}``, ``{next_open}``, ``{number}``). "Once per
  closed period" is a Redis ``SET NX`` per (conversation, next opening time).
* **Keywords** (応答メッセージ): ``[[auto_replies]]`` rules, exact or contains, never when
  a person handles the conversation (it has an assignee).

Both answers go in one reply (up to 5 messages) and the thread says what was sent.
Accounts whose reply tokens belong to another tool (``reply_token = "other"``) and
standby events never get auto-replies: the bridge may not use those tokens.
"""
from __future__ import annotations

import logging

from bridge.automation.hours import Schedules, format_when
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, InboundMessage, RetryLater
from bridge.archive.recorder import Recorder
from bridge.services import Component, Services
from bridge.text.mrkdwn import escape

log = logging.getLogger(__name__)


class AutoReply(Component):
    def __init__(self, services: Services, automation, schedules: Schedules):
        super().__init__(services)
        self.automation = automation
        self.schedules = schedules
        self.history = Recorder(services)  # auto-replies in the archive

    def texts_for(self, conv: Conversation, msg: InboundMessage, sent_at: float) -> tuple[list[str], list[str]]:
        """(messages to send, what each one is) for a friend message — without side effects
        except claiming the closed period (so it is answered once)."""
        cfg = self.automation.of(conv.account)
        out: list[str] = []
        kinds: list[str] = []
        if msg.kind == "text" and not conv.assignee:
            for rule in cfg.rules:
                if rule.matches(msg.text):
                    out.append(self._fill(rule.text, conv, sent_at))
                    kinds.append("keyword")
                    break
        schedule = self.schedules.of(conv.account)
        if cfg.hours.auto_reply and not schedule.is_open(sent_at):
            opens = schedule.next_open(sent_at)
            period = str(int(opens or 0))
            ttl = int(max(3600.0, (opens or sent_at) - sent_at + 86400))
            owner = msg.webhook_event_id or msg.message_id
            claimed = self.services.stores.automation.claim_closed_reply(conv.conv_id, period, owner, ttl)
            if claimed:
                out.append(self._fill(cfg.hours.auto_reply_text or t("hours.auto_reply", self.lang), conv, sent_at))
                kinds.append("closed")
        return out, kinds

    def _fill(self, text: str, conv: Conversation, at: float) -> str:
        schedule = self.schedules.of(conv.account)
        opens = schedule.next_open(at)
        when = format_when(opens, schedule, self.lang) if opens else t("hours.unknown_open", self.lang)
        name = conv.name if conv.is_one_to_one and conv.name else t("hours.friend", self.lang)
        return text.replace("{name}", name).replace("{next_open}", when).replace("{number}", str(conv.number))

    def on_friend_message(self, conv: Conversation, msg: InboundMessage, sent_at: float) -> bool:
        """Answer automatically if a rule says so. True when the reply token was used."""
        if msg.standby or not msg.reply_token or not self.account_of(conv).uses_reply_tokens:
            return False
        texts, kinds = self.texts_for(conv, msg, sent_at)
        if not texts:
            return False
        send_key = f"auto-{msg.account}-{msg.webhook_event_id or msg.message_id}"
        record = self.store.get_record("line_send", send_key)
        if record.get("reply_state") == "failed":
            # Refused by LINE in an earlier attempt whose line in the thread then had to wait for
            # the channel's turn (RetryLater): say it now, without trying the used token again.
            self._tell_failed(conv, send_key, texts, record.get("reason") or "failed", sent_at)
            return True
        if record.get("reply_state") != "done":
            uncertain = record.get("reply_state") == "pending"
            self.store.set_record("line_send", send_key, reply_state="pending")
            try:
                self.line_of(conv).reply(msg.reply_token, texts)
            except RetryLater as exc:
                # LINE did not answer (yet): no auto-reply this time, as ever — the friend's message
                # is not held up by it. (Only the line in the thread waits for Slack, below.)
                log.warning("auto-reply to %s not sent: %s", conv.conv_id, exc)
                return False
            except DeliveryFailed as exc:
                if not (uncertain and exc.reason == "invalid_reply_token"):
                    log.warning("auto-reply to %s not sent: %s", conv.conv_id, exc)
                    self.store.set_record("line_send", send_key, reply_state="failed", reason=exc.reason)
                    self._tell_failed(conv, send_key, texts, exc.reason, sent_at)
                    return True  # the token was tried; staff's reply is pushed
            self.store.set_record("line_send", send_key, reply_state="done")
        # The copy in Slack quotes what LINE got: plain text that may carry the friend's {name}.
        shown = "\n".join(f"> {escape(line)}" for text in texts for line in text.splitlines())
        label = t("auto.sent_closed" if kinds == ["closed"] else "auto.sent_keyword" if kinds == ["keyword"]
                  else "auto.sent_both", self.lang)
        ts = self.slack.post_once(send_key, conv.channel, f"{label}\n{shown}", thread_ts=conv.thread_ts)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "auto_reply")
        self.history.auto(conv, "autoreply", send_key, float(ts or sent_at), "\n".join(texts), via="reply", status="sent",
                          slack_ts=ts or "")
        self.store.add_event(conv.conv_id, {"at": sent_at, "actor": "bridge", "action": "auto_reply",
                                            "value": ",".join(kinds), "source": "automation", "changes": {}})
        return True

    def _tell_failed(self, conv: Conversation, send_key: str, texts: list[str], reason: str, sent_at: float) -> None:
        failed_ts = self.slack.post_once(f"{send_key}-failed", conv.channel, t("auto.failed", self.lang, reason=reason),
                                         thread_ts=conv.thread_ts)
        self.history.auto(conv, "autoreply", send_key, float(failed_ts or sent_at), "\n".join(texts),
                          via="reply", status="failed", slack_ts=failed_ts or "")
