"""The bridge's rules: what happens when LINE or Slack says something.

Handlers are named by origin (``handle_line_*``, ``handle_slack_*``). They receive JSON
payloads of primitives (the wire format, never SDK objects) and act through the
gateways. Every side effect is keyed so that re-running a handler after a crash or a
transient failure does not repeat it.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any, Callable, Protocol

from bridge.i18n import MESSAGES, t
from bridge.model import (
    Conversation,
    DeliveryFailed,
    InboundMessage,
    Profile,
    RetryLater,
)
from bridge.services import Component, Services
from bridge.slack_views import parent_message
from bridge.triage import Op, Triage
from bridge.text import batch, line_to_slack, preview, slack_to_line, split_for_line

log = logging.getLogger(__name__)

NOTE_PREFIXES = ("//", "note:")
REACTION_SENT = "outbox_tray"       # 📤 shown on a staff reply once LINE accepted it
REACTION_NOTE = "memo"              # 📝 shown on an internal note
REACTION_FAILED = "x"                 # ❌ shown on a staff reply that could not be delivered
RETRY_KEY_NAMESPACE = uuid.UUID("6f1c7a52-3d1e-4b8e-9a53-2f0f6d1b7c11")
RELAYED_SUBTYPES = (None, "thread_broadcast", "file_share")
GOODBYE_NOTICES = ("unfollow", "leave", "memberLeft", "unsend")
PARENT_REFRESH_GUARD = 60  # s; a lost refresh job can delay the next one by at most this


class SlackPort(Protocol):
    def bot_identity(self) -> dict[str, str]: ...
    def user_name(self, user_id: str) -> str | None: ...
    def post_once(self, post_key: str, channel: str, text: str, **kw: Any) -> str: ...
    def update(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None: ...
    def react(self, channel: str, ts: str, name: str) -> None: ...


class LinePort(Protocol):
    def profile(self, source_type: str, source_id: str, user_id: str) -> Profile | None: ...
    def group_summary(self, group_id: str) -> Profile | None: ...
    def reply(self, reply_token: str, texts: list[str]) -> str: ...
    def push(self, to: str, texts: list[str], retry_key: str) -> tuple[str, bool]: ...


# -- echo guards and classifiers (named, so the rules are visible and testable) -----------
def is_bot_message(event: dict[str, Any], bot: dict[str, str]) -> bool:
    """Messages by any bot, including the bridge itself, are never sent to LINE."""
    return bool(
        event.get("bot_id")
        or event.get("subtype") == "bot_message"
        or (bot.get("user_id") and event.get("user") == bot.get("user_id"))
        or event.get("bot_profile")
    )


def is_internal_note(text: str) -> bool:
    """``//…`` and ``note:…`` thread messages are internal notes (ノート), never sent to LINE."""
    return text.lstrip().lower().startswith(NOTE_PREFIXES)


def retry_key_for(send_key: str, batch_index: int) -> str:
    """A stable X-Line-Retry-Key per Slack message and batch: the same reply can never be pushed twice."""
    return str(uuid.uuid5(RETRY_KEY_NAMESPACE, f"{send_key}#{batch_index}"))


def source_of(event: dict[str, Any]) -> tuple[str, str, str]:
    """(source_type, conversation id, sender user id) of a LINE webhook event."""
    source = event.get("source") or {}
    stype = source.get("type") or "user"
    conv_id = source.get("groupId") if stype == "group" else source.get("roomId") if stype == "room" else source.get("userId")
    return stype, conv_id or "", source.get("userId") or ""


def inbound_from_line(event: dict[str, Any], lang: str) -> InboundMessage | None:
    """Translate a LINE webhook event into an :class:`InboundMessage`; None for events we don't show."""
    stype, conv_id, sender = source_of(event)
    if not conv_id:
        return None
    etype = event.get("type")
    base = dict(conv_id=conv_id, source_type=stype, sender_id=sender,
                webhook_event_id=event.get("webhookEventId") or "", timestamp_ms=int(event.get("timestamp") or 0),
                standby=event.get("mode") == "standby",
                reply_token=event.get("replyToken") or "")
    if etype == "message":
        m = event.get("message") or {}
        mtype = m.get("type", "")
        text = {
            "text": lambda: m.get("text", ""),
            "image": lambda: t("placeholder.image", lang),
            "video": lambda: t("placeholder.video", lang),
            "audio": lambda: t("placeholder.audio", lang),
            "file": lambda: t("placeholder.file", lang, name=m.get("fileName", "")),
            "location": lambda: t("placeholder.location", lang, title=m.get("title") or "", address=m.get("address") or "",
                                  map_url=f"https://www.google.com/maps?q={m.get('latitude')},{m.get('longitude')}").replace("\n\n", "\n"),
            "sticker": lambda: t("placeholder.sticker", lang, keywords=" ".join(f"「{k}」" for k in (m.get("keywords") or [])[:3])).strip(),
        }.get(mtype, lambda: t("placeholder.unknown", lang, type=mtype))()
        return InboundMessage(**base, kind=mtype if mtype in ("text", "image", "video", "audio", "file", "location", "sticker") else "unknown",
                              text=text, message_id=m.get("id") or "", quote_token=m.get("quoteToken") or "",
                              mark_as_read_token=m.get("markAsReadToken") or "", extra={"line_message": m})
    notice_text = {
        "follow": lambda: t("notice.follow", lang),
        "unfollow": lambda: t("notice.unfollow", lang),
        "join": lambda: t("notice.join", lang),
        "leave": lambda: t("notice.leave", lang),
        "memberJoined": lambda: t("notice.member_joined", lang, names=", ".join(
            f"<{u.get('userId')}>" for u in (event.get("joined") or {}).get("members", []))),
        "memberLeft": lambda: t("notice.member_left", lang, names=", ".join(
            f"<{u.get('userId')}>" for u in (event.get("left") or {}).get("members", []))),
        "postback": lambda: t("notice.postback", lang, data=(event.get("postback") or {}).get("data", "")),
        "unsend": lambda: t("notice.unsend", lang),
    }.get(etype or "")
    if notice_text is None:
        return None  # beacon, accountLink, things, videoPlayComplete, unknown types: logged by the caller
    return InboundMessage(**base, kind=etype or "", text=notice_text(), is_notice=True, extra={"event": event})


class Bridge(Component):
    """Routes work items between LINE and Slack. One instance per process (see bridge.runtime)."""

    def __init__(self, services: Services, schedule_refresh: Callable[[str, float], None] | None = None):
        super().__init__(services)
        self.schedule_refresh = schedule_refresh
        self.triage = Triage(services, self.request_parent_refresh)

    # -- entry point for the inbox -------------------------------------------------------
    def process_item(self, item: dict[str, Any]) -> None:
        kind = item.get("kind")
        if kind == "line_event":
            self.handle_line_event(item["payload"])
        elif kind == "slack_message":
            self.handle_slack_message(item["payload"])
        elif kind == "slack_op":
            self.handle_slack_op(item["payload"])
        else:
            log.warning("ignoring work item of unknown kind %r", kind)

    def dead_letter(self, item: dict[str, Any], reason: str) -> None:
        """Called when an item kept failing: keep it for inspection and tell people where we can."""
        self.store.r.rpush(self.store.keys.dead_letters(), json.dumps({**item, "reason": reason, "at": time.time()}, ensure_ascii=False))
        if item.get("kind") == "slack_message":
            event = item["payload"]
            self._report_failure(event["channel"], event["ts"], event.get("thread_ts") or "",
                                 DeliveryFailed("gave_up", reason))

    # -- LINE → Slack ---------------------------------------------------------------------
    def handle_line_event(self, event: dict[str, Any]) -> None:
        inbound = inbound_from_line(event, self.lang)
        if inbound is None:
            log.info("LINE event %s (%s) acknowledged, nothing to show", event.get("type"), event.get("webhookEventId"))
            return
        if inbound.is_notice:
            self.handle_line_notice(inbound)
        else:
            self.handle_line_message(inbound)

    def handle_line_message(self, msg: InboundMessage) -> None:
        conv = self.ensure_portal(msg)
        sender = self.sender_profile(conv, msg.sender_id)
        text = line_to_slack(msg.text) if msg.kind == "text" else msg.text
        if msg.standby:
            text += "\n_" + t("notice.standby", self.lang) + "_"
        sent_at = msg.timestamp_ms / 1000 if msg.timestamp_ms else time.time()
        changes = self.triage.on_friend_message(conv, sent_at)
        # A friend writing after 対応済み reopens the conversation in the same thread; the
        # parent is far up the channel by then, so this message is also broadcast to it.
        reopened = self.marks.state(conv.mark) == "closed"
        ts = self.slack.post_once(
            f"line-{msg.webhook_event_id or msg.message_id}", conv.channel, text or " ",
            thread_ts=conv.thread_ts, username=sender.display_name, icon_url=sender.picture_url or None,
            reply_broadcast=reopened,
        )
        if msg.message_id:
            self.store.link_line_message(msg.message_id, conv.conv_id, ts, quote_token=msg.quote_token,
                                         mark_as_read_token=msg.mark_as_read_token)
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "friend", line_message_id=msg.message_id,
                                      sender=msg.sender_id)
        changes["last_message_preview"] = preview(msg.text)
        if msg.mark_as_read_token and not msg.standby:
            # Kept until a person claims the chat: 既読 then means a human read it.
            changes["mark_as_read_token"] = msg.mark_as_read_token
        self.store.update_conversation(conv.conv_id, **changes)
        self.backlog.reindex(conv.conv_id)
        if msg.reply_token and not msg.standby:
            # Reply tokens are single-use and expire quickly; the age counts from LINE's timestamp.
            self.store.save_reply_token(conv.conv_id, msg.reply_token, sent_at)
        self.request_parent_refresh(conv.conv_id)

    def handle_line_notice(self, msg: InboundMessage) -> None:
        if msg.kind in GOODBYE_NOTICES and self.store.get_conversation(msg.conv_id) is None:
            # Someone we never talked to leaves or blocks: no thread to open for that.
            log.info("LINE %s from unknown chat %s: nothing to show", msg.kind, msg.conv_id)
            return
        conv = self.ensure_portal(msg)
        text = msg.text
        if msg.kind in ("memberJoined", "memberLeft"):
            # Names are looked up now (the event only carries ids).
            for member in (msg.extra["event"].get("joined") or msg.extra["event"].get("left") or {}).get("members", []):
                uid = member.get("userId", "")
                prof = self.line.profile(conv.source_type, conv.conv_id, uid) if msg.kind == "memberJoined" else None
                text = text.replace(f"<{uid}>", prof.display_name if prof else uid[:8] + "…")
        if msg.kind == "follow" and conv.blocked:
            text = t("notice.refollow", self.lang)
        self.slack.post_once(f"line-{msg.webhook_event_id}", conv.channel, text, thread_ts=conv.thread_ts)
        changes: dict[str, Any] = {}
        if msg.kind == "unfollow":
            changes["blocked"] = True
        elif msg.kind == "follow":
            changes["blocked"] = False
        elif msg.kind == "leave":
            changes["left"] = True
        elif msg.kind == "join":
            changes["left"] = False
        if changes:
            self.store.update_conversation(conv.conv_id, **changes)
            self.request_parent_refresh(conv.conv_id)
        if msg.reply_token and not msg.standby and msg.kind in ("follow", "join", "postback"):
            self.store.save_reply_token(conv.conv_id, msg.reply_token, msg.timestamp_ms / 1000 or time.time())

    def ensure_portal(self, msg: InboundMessage) -> Conversation:
        """Find or create the conversation of ``msg`` and its Slack thread (idempotent)."""
        conv = self.store.get_conversation(msg.conv_id)
        if conv is None:
            identity = self.chat_identity(msg)
            conv, created = self.store.ensure_conversation(Conversation(
                conv_id=msg.conv_id, source_type=msg.source_type, number=0, name=identity.display_name,
                picture_url=identity.picture_url, channel=self.channel, created_at=time.time(),
                mark=self.marks.default_open,
            ))
            if created:
                log.info("new conversation #%d for %s %s", conv.number, msg.source_type, msg.conv_id)
        if not conv.thread_ts:
            text, blocks = parent_message(conv, self.marks, self.lang)
            ts = self.slack.post_once(f"parent-{conv.conv_id}", conv.channel, text, blocks=blocks)
            self.store.bind_thread(conv.conv_id, conv.channel, ts)
            self.store.link_slack_message(conv.channel, ts, conv.conv_id, "parent")
            conv.thread_ts = ts
            self.backlog.reindex(conv.conv_id)
            try:  # cache the workspace's archive URL once, for /pending's thread links
                self.slack.workspace_archive_url(conv.channel, ts)
            except (DeliveryFailed, RetryLater) as exc:
                log.info("could not cache the workspace URL: %s", exc)
        return conv

    def chat_identity(self, msg: InboundMessage) -> Profile:
        """The name and picture shown on the thread parent."""
        if msg.source_type == "group":
            summary = self.line.group_summary(msg.conv_id)
            if summary:
                return summary
            return Profile(t("parent.kind.group", self.lang))
        if msg.source_type == "room":
            return Profile(t("parent.kind.room", self.lang))
        return self.cached_profile(msg.source_type, msg.conv_id, msg.sender_id) or Profile(t("unknown_name", self.lang))

    def sender_profile(self, conv: Conversation, user_id: str) -> Profile:
        """Who wrote a message: shown as the Slack username/icon of the relayed message."""
        if not user_id:
            return Profile(conv.name or t("unknown_name", self.lang), conv.picture_url)
        prof = self.cached_profile(conv.source_type, conv.conv_id, user_id)
        if prof:
            return prof
        if conv.is_one_to_one:
            return Profile(conv.name or t("unknown_name", self.lang), conv.picture_url)
        return Profile(t("unknown_name", self.lang))

    def cached_profile(self, source_type: str, source_id: str, user_id: str) -> Profile | None:
        if not user_id:
            return None
        key = self.store.keys.profile(source_id=source_id, user_id=user_id)
        cached = self.store.cached_json(key)
        if cached is not None:
            return Profile(**cached) if cached else None
        prof = self.line.profile(source_type, source_id, user_id)
        self.store.cache_json(key, {"display_name": prof.display_name, "picture_url": prof.picture_url} if prof else {},
                              ttl=24 * 3600 if prof else 600)
        return prof

    def request_parent_refresh(self, conv_id: str) -> None:
        """Ask for the parent's status line to be re-rendered, off the relay's critical path.

        chat.update is rate limited (Tier 3) and a busy chat changes often: while one refresh
        waits in the queue, further requests are absorbed by it (it renders the state as it
        is when it runs), and a throttled refresh never holds up the messages themselves.
        """
        if self.schedule_refresh is None:
            self.refresh_parent(conv_id)
            return
        if self.store.r.set(self.store.keys.parent_refresh(conv_id=conv_id), "1", nx=True, ex=PARENT_REFRESH_GUARD):
            self.schedule_refresh(conv_id, 0.0)

    def run_parent_refresh(self, conv_id: str) -> None:
        """The job behind :meth:`request_parent_refresh`."""
        key = self.store.keys.parent_refresh(conv_id=conv_id)
        self.store.r.delete(key)  # changes from now on need another refresh
        try:
            self.refresh_parent(conv_id)
        except RetryLater as exc:
            log.info("parent of %s not refreshed (%s); again in %.1fs", conv_id, exc.reason, exc.delay)
            if self.schedule_refresh and self.store.r.set(key, "1", nx=True, ex=PARENT_REFRESH_GUARD + int(exc.delay)):
                self.schedule_refresh(conv_id, exc.delay)
        except DeliveryFailed as exc:
            log.warning("parent of %s could not be refreshed: %s", conv_id, exc)

    def refresh_parent(self, conv_id: str) -> None:
        """Re-render the parent's status line from the stored state.

        Two workers (a LINE stream and a Slack thread stream) may refresh at once; each
        re-reads the state after its chat.update and renders again if it changed meanwhile,
        so the last update Slack receives always shows the newest state.
        """
        conv = self.store.get_conversation(conv_id)
        for _ in range(3):
            if not conv or not conv.thread_ts:
                return
            text, blocks = parent_message(conv, self.marks, self.lang)
            self.slack.update(conv.channel, conv.thread_ts, text, blocks)
            latest = self.store.get_conversation(conv_id)
            if latest == conv:
                return
            conv = latest

    # -- Slack → LINE ---------------------------------------------------------------------
    def handle_slack_message(self, event: dict[str, Any]) -> None:
        """A message event from Slack: relay staff replies in conversation threads to LINE."""
        channel, ts, thread_ts = event.get("channel", ""), event.get("ts", ""), event.get("thread_ts") or ""
        if event.get("subtype") not in RELAYED_SUBTYPES:
            return  # edits, deletions, joins…: not relayed (edits/deletes come in a later issue)
        if channel != self.channel or not thread_ts or thread_ts == ts:
            return
        if is_bot_message(event, self.slack.bot_identity()):
            return
        conv = self.store.get_by_thread(channel, thread_ts)
        if conv is None:
            return
        text = event.get("text") or ""
        if is_internal_note(text):
            self.handle_slack_note(conv, event)
            return
        self.handle_slack_reply(conv, event)

    def handle_slack_note(self, conv: Conversation, event: dict[str, Any]) -> None:
        channel, ts = event["channel"], event["ts"]
        if not self.store.get_slack_message(channel, ts):
            self.store.add_note(conv.conv_id, event.get("user", ""), event.get("text", ""), ts, time.time())
            self.store.link_slack_message(channel, ts, conv.conv_id, "note", author=event.get("user", ""))
        self.slack.react(channel, ts, REACTION_NOTE)

    def handle_slack_reply(self, conv: Conversation, event: dict[str, Any]) -> None:
        channel, ts = event["channel"], event["ts"]
        existing = self.store.get_slack_message(channel, ts)
        if existing.get("delivery") in ("sent", "failed"):
            return  # already handled (a retried job)
        try:
            if conv.blocked:
                raise DeliveryFailed("blocked")
            if conv.left:
                raise DeliveryFailed("left")
            texts = split_for_line(slack_to_line(event.get("text") or "", self.slack.user_name))
            if not texts:
                raise DeliveryFailed("files_unsupported" if event.get("files") else "empty")
            via = self.deliver_to_line(conv, f"{channel}-{ts}", texts)
        except DeliveryFailed as exc:
            self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=event.get("user", ""),
                                          delivery="failed", reason=exc.reason)
            self._report_failure(channel, ts, conv.thread_ts, exc)
            return
        self.store.link_slack_message(channel, ts, conv.conv_id, "staff", author=event.get("user", ""),
                                      delivery="sent", via=via)
        # The reply's own Slack timestamp decides which friend messages it answers.
        self.store.staff_replied(conv.conv_id, float(ts))
        self.backlog.reindex(conv.conv_id)
        self.slack.react(channel, ts, REACTION_SENT)
        if event.get("files"):
            # The text went out; the attachments could not (media relay is not built yet).
            self.slack.post_once(f"files-{channel}-{ts}", channel, t("delivery.files_not_sent", self.lang),
                                 thread_ts=conv.thread_ts)
        self.request_parent_refresh(conv.conv_id)

    # -- triage (claims, assignees, marks) ------------------------------------------------------
    def handle_slack_op(self, payload: dict[str, Any]) -> None:
        self.triage.apply(Op.from_payload(payload))

    def deliver_to_line(self, conv: Conversation, send_key: str, texts: list[str]) -> str:
        """Send ``texts`` to the LINE chat, at most 5 per request. Returns "reply" or "push".

        The first batch uses the conversation's reply token when it is fresh (replies are
        free); everything else is pushed with an X-Line-Retry-Key derived from ``send_key``
        and the batch number, so a retry after a lost answer is answered 409 by LINE, not
        delivered twice. Progress is recorded per batch, so a retry resumes where it failed.
        """
        record = self.store.get_record("line_send", send_key)
        done = int(record.get("batches_done") or 0)
        via = record.get("via") or ""
        batches = batch(texts, 5)
        for index, messages in enumerate(batches):
            if index < done:
                continue
            if index == 0 and via != "push":
                if record.get("reply_token"):
                    token: tuple[str, float] | None = (record["reply_token"], float(record.get("reply_token_at") or 0))
                else:
                    token = self.store.take_reply_token(conv.conv_id, self.settings.reply_token_ttl)
                if token and self._reply(send_key, record, token, messages):
                    via = "reply"
                    self.store.set_record("line_send", send_key, batches_done=1, via=via)
                    continue
                via = "push"
                self.store.set_record("line_send", send_key, via=via)
            _, duplicate = self.line.push(conv.conv_id, messages, retry_key_for(send_key, index))
            if duplicate:
                log.info("push %s#%d was already accepted by LINE (409); not delivered twice", send_key, index)
            self.store.set_record("line_send", send_key, batches_done=index + 1, via=via or "push")
        return via or "push"

    def _reply(self, send_key: str, record: dict[str, str], token: tuple[str, float], messages: list[str]) -> bool:
        """Try the reply token. True if delivered, False if the token cannot be used (fall back to push)."""
        uncertain = record.get("reply_state") == "pending"
        reply_token, token_at = token
        self.store.set_record("line_send", send_key, reply_token=reply_token, reply_token_at=token_at, reply_state="pending")
        try:
            self.line.reply(reply_token, messages)
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

    def _report_failure(self, channel: str, ts: str, thread_ts: str, exc: DeliveryFailed) -> None:
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
        self.slack.react(channel, ts, REACTION_FAILED)

