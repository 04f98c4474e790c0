"""Slack Web API gateway (slack_sdk WebClient).

Posting is idempotent: every post has a *post key*; the store records it as pending
before the call and with its ``ts`` after. If a retry finds a pending record (the
previous attempt's answer was lost: timeout or 5xx) it looks for the message in the
channel/thread by the key carried in the message ``metadata`` before posting again.
https://api.slack.com/metadata/using
"""
from __future__ import annotations

import logging
import time
from typing import Any, Callable, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.webhook import WebhookClient

from bridge.model import DeliveryFailed, RetryLater
from bridge.settings import Settings
from bridge.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

METADATA_EVENT_TYPE = "lsb_post"
USER_CACHE_TTL = 24 * 3600


class SlackGateway:
    def __init__(self, settings: Settings, store: Store, client: WebClient | None = None):
        # retry_handlers=[]: retries are ours (bridge.inbox), so a retry can never
        # re-post a message whose first attempt actually reached Slack.
        self.client = client or WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url,
                                          timeout=15, retry_handlers=[])
        self.store = store

    # -- error translation -------------------------------------------------------------
    def _call(self, method: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except SlackApiError as exc:
            resp = exc.response
            status = getattr(resp, "status_code", 0) or 0
            data = getattr(resp, "data", None)
            error = str(data.get("error") or "") if isinstance(data, dict) else ""
            if status == 429 or error == "ratelimited":
                # https://api.slack.com/apis/rate-limits : honour Retry-After (seconds).
                retry_after = (resp.headers or {}).get("Retry-After") or (resp.headers or {}).get("retry-after") or "1"
                raise RetryLater(f"Slack {method}: rate limited", delay=float(retry_after), throttled=True) from exc
            if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
                raise RetryLater(f"Slack {method}: {error or 'HTTP ' + str(status)}", delay=5) from exc
            raise DeliveryFailed(error or f"http_{status}", f"Slack {method}", status) from exc
        except (SlackClientError, OSError) as exc:
            raise RetryLater(f"Slack {method}: {type(exc).__name__}", delay=5) from exc

    # -- identity -------------------------------------------------------------------------
    def bot_identity(self) -> dict[str, str]:
        """The bridge's own bot user id and bot id (for echo guards), cached in Redis."""
        key = self.store.keys.bot_identity()
        cached = self.store.r.hgetall(key)
        if cached:
            return cached
        resp = self._call("auth.test", self.client.auth_test)
        ident = {"user_id": resp.get("user_id") or "", "bot_id": resp.get("bot_id") or ""}
        self.store.r.hset(key, mapping=ident)
        self.store.r.expire(key, USER_CACHE_TTL)
        return ident

    def user_name(self, user_id: str) -> str | None:
        """A Slack user's display name (cached), for turning mentions into plain text."""
        key = self.store.keys.slack_user(user_id=user_id)
        cached = self.store.r.get(key)
        if cached is not None:
            return cached or None
        try:
            resp = self._call("users.info", self.client.users_info, user=user_id)
        except DeliveryFailed:
            self.store.r.set(key, "", ex=300)
            return None
        user = resp.get("user") or {}
        profile = user.get("profile") or {}
        name = profile.get("display_name") or profile.get("real_name") or user.get("real_name") or user.get("name") or ""
        self.store.r.set(key, name, ex=USER_CACHE_TTL)
        return name or None

    # -- posting --------------------------------------------------------------------------
    def post_once(self, post_key: str, channel: str, text: str, *, blocks: list[dict] | None = None,
                  thread_ts: str | None = None, username: str | None = None, icon_url: str | None = None,
                  reply_broadcast: bool = False) -> str:
        """Post a message exactly once per ``post_key``; returns its ``ts``."""
        record = self.store.get_record("slack_post", post_key)
        if record.get("ts"):
            return record["ts"]
        if record.get("state") == "pending":
            found = self._find_posted(post_key, channel, thread_ts, since=float(record.get("at") or 0))
            if found:
                self.store.set_record("slack_post", post_key, state="posted", ts=found)
                return found
        self.store.set_record("slack_post", post_key, state="pending", at=time.time())
        kwargs: dict[str, Any] = {
            "channel": channel, "text": text, "unfurl_links": False, "unfurl_media": False,
            "metadata": {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": post_key}},
        }
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
            if reply_broadcast:
                kwargs["reply_broadcast"] = True
        if username:
            kwargs["username"] = username[:80]  # Slack truncates longer names
        if icon_url:
            kwargs["icon_url"] = icon_url
        try:
            resp = self._call("chat.postMessage", self.client.chat_postMessage, **kwargs)
        except RetryLater as exc:
            if exc.throttled:
                # A 429 is a refusal: nothing was posted, no need to search next time.
                self.store.set_record("slack_post", post_key, state="")
            raise
        except DeliveryFailed:
            self.store.set_record("slack_post", post_key, state="failed")
            raise
        ts = resp["ts"]
        self.store.set_record("slack_post", post_key, state="posted", ts=ts)
        return ts

    def _find_posted(self, post_key: str, channel: str, thread_ts: str | None, since: float) -> str | None:
        """Look for a message of ours carrying ``post_key`` in its metadata, posted since ``since``."""
        oldest = f"{max(0.0, since - 60):.6f}"
        if thread_ts:
            resp = self._call("conversations.replies", self.client.conversations_replies, channel=channel, ts=thread_ts,
                              oldest=oldest, include_all_metadata=True, limit=200)
        else:
            resp = self._call("conversations.history", self.client.conversations_history, channel=channel,
                              oldest=oldest, include_all_metadata=True, limit=200)
        for message in resp.get("messages") or []:
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT_TYPE and (meta.get("event_payload") or {}).get("key") == post_key:
                log.info("post %s was already delivered as %s; not posting again", post_key, message.get("ts"))
                return message.get("ts")
        return None

    def update(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        self._call("chat.update", self.client.chat_update, channel=channel, ts=ts, text=text, blocks=blocks or [])

    def react(self, channel: str, ts: str, name: str) -> None:
        """Add a reaction; adding one that is already there is fine (idempotent)."""
        try:
            self._call("reactions.add", self.client.reactions_add, channel=channel, timestamp=ts, name=name)
        except DeliveryFailed as exc:
            if exc.reason != "already_reacted":
                raise

    def post_ephemeral(self, channel: str, user: str, text: str, blocks: list[dict] | None = None,
                       thread_ts: str | None = None) -> None:
        kwargs: dict[str, Any] = {"channel": channel, "user": user, "text": text}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        self._call("chat.postEphemeral", self.client.chat_postEphemeral, **kwargs)

    def channel_members(self, channel: str) -> list[str]:
        """Every member of ``channel`` (conversations.members, paginated)."""
        members: list[str] = []
        cursor = None
        while True:
            kwargs: dict[str, Any] = {"channel": channel, "limit": 1000}
            if cursor:
                kwargs["cursor"] = cursor
            resp = self._call("conversations.members", self.client.conversations_members, **kwargs)
            members += resp.get("members") or []
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    def respond(self, response_url: str, text: str, blocks: list[dict] | None = None) -> None:
        """Answer a slash command or an interaction ephemerally through its response_url."""
        resp = WebhookClient(response_url, timeout=10).send(text=text, blocks=blocks, response_type="ephemeral",
                                                            replace_original=False)
        if resp.status_code >= 400:
            raise DeliveryFailed("response_url", f"HTTP {resp.status_code}: {resp.body}", resp.status_code)

    def workspace_archive_url(self, channel: str, ts: str) -> str:
        """``https://<team>.slack.com/archives/`` (cached) so thread links can be built without an API call each."""
        key = self.store.keys.workspace_url()
        cached = self.store.r.get(key)
        if cached:
            return cached
        link = self.permalink(channel, ts)
        base = link.split("/archives/")[0] + "/archives/"
        self.store.r.set(key, base, ex=7 * 24 * 3600)
        return base

    def upload_private(self, user: str, files: list[tuple[str, str]], comment: str) -> None:
        """Upload files (path, filename) to the app's DM with ``user``: only that person sees them."""
        try:  # files.completeUploadExternal needs a conversation id: the DM's (scope im:write)
            channel = self._call("conversations.open", self.client.conversations_open, users=user)["channel"]["id"]
        except DeliveryFailed as exc:
            if exc.reason != "unknown_method":
                raise
            channel = user  # the Slack emulator resolves a user id to the DM
        self._call("files.upload", self.client.files_upload_v2, channel=channel, initial_comment=comment,
                   file_uploads=[{"file": path, "filename": name, "title": name} for path, name in files])

    def permalink(self, channel: str, ts: str) -> str:
        return self._call("chat.getPermalink", self.client.chat_getPermalink, channel=channel, message_ts=ts)["permalink"]
