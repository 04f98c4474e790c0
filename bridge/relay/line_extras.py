"""LINE → Slack details: stickers as images, quotes of earlier messages, unsend and edits.

* A sticker is shown as its image from LINE's sticker CDN (by ``stickerId``; animated and
  sound stickers as their still image), with its keywords as alt text.
* A message quoting an earlier one (``quotedMessageId``) starts with a quote of the earlier
  Slack copy and a link to it.
* Unsend: LINE asks services not to keep showing unsent content, so the Slack copy is
  replaced by 「送信取り消しされました」, its files are deleted from Slack, and the text the
  bridge kept (quote preview, transcript) is forgotten. In a post that shows several messages
  (:mod:`bridge.relay.batch`) only the unsent message's line is replaced; the others stay.
  https://developers.line.biz/en/docs/messaging-api/receiving-messages/#unsend-event
* An edit (``messageEdited``, group chats): the Slack copy shows the latest text, marked as
  edited, re-rendered the same way.
"""
from __future__ import annotations

import logging
from typing import Any

from bridge.archive.recorder import Recorder
from bridge.i18n import slack_t, t
from bridge.line.events import source_of
from bridge.media.inbound import MediaIn
from bridge.model import Conversation, DeliveryFailed, InboundMessage, conv_key
from bridge.relay.batch import render_batch
from bridge.relay.portal import Portals
from bridge.services import Component, Services
from bridge.store.messages import mark_edited, mark_unsent
from bridge.text import mrkdwn, preview

log = logging.getLogger(__name__)

STICKER_URL = "https://stickershop.line-scdn.net/stickershop/v1/sticker/{sticker_id}/android/sticker.png"


def _quote(text: str) -> str:
    return "\n".join("> " + line for line in (text or " ").splitlines()[:5])


class LineExtras(Component):
    def __init__(self, services: Services, media: MediaIn, portals: Portals):
        super().__init__(services)
        self.media = media
        self.portals = portals  # a new chat's first messages are shown in its parent
        self.history = Recorder(services)  # unsent / edited in the archive

    def sticker_blocks(self, msg: InboundMessage, text: str) -> list[dict[str, Any]] | None:
        m = msg.extra.get("line_message") or {}
        sticker_id = str(m.get("stickerId") or "")
        if msg.kind != "sticker" or not sticker_id.isdigit():
            return None
        keywords = [k for k in (m.get("keywords") or []) if isinstance(k, str)] if isinstance(m.get("keywords"), list) else []
        alt = t("sticker.alt", self.lang, keywords=" ".join(keywords[:5])).strip()[:1900]
        return [{"type": "image", "image_url": STICKER_URL.format(sticker_id=sticker_id), "alt_text": alt or "sticker"},
                {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn.clip(text) or mrkdwn.escape(alt)}]}]

    def quote_prefix(self, conv: Conversation, msg: InboundMessage) -> str:
        """``> earlier text`` and a link to the earlier Slack copy, for a message that quotes one."""
        m = msg.extra.get("line_message") or {}
        quoted = m.get("quotedMessageId")
        if not isinstance(quoted, str) or not quoted:
            return ""
        earlier = self.store.get_line_message(msg.account, quoted)
        media_ts, files = self.media.files_of(msg.account, quoted)
        # Slack lists an upload's share asynchronously: look it up now if it was not known yet.
        ts = earlier.get("slack_ts") or media_ts or (self.slack.file_share_ts(files[0], conv.channel) if files else "")
        if not ts:
            return ""
        link = ""
        try:
            base = self.slack.workspace_archive_url(conv.channel, ts)
            link = f"<{base}{conv.channel}/p{ts.replace('.', '')}?thread_ts={conv.thread_ts}&cid={conv.channel}|{t('quote.link', self.lang)}>"
        except Exception as exc:  # a link is a nicety; the quote itself still shows
            log.info("no permalink for quoted message %s: %s", quoted, exc)
        # The preview is the friend's plain text: escaped (the quote may be broadcast to the channel).
        return f"{_quote(mrkdwn.escape(earlier.get('preview') or '…'))}\n{link}\n".replace("\n\n", "\n")

    def unsend(self, conv: Conversation, msg: InboundMessage) -> bool:
        """Replace the Slack copy of an unsent message. False if the bridge never showed it."""
        event = msg.extra.get("event") or {}
        message_id = (event.get("unsend") or {}).get("messageId")
        if not isinstance(message_id, str) or not message_id:
            return False
        record = self.store.get_line_message(msg.account, message_id)
        ts = record.get("slack_ts") or ""
        media_ts, files = self.media.files_of(msg.account, message_id)
        for file_id in files:
            try:
                self.slack.delete_file(file_id)
            except DeliveryFailed as exc:
                log.warning("could not delete Slack file %s of unsent message %s: %s", file_id, message_id, exc)
        ts = ts or media_ts or (self.slack.file_share_ts(files[0], conv.channel) if files else "")
        if not ts:
            return bool(files)
        if record:
            # Forgotten first: a retry after a failed update renders the same post again.
            mark_unsent(self.store, msg.account, message_id)
            if record.get("preview") and conv.last_message_preview == record["preview"]:
                # /pending shows the newest message's start: not this one's any more
                self.store.update_conversation(conv.conv_id, last_message_preview="🚫 " + t("unsent.copy", self.lang))
            at = record.get("at")
            self.history.unsent(conv.conv_id, message_id, float(at) if at else None)
        if self.rerender_post(conv, ts):  # only this message's line changes
            return True
        text = "🚫 " + t("unsent.copy", self.lang)
        self.slack.update(conv.channel, ts, text, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}])
        return True

    def edit(self, account: str, event: dict[str, Any]) -> None:
        """A friend edited a text (``messageEdited``, group chats): the Slack copy shows the latest
        text, marked as edited (a batch post is re-rendered with the others unchanged), and so do
        the quote preview and the transcript."""
        message = event.get("message") if isinstance(event.get("message"), dict) else {}
        message_id, text = message.get("id"), message.get("text")
        _, chat_id, _ = source_of(event)
        conv = self.store.get_conversation(conv_key(account, chat_id)) if chat_id else None
        if conv is None or not conv.thread_ts or not isinstance(message_id, str) or not isinstance(text, str):
            log.info("messageEdited for a message the bridge never showed: nothing to update")
            return
        record = self.store.get_line_message(account, message_id)
        if record.get("unsent"):
            log.info("messageEdited for an unsent message: nothing to show")
            return
        ts = record.get("slack_ts") or ""
        batch = self.store.get_slack_message(conv.channel, ts).get("line_message_ids") if ts else ""
        edited = t("edited.copy", self.lang)
        if record:  # (a message never relayed has no record to create)
            mark_edited(self.store, account, message_id, f"{mrkdwn.escape(text)} _{edited}_", preview(text))
            if record.get("preview") and conv.last_message_preview == record["preview"]:
                self.store.update_conversation(conv.conv_id, last_message_preview=preview(text))  # /pending
        if ts and self.rerender_post(conv, ts):  # the parent or a batch: only this line changes
            pass
        elif ts and not batch:
            # Escaping can make the text 5× longer: clipped after it, so the section stays valid.
            mark = f"\n_{edited}_"
            shown = mrkdwn.clip(mrkdwn.escape(text), mrkdwn.SECTION_LIMIT - len(mark)) + mark
            self.slack.update(conv.channel, ts, shown, blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": shown}}])
        else:  # a batch relayed before each message's part was kept: say it in the thread
            self.slack.post_once(f"edit-{account}-{event.get('webhookEventId') or message_id}", conv.channel,
                                 slack_t("edited.notice", self.lang, text=text), thread_ts=conv.thread_ts)
        at = record.get("at")
        self.history.edited(conv.conv_id, message_id, float(at) if at else None, text)

    def rerender_post(self, conv: Conversation, ts: str) -> bool:
        """A message of the parent or of a batch post was unsent or edited: the post is rendered
        again from each message's kept part (the others unchanged, in order). False for a post of
        one message, or a batch relayed before the parts were kept."""
        if ts == conv.thread_ts:
            self.portals.rerender_first(conv)
            return True
        batch = self.store.get_slack_message(conv.channel, ts).get("line_message_ids") or ""
        rendered = render_batch(self.store, conv.account, batch.split(","), self.lang) if batch else None
        if rendered is None:
            return False
        self.slack.update(conv.channel, ts, rendered)
        return True
