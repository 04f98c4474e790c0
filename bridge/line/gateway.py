"""LINE Messaging API gateway (line-bot-sdk v3)."""
from __future__ import annotations

import json
import logging
from typing import Any, Callable, TypeVar

import urllib3
from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    Message,
    MarkMessagesAsReadByTokenRequest,
    MessagingApi,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    ShowLoadingAnimationRequest,
    TextMessage,
)

from bridge.accounts import Account, AccountSet
from bridge.line.content import LineContent
from bridge.model import BotInfo, DeliveryFailed, Profile, RetryLater
from bridge.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

REQUEST_TIMEOUT = 15  # seconds; LINE answers in well under a second normally


def _error_detail(exc: ApiException) -> str:
    """LINE error bodies look like {"message": "...", "details": [{"message", "property"}]}."""
    try:
        body = json.loads(exc.body or "{}")
    except (TypeError, ValueError):
        return str(exc.body or exc.reason or exc.status)
    parts = [body.get("message", "")]
    for d in body.get("details") or []:
        parts.append(f"{d.get('property', '')}: {d.get('message', '')}".strip(": "))
    return "; ".join(p for p in parts if p)


def _retry_after(exc: ApiException, default: float) -> float:
    headers = exc.headers or {}
    value = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return float(value) if value is not None else default
    except ValueError:
        return default


class LineGateways:
    """The :class:`~bridge.ports.LineDirectory`: one gateway per account, built on first use."""

    def __init__(self, settings: Settings, accounts: AccountSet):
        self.settings = settings
        self.accounts = accounts
        self._gateways: dict[str, LineGateway] = {}

    def of(self, account: str) -> "LineGateway":
        gw = self._gateways.get(account)
        if gw is None:
            gw = self._gateways[account] = LineGateway(self.settings, self.accounts.require(account))
        return gw


class LineGateway:
    """Sends to and reads from one LINE Official Account; never leaks SDK objects to callers."""

    def __init__(self, settings: Settings, account: Account):
        # One host serves both api.line.me and api-data.line.me paths in the emulator;
        # in production LINE_API_BASE_URL is unset and the SDK defaults are used.
        config = Configuration(host=settings.line_api_base_url, access_token=account.token)
        self._client = ApiClient(config)
        self.api = MessagingApi(self._client)
        self.content = LineContent(self._client.rest_client.pool_manager, account.token, settings.line_api_data_base_url)

    # -- error translation ------------------------------------------------------------
    def _call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
        except ApiException as exc:
            raise self._translate(what, exc) from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # Timeouts and connection errors: the request may or may not have arrived.
            raise RetryLater(f"LINE {what}: {type(exc).__name__}", delay=5) from exc

    @staticmethod
    def _translate(what: str, exc: ApiException) -> Exception:
        status = exc.status or 0
        detail = _error_detail(exc)
        if status == 429:
            # https://developers.line.biz/en/reference/messaging-api/#status-codes : 429 is both
            # "rate limit exceeded" (transient) and "monthly limit reached" (permanent until next month).
            if "monthly limit" in detail.lower():
                return DeliveryFailed("quota", detail, status)
            return RetryLater(f"LINE {what}: rate limited", delay=_retry_after(exc, 10.0), throttled=True)
        if status >= 500:
            return RetryLater(f"LINE {what}: HTTP {status}", delay=_retry_after(exc, 5.0))
        if status == 401:
            return DeliveryFailed("auth", detail, status)
        if status == 400 and "reply token" in detail.lower():
            return DeliveryFailed("invalid_reply_token", detail, status)
        return DeliveryFailed("invalid", detail or f"HTTP {status}", status)

    # -- reads --------------------------------------------------------------------------
    def bot_info(self) -> BotInfo:
        """``GET /v2/bot/info``: the bot's user id is the ``destination`` of its webhooks."""
        info = self._call("bot info", self.api.get_bot_info)
        return BotInfo(user_id=info.user_id, display_name=info.display_name or "", basic_id=info.basic_id or "")

    def quota_used(self) -> int:
        """``GET /v2/bot/message/quota/consumption``: messages counted against this month's quota."""
        return int(self._call("quota", self.api.get_message_quota_consumption).total_usage or 0)

    def webhook_endpoint(self) -> tuple[str, bool]:
        """``GET /v2/bot/channel/webhook/endpoint``: (URL, active) as set in the LINE console."""
        info = self._call("webhook endpoint", self.api.get_webhook_endpoint)
        return info.endpoint or "", bool(info.active)

    def test_webhook(self, url: str | None = None) -> tuple[bool, str]:
        """``POST /v2/bot/channel/webhook/test``: LINE sends a test webhook; (success, what happened)."""
        from linebot.v3.messaging import TestWebhookEndpointRequest

        res = self._call("webhook test", self.api.test_webhook_endpoint,
                         TestWebhookEndpointRequest(endpoint=url) if url else TestWebhookEndpointRequest())
        return bool(res.success), f"HTTP {res.status_code} {res.reason or ''} {res.detail or ''}".strip()

    def profile(self, source_type: str, source_id: str, user_id: str) -> Profile | None:
        """The display name and picture of ``user_id`` as seen in chat ``source_id`` (None if LINE won't tell)."""
        try:
            if source_type == "group":
                p = self._call("profile", self.api.get_group_member_profile, source_id, user_id)
            elif source_type == "room":
                p = self._call("profile", self.api.get_room_member_profile, source_id, user_id)
            else:
                p = self._call("profile", self.api.get_profile, user_id)
        except DeliveryFailed as exc:
            # 404: not a friend any more / not a member; the message is still shown, with a fallback name.
            log.info("no LINE profile for %s in %s: %s", user_id, source_id, exc)
            return None
        return Profile(display_name=p.display_name, picture_url=p.picture_url or "")

    def group_summary(self, group_id: str) -> Profile | None:
        try:
            s = self._call("group summary", self.api.get_group_summary, group_id)
        except DeliveryFailed as exc:
            log.info("no LINE group summary for %s: %s", group_id, exc)
            return None
        return Profile(display_name=s.group_name, picture_url=s.picture_url or "")

    def quota(self) -> tuple[int | None, int]:
        """This month's push quota: (limit or None when unlimited, messages counted so far)."""
        q = self._call("quota", self.api.get_message_quota)
        used = self._call("quota consumption", self.api.get_message_quota_consumption)
        limit = q.value if getattr(q, "type", "") == "limited" else None
        return limit, int(used.total_usage or 0)

    # -- sends ----------------------------------------------------------------------------
    @staticmethod
    def _messages(texts: list[str | dict]) -> list[Message]:
        # A str is a text message; a dict is any LINE message object (image, video, audio…).
        return [TextMessage(text=t) if isinstance(t, str) else Message.from_dict(t) for t in texts]

    def reply(self, reply_token: str, texts: list[str | dict]) -> str:
        """Reply (free of charge) with up to 5 texts; returns LINE's request id."""
        resp = self._call("reply", self.api.reply_message_with_http_info,
                          ReplyMessageRequest(reply_token=reply_token, messages=self._messages(texts)))
        return (resp.headers or {}).get("x-line-request-id", "")

    def push(self, to: str, texts: list[str | dict], retry_key: str) -> tuple[str, bool]:
        """Push up to 5 texts with an ``X-Line-Retry-Key``; returns (request id, was_duplicate).

        A 409 means LINE already accepted a request with this retry key (an earlier attempt
        whose answer we lost): the messages were delivered once, so this is success.
        https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
        """
        try:
            resp = self._call("push", self.api.push_message_with_http_info,
                              PushMessageRequest(to=to, messages=self._messages(texts)), x_line_retry_key=retry_key)
        except DeliveryFailed as exc:
            if exc.status == 409:
                cause = exc.__cause__
                headers = getattr(cause, "headers", None) or {}
                return headers.get("x-line-accepted-request-id", ""), True
            raise
        return (resp.headers or {}).get("x-line-request-id", ""), False

    def multicast(self, to: list[str], texts: list[str | dict], retry_key: str) -> tuple[str, bool]:
        """Multicast up to 5 messages (texts or message objects) to at most 500 user ids with an ``X-Line-Retry-Key``;
        returns (request id, was_duplicate). A 409 (retry key already accepted) is success, as for push."""
        try:
            resp = self._call("multicast", self.api.multicast_with_http_info,
                              MulticastRequest(to=to, messages=self._messages(texts)), x_line_retry_key=retry_key)
        except DeliveryFailed as exc:
            if exc.status == 409:
                headers = getattr(exc.__cause__, "headers", None) or {}
                return headers.get("x-line-accepted-request-id", ""), True
            raise
        return (resp.headers or {}).get("x-line-request-id", ""), False

    def mark_as_read(self, mark_as_read_token: str) -> None:
        self._call("markAsRead", self.api.mark_messages_as_read_by_token,
                   MarkMessagesAsReadByTokenRequest(mark_as_read_token=mark_as_read_token))

    def show_loading(self, user_id: str, seconds: int = 20) -> None:
        """Loading animation in a 1:1 chat; 5–60 s in steps of 5 (LINE's rule)."""
        seconds = max(5, min(60, int(seconds) // 5 * 5))
        self._call("loading", self.api.show_loading_animation,
                   ShowLoadingAnimationRequest(chat_id=user_id, loading_seconds=seconds))

    # -- content (api-data host) --------------------------------------------------------
    def transcoding_status(self, message_id: str) -> str:
        return self.content.transcoding_status(message_id)

    def download_content(self, message_id: str, dest: Any, max_bytes: int) -> tuple[str, int]:
        return self.content.download(message_id, dest, max_bytes)

