"""Portals: one LINE chat ↔ one Slack thread, created on first contact, and its parent message.

The parent (the thread's first message) shows who the chat is, its live status and the
friend's first message(s): a new conversation costs one Slack post, which matters when
Slack takes one post per second per channel and a campaign brings hundreds of new chats.
The conversation itself (number, /pending) exists before the parent is posted. The parent is
re-rendered by a coalesced job on the low-priority queue so a throttled ``chat.update``
never holds up the relay.
"""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from bridge import clock
from bridge.automation import Automation
from bridge.friends.ops import friend_summary, index_friend_name
from bridge.humanize import ago
from bridge.i18n import t
from bridge.model import Conversation, DeliveryFailed, InboundMessage, Profile, RetryLater
from bridge.relay.batch import render_batch
from bridge.ports import ParentRefresher, RefreshQueue
from bridge.services import Component, Services
from bridge.slack_ui.free_reply import free_until_badge
from bridge.store.follows import follow_record
from bridge.slack_ui.parent import parent_message
from bridge.store.messages import parent_first, set_parent_first

log = logging.getLogger(__name__)

PARENT_REFRESH_GUARD = 60  # s; a lost refresh job can delay the next one by at most this


class ParentRefresh(Component):
    """Requests for a parent's status line to be re-rendered, coalesced, off the relay's critical path.

    chat.update is rate limited (Tier 3) and a busy chat changes often: while one refresh
    waits in the queue, further requests are absorbed by it (it renders the state as it
    is when it runs), and a throttled refresh never holds up the messages themselves.
    """

    def __init__(self, services: Services, queue: RefreshQueue):
        super().__init__(services)
        self.queue = queue

    def request(self, conv_id: str) -> None:
        if self.store.claim_flag(self.store.keys.parent_refresh(conv_id=conv_id), PARENT_REFRESH_GUARD):
            self.queue.schedule_refresh(conv_id, 0.0)

    def again(self, conv_id: str, delay: float) -> None:
        """A refresh that ran and was throttled: the next one after ``delay`` (the flag is cleared already)."""
        if self.store.claim_flag(self.store.keys.parent_refresh(conv_id=conv_id), PARENT_REFRESH_GUARD + int(delay)):
            self.queue.schedule_refresh(conv_id, delay)


class Portals(Component):
    def __init__(self, services: Services, automation: Automation, refresh: ParentRefresher):
        super().__init__(services)
        self.automation = automation  # the parent's badges and controls (business hours, reminders)
        self.refresh = refresh

    def ensure_conversation(self, msg: InboundMessage) -> tuple[Conversation, bool]:
        """Find or create the conversation of ``msg`` (its number assigned), without any Slack call.

        Why separate from the parent post: a new chat is in /pending (with its number) the
        moment its first message is processed, while its parent waits for the channel's turn."""
        conv = self.store.get_conversation(msg.conv_id)
        if conv is not None:
            return conv, False
        identity = self.chat_identity(msg)
        account = self.accounts.require(msg.account)
        conv, created = self.store.ensure_conversation(Conversation(
            conv_id=msg.conv_id, source_type=msg.source_type, number=0, account=msg.account, line_id=msg.line_id,
            name=identity.display_name, picture_url=identity.picture_url, channel=account.channel,
            created_at=time.time(), mark=self.marks.default_open,
        ))
        if created:
            index_friend_name(self.services, conv)
            log.info("new conversation #%d for %s %s (%s)", conv.number, msg.source_type, msg.line_id, msg.account)
        return conv, created

    def renew_if_gone(self, conv: Conversation, now: float) -> Conversation:
        """A thread older than ``BRIDGE_THREAD_MAX_AGE_DAYS`` is gone from Slack's view (the free plan
        shows 90 days): forget it, so the friend's message opens a new thread for the same
        conversation (same number) whose parent says so and links to the history page."""
        days = self.settings.thread_max_age_days
        try:
            started = float(conv.thread_ts or 0)
        except ValueError:
            return conv
        if not days or not started or now - started < days * 86400:
            return conv
        self.store.update_conversation(conv.conv_id, thread_ts="", previous_thread_ts=conv.thread_ts)
        set_parent_first(self.store, conv.conv_id, "")  # the new parent shows the new first messages
        log.info("conversation #%d: thread %s is %d days old, the next message opens a new one",
                 conv.number, conv.thread_ts, (now - started) // 86400)
        return replace(conv, thread_ts="", previous_thread_ts=conv.thread_ts)

    def _search_since(self, conv: Conversation, created: bool, sent_at: float) -> float | None:
        """Since when an earlier attempt may have posted this parent (None: this attempt created the
        conversation, nothing to search). A renewed thread's parent follows the message that renewed it."""
        if created:
            return None
        if conv.previous_thread_ts:
            return (sent_at or time.time()) - 60
        return conv.created_at or time.time() - 3600

    def ensure_portal(self, msg: InboundMessage) -> Conversation:
        """Find or create the conversation of ``msg`` and its Slack thread (idempotent).

        The parent posted here shows no friend message (a notice, or a file uploaded into the
        thread, comes first); friend texts of a new chat go into the parent (:meth:`post_parent`)."""
        conv, created = self.ensure_conversation(msg)
        if not conv.thread_ts:
            text, blocks = self.render_parent(conv, first_text="")
            # A conversation this attempt did not create may have had its parent posted by an
            # earlier attempt whose record was lost: the gateway then searches before posting.
            since = self._search_since(conv, created, msg.timestamp_ms / 1000)
            key = f"parent-{conv.conv_id}" + (f"-{conv.previous_thread_ts}" if conv.previous_thread_ts else "")
            ts = self.slack.post_once(key, conv.channel, text, blocks=blocks, maybe_posted_since=since)
            self._bound(conv, ts, [])
        return conv

    def post_parent(self, conv: Conversation, post_key: str, first_text: str, line_ids: list[str],
                    created: bool = False, sent_at: float = 0.0) -> str:
        """Post the parent of a new conversation carrying the friend's first message(s): one
        ``chat.postMessage`` per new conversation instead of two. Idempotent under ``post_key``
        (the post key of the first message, whose record also fixes which messages it shows)."""
        set_parent_first(self.store, conv.conv_id, first_text)  # before the post: a refresh keeps it
        text, blocks = self.render_parent(conv, first_text=first_text)
        # As for a bare parent: an attempt that did not create the conversation searches before
        # posting, in case an earlier attempt posted it and its record was lost.
        since = self._search_since(conv, created, sent_at)
        ts = self.slack.post_once(post_key, conv.channel, text, blocks=blocks, maybe_posted_since=since)
        self._bound(conv, ts, line_ids)
        return ts

    def _bound(self, conv: Conversation, ts: str, line_ids: list[str]) -> None:
        self.store.bind_thread(conv.conv_id, conv.channel, ts)
        extra = {"line_message_ids": ",".join(line_ids)} if line_ids else {}
        self.store.link_slack_message(conv.channel, ts, conv.conv_id, "parent", **extra)
        conv.thread_ts = ts
        self.backlog.reindex(conv.conv_id)
        try:  # cache the workspace's archive URL once, for /pending's thread links
            self.slack.workspace_archive_url(conv.channel, ts)
        except (DeliveryFailed, RetryLater) as exc:
            log.info("could not cache the workspace URL: %s", exc)

    def rerender_first(self, conv: Conversation) -> None:
        """One of the first messages was unsent or edited: the parent shows the rest as before."""
        ids = self.store.get_slack_message(conv.channel, conv.thread_ts).get("line_message_ids") or ""
        rendered = render_batch(self.store, conv.account, ids.split(","), self.lang) if ids else None
        if rendered is not None:
            shown = parent_first(self.store, conv.conv_id)
            header = shown.split("\n", 1)[0] + "\n" if shown and not shown.startswith("<!date^") else ""  # a group's sender
            set_parent_first(self.store, conv.conv_id, header + rendered)
        self.refresh_parent(conv.conv_id)

    def render_parent(self, conv: Conversation, first_text: str | None = None) -> tuple[str, list[dict]]:
        account = self.accounts.get(conv.account)
        label = account.name if account and self.accounts.shares_channel(conv.account) else ""
        now = clock.now()
        badges, extra = self.automation.parent_extras(conv, now)
        follow = follow_record(self.store, conv.conv_id) if conv.is_one_to_one and not conv.blocked else None
        if follow and follow.followed_at:  # 友だち追加: 3日前 (a quiet follow is shown once the friend writes)
            badges = [t("parent.unblocked_since" if follow.unblocked else "parent.friend_since", self.lang,
                        when=ago(follow.followed_at, now, self.lang)), *badges]
        free = free_until_badge(conv.reply_token_at, self.settings.reply_token_ttl, self.lang, time.time()) \
            if conv.reply_token and account and account.uses_reply_tokens else ""
        badges = [*badges, free] if free else badges  # rendered with the friend's message anyway: no extra call
        if first_text is None:
            first_text = parent_first(self.store, conv.conv_id)
        return parent_message(conv, self.marks, self.lang, now=now, account_label=label, badges=badges,
                              extra_elements=extra, friend_line=friend_summary(self.services, conv, self.lang),
                              first_text=first_text)

    def chat_identity(self, msg: InboundMessage) -> Profile:
        """The name and picture shown on the thread parent."""
        line = self.services.lines.of(msg.account)
        if msg.source_type == "group":
            summary = line.group_summary(msg.line_id)
            if summary:
                return summary
            return Profile(t("parent.kind.group", self.lang))
        if msg.source_type == "room":
            return Profile(t("parent.kind.room", self.lang))
        return self.cached_profile(msg.account, msg.source_type, msg.conv_id, msg.line_id, msg.sender_id) \
            or Profile(t("unknown_name", self.lang))

    def sender_profile(self, conv: Conversation, user_id: str) -> Profile:
        """Who wrote a message: shown as the Slack username/icon of the relayed message."""
        if not user_id:
            return Profile(conv.name or t("unknown_name", self.lang), conv.picture_url)
        prof = self.cached_profile(conv.account, conv.source_type, conv.conv_id, conv.line_id, user_id)
        if prof:
            return prof
        if conv.is_one_to_one:
            return Profile(conv.name or t("unknown_name", self.lang), conv.picture_url)
        return Profile(t("unknown_name", self.lang))

    def cached_profile(self, account: str, source_type: str, conv_id: str, line_id: str, user_id: str) -> Profile | None:
        if not user_id:
            return None
        key = self.store.keys.profile(conv_id=conv_id, user_id=user_id)
        cached = self.store.cached_json(key)
        if cached is not None:
            return Profile(**cached) if cached else None
        prof = self.services.lines.of(account).profile(source_type, line_id, user_id)
        self.store.cache_json(key, {"display_name": prof.display_name, "picture_url": prof.picture_url} if prof else {},
                              ttl=24 * 3600 if prof else 600)
        return prof

    # -- the parent's status line (requested through ParentRefresh) ------------------------
    def run_parent_refresh(self, conv_id: str) -> None:
        """The job behind :meth:`ParentRefresh.request`."""
        key = self.store.keys.parent_refresh(conv_id=conv_id)
        self.store.clear_flag(key)  # changes from now on need another refresh
        try:
            self.refresh_parent(conv_id)
        except RetryLater as exc:
            log.info("parent of %s not refreshed (%s); again in %.1fs", conv_id, exc.reason, exc.delay)
            self.refresh.again(conv_id, exc.delay)
        except DeliveryFailed as exc:
            log.warning("parent of %s could not be refreshed: %s", conv_id, exc)

    def refresh_parent(self, conv_id: str) -> None:
        """Re-render the parent's status line from the stored state.

        Two workers (a LINE stream and a Slack thread stream) may refresh at once; each
        re-reads the state after its chat.update and renders again if what it shows changed
        meanwhile, so the last update Slack receives always shows the newest state.
        """
        conv = self.store.get_conversation(conv_id)
        for _ in range(3):
            if not conv or not conv.thread_ts:
                return
            self.slack.update(conv.channel, conv.thread_ts, *self.render_parent(conv))
            latest = self.store.get_conversation(conv_id)
            if latest is None or _shown(latest) == _shown(conv):
                return
            conv = latest


def _shown(conv: Conversation) -> Conversation:
    """The part of a conversation the parent shows (tokens change with every message; of the reply
    token only its time shows, as the free-reply deadline)."""
    return replace(conv, reply_token="", reply_token_at=conv.reply_token_at if conv.reply_token else 0.0, mark_as_read_token="")
