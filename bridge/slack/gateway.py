"""Slack Web API gateway (slack_sdk WebClient).

Posting is idempotent: every post has a *post key*; the store records it as pending
before the call and with its ``ts`` after. If a retry finds a pending record (the
previous attempt's answer was lost: timeout or 5xx) it looks for the message in the
channel/thread by the key carried in the message ``metadata`` before posting again.
https://api.slack.com/metadata/using

The search is only trusted once the earlier attempt is surely over: a ``pending`` record
(no outcome recorded: the worker died mid-call, or the call is still running elsewhere) is
searched for only ``IN_FLIGHT_S`` after the attempt started (the SDK timeout is 15 s); an
attempt that ended with an error is searched for ``SETTLE_S`` after it ended. The search
window starts at the *first* uncertain attempt (later attempts never move it) and is read
page by page, so a busy channel cannot push the message out of it. A caller that knows an
earlier attempt may have posted even without a record (the record was lost) passes
``maybe_posted_since``: the conversation's thread parent does, when the conversation
already existed.
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
from bridge.slack.directory import USER_CACHE_TTL, SlackDirectoryMixin
from bridge.slack.file_hosts import FileHosts
from bridge.slack.files import SlackFilesMixin
from bridge.slack.ratelimit import POST, REACTIONS, UPDATE, SlackRateLimiter
from bridge.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

METADATA_EVENT_TYPE = "lsb_post"
IN_FLIGHT_S = 17.0      # a call without a recorded outcome may still be running this long (timeout 15 s)
SETTLE_S = 3.0          # after an error answer, a message that was posted anyway shows in history by then
SEARCH_MARGIN_S = 60.0  # clock skew between us and Slack
SEARCH_PAGES = 20       # x200 messages


class SlackGateway(SlackDirectoryMixin, SlackFilesMixin):
    def __init__(self, settings: Settings, store: Store, client: WebClient | None = None,
                 limiter: SlackRateLimiter | None = None):
        # retry_handlers=[]: retries are ours (bridge.engine.drain), so a retry can never
        # re-post a message whose first attempt actually reached Slack.
        self.client = client or WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_base_url,
                                          timeout=15, retry_handlers=[])
        self.store = store
        self.file_hosts = FileHosts(settings)  # where the bot token may go (file downloads)
        # Paces chat.postMessage / chat.update / reactions.add before Slack has to refuse them (None: no pacing).
        self.limiter = limiter

    # -- error translation -------------------------------------------------------------
    def _call(self, method: str, fn: Callable[..., Any], *, pace: tuple[str, str, str] | None = None,
              acquired: bool = False, **kwargs: Any) -> Any:
        """Call the SDK; ``pace`` = (tier, channel, owner) asks the shared rate limiter first (the
        owner, stable across retries, keeps its turn when told to come back later) unless the
        caller already did (``acquired``)."""
        if pace and self.limiter and not acquired:
            self.limiter.wait_or_raise(*pace)
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
                delay = float(retry_after)
                if pace and self.limiter:
                    # Every worker backs off, and this caller gets the first turn after it.
                    delay = self.limiter.penalize(pace[0], pace[1], delay, pace[2])
                    raise RetryLater(f"Slack {method}: rate limited", delay=delay, throttled=True, paced=True) from exc
                raise RetryLater(f"Slack {method}: rate limited", delay=delay, throttled=True) from exc
            if status >= 500 or error in ("internal_error", "fatal_error", "service_unavailable", "request_timeout"):
                raise RetryLater(f"Slack {method}: {error or 'HTTP ' + str(status)}", delay=5) from exc
            raise DeliveryFailed(error or f"http_{status}", f"Slack {method}", status) from exc
        except (SlackClientError, OSError) as exc:
            raise RetryLater(f"Slack {method}: {type(exc).__name__}", delay=5) from exc

    # -- identity -------------------------------------------------------------------------
    def bot_identity(self) -> dict[str, str]:
        """The bridge's own bot user id and bot id (for echo guards), cached in Redis."""
        key = self.store.keys.bot_identity()
        cached = self.store.cache_get_hash(key)
        if cached:
            return cached
        resp = self._call("auth.test", self.client.auth_test)
        ident = {"user_id": resp.get("user_id") or "", "bot_id": resp.get("bot_id") or ""}
        self.store.cache_set_hash(key, ident, USER_CACHE_TTL)
        return ident

    def auth_check(self) -> dict[str, Any]:
        """``auth.test``, uncached, with the token's scopes (the ``x-oauth-scopes`` header): for bridge.doctor."""
        resp = self._call("auth.test", self.client.auth_test)
        headers = {k.lower(): v for k, v in (resp.headers or {}).items()}
        scopes = headers.get("x-oauth-scopes") or ""
        scopes = ",".join(scopes) if isinstance(scopes, list) else scopes
        return {"user_id": resp.get("user_id") or "", "team": resp.get("team") or "", "url": resp.get("url") or "",
                "scopes": {s.strip() for s in scopes.split(",") if s.strip()}}

    def publish_home(self, user_id: str, view: dict) -> None:
        """The person's App Home tab (views.publish)."""
        self._call("views.publish", self.client.views_publish, user_id=user_id, view=view)

    # -- posting --------------------------------------------------------------------------
    def post_once(self, post_key: str, channel: str, text: str, *, blocks: list[dict] | None = None,
                  thread_ts: str | None = None, username: str | None = None, icon_url: str | None = None,
                  reply_broadcast: bool = False, maybe_posted_since: float | None = None,
                  first_in_line: bool = False) -> str:
        """Post a message exactly once per ``post_key``; returns its ``ts``.

        ``first_in_line``: go before every post waiting for the channel's turn (a notice about that wait)."""
        record = self.store.get_record("slack_post", post_key)
        if record.get("ts"):
            return record["ts"]
        state = record.get("state") or ""
        since: float | None = None
        if state in ("pending", "uncertain"):
            since = float(record.get("first_at") or record.get("at") or 0)
        elif not state and maybe_posted_since is not None:
            since = maybe_posted_since  # no record at all (lost?) though an earlier attempt may have posted
        # state "waiting": an earlier attempt only waited for its turn and sent nothing: no search.
        if since is not None:
            wait = _settled_at(record) - time.time()
            if wait > 0:
                # Waiting for our own earlier attempt is not a failure: no attempt counted, no growing back-off.
                raise RetryLater(f"Slack post {post_key}: an earlier attempt may still be in flight", delay=wait,
                                 throttled=True)
        if self.limiter and first_in_line:
            self.limiter.jump(POST, channel)
        elif self.limiter:  # our turn first (it may be handed back as RetryLater): nothing is sent before it
            try:
                self.limiter.wait_or_raise(POST, channel, post_key)
            except RetryLater:
                if not state and since is None:
                    # Told to come back for its turn before anything was sent: the return needs no
                    # search for an earlier post (a campaign day's parents would each spend a
                    # conversations.history call, Tier 3, on it).
                    self.store.set_record("slack_post", post_key, state="waiting")
                raise
        if since is not None:
            # Searched once our turn has come, right before posting: a post told to come back later (paced)
            # sent nothing, so searching on every such return would only spend Slack calls.
            found = self._find_posted(post_key, channel, thread_ts, since=since)
            if found:
                self.store.set_record("slack_post", post_key, state="posted", ts=found)
                return found
        now = time.time()
        self.store.set_record("slack_post", post_key, state="pending", at=now, first_at=since or now)
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
            resp = self._call("chat.postMessage", self.client.chat_postMessage, pace=(POST, channel, post_key),
                              acquired=True, **kwargs)
        except RetryLater as exc:
            if exc.throttled and since is None:
                # A 429 is a refusal: nothing was posted, no need to search next time.
                self.store.set_record("slack_post", post_key, state="")
            else:
                # A 5xx or a timeout: it may have been posted. Search before the next attempt.
                self.store.set_record("slack_post", post_key, state="uncertain", ended_at=time.time())
            raise
        except DeliveryFailed:
            self.store.set_record("slack_post", post_key, state="failed")
            raise
        ts = resp["ts"]
        self.store.set_record("slack_post", post_key, state="posted", ts=ts)
        return ts

    def _find_posted(self, post_key: str, channel: str, thread_ts: str | None, since: float) -> str | None:
        """Look for a message of ours carrying ``post_key`` in its metadata, posted since ``since``."""
        kwargs: dict[str, Any] = {"channel": channel, "oldest": f"{max(0.0, since - SEARCH_MARGIN_S):.6f}",
                                  "include_all_metadata": True, "limit": 200}
        for _ in range(SEARCH_PAGES):
            if thread_ts:
                resp = self._call("conversations.replies", self.client.conversations_replies, ts=thread_ts, **kwargs)
            else:
                resp = self._call("conversations.history", self.client.conversations_history, **kwargs)
            for message in resp.get("messages") or []:
                meta = message.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT_TYPE and (meta.get("event_payload") or {}).get("key") == post_key:
                    log.info("post %s was already delivered as %s; not posting again", post_key, message.get("ts"))
                    return message.get("ts")
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not resp.get("has_more") or not cursor:
                return None
            kwargs["cursor"] = cursor
        # Not found in SEARCH_PAGES pages: refusing to post would lose the message for good.
        log.warning("post %s: not found in %d pages of history; posting", post_key, SEARCH_PAGES)
        return None

    def update(self, channel: str, ts: str, text: str, blocks: list[dict] | None = None) -> None:
        self._call("chat.update", self.client.chat_update, pace=(UPDATE, channel, f"{channel}-{ts}"), channel=channel,
                   ts=ts, text=text, blocks=blocks or [])

    def thread_messages(self, channel: str, thread_ts: str) -> list[dict[str, Any]]:
        """Every message of a thread, the parent first (conversations.replies, paginated)."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {"channel": channel, "ts": thread_ts, "limit": 200}
        while True:
            resp = self._call("conversations.replies", self.client.conversations_replies, **kwargs)
            out += resp.get("messages") or []
            cursor = (resp.get("response_metadata") or {}).get("next_cursor")
            if not resp.get("has_more") or not cursor:
                return out
            kwargs["cursor"] = cursor

    def delete_message(self, channel: str, ts: str) -> bool:
        """chat.delete one of the bot's own messages; False when it is gone already."""
        try:
            self._call("chat.delete", self.client.chat_delete, pace=(UPDATE, channel, f"{channel}-{ts}-del"),
                       channel=channel, ts=ts)
            return True
        except DeliveryFailed as exc:
            if exc.reason == "message_not_found":
                return False
            raise

    def react(self, channel: str, ts: str, name: str) -> None:
        """Add a reaction; adding one that is already there is fine (idempotent)."""
        try:
            self._call("reactions.add", self.client.reactions_add, pace=(REACTIONS, channel, f"{channel}-{ts}-{name}"),
                       channel=channel, timestamp=ts, name=name)
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

    def respond(self, response_url: str, text: str, blocks: list[dict] | None = None) -> None:
        """Answer a slash command or an interaction ephemerally through its response_url."""
        resp = WebhookClient(response_url, timeout=10).send(text=text, blocks=blocks, response_type="ephemeral",
                                                            replace_original=False)
        if resp.status_code >= 400:
            raise DeliveryFailed("response_url", f"HTTP {resp.status_code}: {resp.body}", resp.status_code)

    def workspace_archive_url(self, channel: str, ts: str) -> str:
        """``https://<team>.slack.com/archives/`` (cached) so thread links can be built without an API call each."""
        key = self.store.keys.workspace_url()
        cached = self.store.cache_get(key)
        if cached:
            return cached
        link = self.permalink(channel, ts)
        base = link.split("/archives/")[0] + "/archives/"
        self.store.cache_set(key, base, 7 * 24 * 3600)
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


def _settled_at(record: dict[str, str]) -> float:
    """When the last attempt recorded in ``record`` is surely over (its message, if any, visible)."""
    if record.get("state") == "pending":
        return float(record.get("at") or 0) + IN_FLIGHT_S
    if record.get("state") == "uncertain":
        return float(record.get("ended_at") or 0) + SETTLE_S
    return 0.0
