"""Build and send LINE webhook requests, the way the LINE Platform does.

* :func:`sign` computes ``X-Line-Signature`` (base64 HMAC-SHA256 of the raw body with the
  channel secret; https://developers.line.biz/en/reference/messaging-api/#signature-validation).
* :class:`WebhookFactory` builds events conforming to ``webhook.yml`` (line/line-openapi)
  and registers their reply / mark-as-read tokens and media content with a
  :class:`~emulators.line_api.LineEmulator`, so the bridge can answer them against it.
* :func:`send_webhook` POSTs a body to the bridge with a valid (or forced) signature.

Reference: https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects
"""
from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import itertools
import json
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from emulators.line.sdk_models import SdkModelValidator
from emulators.line.spec import SpecIndex, default_spec_dir

if TYPE_CHECKING:
    from emulators.line.core import LineEmulator

__all__ = ["WebhookFactory", "send_webhook", "sign", "webhook_errors", "new_webhook_event_id"]

#: Copy of line-bot-sdk-python's tests/v3/text/webhook.json (Apache-2.0, see data/NOTICE),
#: used when the spec directory has no ``samples/webhook-all-events.json``.
SAMPLE_EVENTS_FILE = Path(__file__).resolve().parent / "line" / "data" / "webhook-all-events.json"
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# Message ids are numeric strings (18 digits nowadays); unique per process.
_message_ids = itertools.count(int(time.time() * 1000) * 100000 % 10**17 + 4 * 10**17)


def sign(channel_secret: str, body: bytes) -> str:
    """``X-Line-Signature`` of ``body``: base64(HMAC-SHA256(channel secret, body))."""
    digest = hmac.new(channel_secret.encode("utf-8"), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def new_webhook_event_id() -> str:
    """A fresh ULID (26 Crockford base32 chars: 48-bit ms timestamp + 80 random bits).

    LINE: "webhookEventId ... This is a string in ULID format."
    """
    value = (int(time.time() * 1000) << 80) | int.from_bytes(os.urandom(10), "big")
    chars = []
    for _ in range(26):
        chars.append(_CROCKFORD[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_message_id() -> str:
    """A fresh, process-unique numeric message id string."""
    return str(next(_message_ids))


def webhook_errors(payload: dict[str, Any], spec_dir: str | Path | None = None) -> list[dict[str, str]]:
    """Validate a webhook body (``{"destination", "events"}``) against ``webhook.yml``.

    Returns LINE-style ``{"message", "property"}`` details, empty when valid. Note that
    event types newer than the spec (e.g. in the sample file) are reported as invalid.
    Without ``webhook.yml`` the line-bot-sdk's ``linebot.v3.webhooks`` models are used.
    """
    directory = Path(spec_dir) if spec_dir is not None else default_spec_dir()
    spec_file = directory / "webhook.yml"
    if spec_file.exists():
        return SpecIndex.load(str(spec_file.resolve())).validate("CallbackRequest", payload)
    # No document (fresh clone): the SDK's webhook models, generated from webhook.yml.
    return SdkModelValidator("linebot.v3.webhooks").validate("CallbackRequest", payload)


class WebhookFactory:
    """Builds spec-conformant webhook events.

    Every event gets a unique ``webhookEventId``, a millisecond ``timestamp`` and
    ``deliveryContext``; message events get a unique numeric ``message.id`` and a
    ``markAsReadToken``, plus a ``quoteToken`` where ``webhook.yml`` defines one (text,
    image, video, sticker). When ``emulator`` is given, reply tokens and mark-as-read
    tokens are registered with it and media bytes are made downloadable through
    ``getMessageContent``.

    :param emulator: the LINE emulator the bridge talks to, or None (tokens are random).
    :param destination: bot user id (``U`` + 32 hex chars) put in the body (default: the
        channel's).
    :param spec_dir: where to find ``samples/webhook-all-events.json``.
    :param channel: bot user id of one of the emulator's channels (LINE Official
        Accounts, :meth:`LineEmulator.add_channel`); default: its default channel. The
        body's ``destination`` is that id, reply tokens are valid for that channel only
        and :meth:`send` signs with its channel secret.
    :param channel_secret: secret used by :meth:`send` (default: the channel's; needed
        when there is no emulator).
    """

    def __init__(self, emulator: "LineEmulator | None" = None, destination: str | None = None,
                 spec_dir: str | Path | None = None, *, channel: str | None = None,
                 channel_secret: str | None = None) -> None:
        self.emulator = emulator
        if channel is not None and emulator is None:
            raise ValueError("channel= needs the emulator that knows the channel")
        account = emulator.channel(channel) if emulator is not None else None
        self.channel = account.bot_user_id if account is not None else None
        if destination is None:
            destination = account.bot_user_id if account is not None else "U" + secrets.token_hex(16)
        self.destination = destination
        self.channel_secret = channel_secret if channel_secret is not None else (
            account.channel_secret if account is not None else None)
        if spec_dir is None:
            spec_dir = emulator.spec_dir if emulator is not None else default_spec_dir()
        self.spec_dir = Path(spec_dir)

    # ------------------------------------------------------------------ helpers
    def _reply_token(self, chat_id: str) -> str:
        if self.emulator is not None:
            return self.emulator.issue_reply_token(chat_id, channel=self.channel)
        return secrets.token_hex(16)

    def _mark_as_read_token(self, chat_id: str) -> str:
        if self.emulator is not None:
            return self.emulator.issue_mark_as_read_token(chat_id)
        return secrets.token_urlsafe(24)

    @staticmethod
    def _source(source_id: str, source_type: str, user_id: str | None) -> dict[str, str]:
        if source_type == "user":
            return {"type": "user", "userId": source_id}
        if source_type not in ("group", "room"):
            raise ValueError(f"unknown source type {source_type!r}")
        src = {"type": source_type, f"{source_type}Id": source_id}
        if user_id is not None:
            src["userId"] = user_id
        return src

    def _event(self, type_: str, source_id: str, *, source_type: str = "user", user_id: str | None = None,
               mode: str = "active", redelivery: bool = False, replyable: bool = True) -> dict[str, Any]:
        event: dict[str, Any] = {"type": type_}
        # "replyToken ... isn't included when mode is standby" (the channel is not the
        # active one, e.g. a module channel holds chat control).
        if replyable and mode == "active":
            event["replyToken"] = self._reply_token(source_id)
        event.update({
            "mode": mode,
            "timestamp": int(time.time() * 1000),
            "source": self._source(source_id, source_type, user_id),
            "webhookEventId": new_webhook_event_id(),
            "deliveryContext": {"isRedelivery": redelivery},
        })
        return event

    def _message(self, source_id: str, message: dict[str, Any], *, source_type: str, user_id: str | None,
                 mode: str, redelivery: bool, quote_token: bool) -> dict[str, Any]:
        event = self._event("message", source_id, source_type=source_type, user_id=user_id, mode=mode,
                            redelivery=redelivery)
        msg = {"id": new_message_id(), **message}
        if quote_token:
            msg["quoteToken"] = secrets.token_urlsafe(48)
        msg["markAsReadToken"] = self._mark_as_read_token(source_id)
        event["message"] = msg
        return event

    def _media(self, message_id: str, data: bytes | None, content_type: str) -> None:
        if self.emulator is not None and data is not None:
            self.emulator.add_content(message_id, data, content_type)

    # ------------------------------------------------------------------ message events
    def text(self, source_id: str, text: str, *, source_type: str = "user", user_id: str | None = None,
             mode: str = "active", redelivery: bool = False, quote_token: bool = True,
             quoted_message_id: str | None = None) -> dict[str, Any]:
        """A text message event (``message.text``, ``quoteToken`` required by the spec)."""
        content: dict[str, Any] = {"type": "text", "text": text}
        if quoted_message_id is not None:
            content["quotedMessageId"] = quoted_message_id
        return self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                             redelivery=redelivery, quote_token=quote_token)

    def image(self, source_id: str, *, data: bytes | None = b"\xff\xd8\xff\xe0fake-jpeg",
              content_type: str = "image/jpeg", original_url: str | None = None,
              image_set: dict[str, Any] | None = None, source_type: str = "user", user_id: str | None = None,
              mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """An image message event; ``contentProvider`` is ``line`` (bytes downloadable from the
        emulator) unless ``original_url`` makes it ``external``."""
        provider: dict[str, Any] = {"type": "line"}
        if original_url is not None:
            provider = {"type": "external", "originalContentUrl": original_url, "previewImageUrl": original_url}
        content: dict[str, Any] = {"type": "image", "contentProvider": provider}
        if image_set is not None:
            content["imageSet"] = image_set
        event = self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                              redelivery=redelivery, quote_token=True)
        if original_url is None:
            self._media(event["message"]["id"], data, content_type)
        return event

    def video(self, source_id: str, *, duration: int = 60000, data: bytes | None = b"\x00\x00\x00\x18ftypmp42",
              content_type: str = "video/mp4", source_type: str = "user", user_id: str | None = None,
              mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """A video message event (``duration`` in ms, content provider ``line``)."""
        content = {"type": "video", "duration": duration, "contentProvider": {"type": "line"}}
        event = self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                              redelivery=redelivery, quote_token=True)
        self._media(event["message"]["id"], data, content_type)
        return event

    def audio(self, source_id: str, *, duration: int = 15000, data: bytes | None = b"\x00\x00\x00\x1cftypM4A ",
              content_type: str = "audio/x-m4a", source_type: str = "user", user_id: str | None = None,
              mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """An audio message event (no ``quoteToken``: audio cannot be quoted)."""
        content = {"type": "audio", "duration": duration, "contentProvider": {"type": "line"}}
        event = self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                              redelivery=redelivery, quote_token=False)
        self._media(event["message"]["id"], data, content_type)
        return event

    def file(self, source_id: str, file_name: str = "report.pdf", *, data: bytes = b"%PDF-1.4 fake",
             content_type: str = "application/pdf", source_type: str = "user", user_id: str | None = None,
             mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """A file message event (``fileName``, ``fileSize`` = ``len(data)``)."""
        content = {"type": "file", "fileName": file_name, "fileSize": len(data)}
        event = self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                              redelivery=redelivery, quote_token=False)
        self._media(event["message"]["id"], data, content_type)
        return event

    def location(self, source_id: str, latitude: float = 35.681236, longitude: float = 139.767125, *,
                 title: str | None = "Tokyo Station", address: str | None = "1 Chome Marunouchi, Chiyoda City, Tokyo",
                 source_type: str = "user", user_id: str | None = None, mode: str = "active",
                 redelivery: bool = False) -> dict[str, Any]:
        """A location message event."""
        content: dict[str, Any] = {"type": "location", "latitude": latitude, "longitude": longitude}
        if title is not None:
            content["title"] = title
        if address is not None:
            content["address"] = address
        return self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                             redelivery=redelivery, quote_token=False)

    def sticker(self, source_id: str, package_id: str = "446", sticker_id: str = "1988", *,
                resource_type: str = "STATIC", keywords: list[str] | None = None, text: str | None = None,
                source_type: str = "user", user_id: str | None = None, mode: str = "active",
                redelivery: bool = False) -> dict[str, Any]:
        """A sticker message event (``packageId``, ``stickerId``, ``stickerResourceType``, ``keywords``)."""
        content: dict[str, Any] = {
            "type": "sticker", "packageId": package_id, "stickerId": sticker_id,
            "stickerResourceType": resource_type,
            "keywords": keywords if keywords is not None else ["Happy", "Smile", "Hello"],
        }
        if text is not None:  # message stickers only
            content["text"] = text
        return self._message(source_id, content, source_type=source_type, user_id=user_id, mode=mode,
                             redelivery=redelivery, quote_token=True)

    # ------------------------------------------------------------------ other events
    def follow(self, source_id: str, *, is_unblocked: bool = False, mode: str = "active",
               redelivery: bool = False) -> dict[str, Any]:
        """The user added the account as a friend (or unblocked it)."""
        event = self._event("follow", source_id, mode=mode, redelivery=redelivery)
        event["follow"] = {"isUnblocked": is_unblocked}
        return event

    def unfollow(self, source_id: str, *, mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """The user blocked the account (no reply token)."""
        return self._event("unfollow", source_id, mode=mode, redelivery=redelivery, replyable=False)

    def join(self, group_id: str, source_type: str = "group", *, mode: str = "active",
             redelivery: bool = False) -> dict[str, Any]:
        """The account joined a group / room."""
        return self._event("join", group_id, source_type=source_type, mode=mode, redelivery=redelivery)

    def leave(self, group_id: str, source_type: str = "group", *, mode: str = "active",
              redelivery: bool = False) -> dict[str, Any]:
        """The account left / was removed from a group / room (no reply token)."""
        return self._event("leave", group_id, source_type=source_type, mode=mode, redelivery=redelivery,
                           replyable=False)

    def member_joined(self, group_id: str, user_ids: list[str], source_type: str = "group", *,
                      mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """Users joined a group / room the account is in."""
        event = self._event("memberJoined", group_id, source_type=source_type, mode=mode, redelivery=redelivery)
        event["joined"] = {"members": [{"type": "user", "userId": u} for u in user_ids]}
        return event

    def member_left(self, group_id: str, user_ids: list[str], source_type: str = "group", *,
                    mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """Users left a group / room (no reply token)."""
        event = self._event("memberLeft", group_id, source_type=source_type, mode=mode, redelivery=redelivery,
                            replyable=False)
        event["left"] = {"members": [{"type": "user", "userId": u} for u in user_ids]}
        return event

    def postback(self, source_id: str, data: str, params: dict[str, str] | None = None, *,
                 source_type: str = "user", user_id: str | None = None, mode: str = "active",
                 redelivery: bool = False) -> dict[str, Any]:
        """A postback action fired by the user."""
        event = self._event("postback", source_id, source_type=source_type, user_id=user_id, mode=mode,
                            redelivery=redelivery)
        event["postback"] = {"data": data, **({"params": params} if params else {})}
        return event

    def unsend(self, source_id: str, message_id: str, *, source_type: str = "user", user_id: str | None = None,
               mode: str = "active", redelivery: bool = False) -> dict[str, Any]:
        """The user unsent one of their messages (no reply token)."""
        event = self._event("unsend", source_id, source_type=source_type, user_id=user_id, mode=mode,
                            redelivery=redelivery, replyable=False)
        event["unsend"] = {"messageId": message_id}
        return event

    # ------------------------------------------------------------------ bodies
    def body(self, events: list[dict[str, Any]]) -> bytes:
        """The webhook request body ``{"destination", "events"}`` as UTF-8 JSON bytes."""
        return json.dumps({"destination": self.destination, "events": events},
                          ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    def sample_events(self) -> list[dict[str, Any]]:
        """Every event of ``samples/webhook-all-events.json`` (from the SDK's test suite).

        Each gets its own fresh ``webhookEventId`` (they all repeat in the file) and the current
        ``timestamp`` (the file's are from 2016; LINE sends events as they happen, and the bridge
        refuses events older than its dedupe window as replays); when an emulator is attached,
        each ``replyToken`` is replaced by one registered for the event's chat so it can actually
        be used. Nothing else is changed.
        """
        sample = self.spec_dir / "samples" / "webhook-all-events.json"
        if not sample.exists():  # fresh clone: the copy shipped with the emulator
            sample = SAMPLE_EVENTS_FILE
        with open(sample, encoding="utf-8") as fh:
            events = copy.deepcopy(json.load(fh)["events"])
        now_ms = int(time.time() * 1000)
        for event in events:
            event["webhookEventId"] = new_webhook_event_id()
            if "timestamp" in event:
                event["timestamp"] = now_ms
            if self.emulator is not None and "replyToken" in event:
                src = event.get("source") or {}
                chat = src.get("groupId") or src.get("roomId") or src.get("userId") or "unknown"
                event["replyToken"] = self.emulator.issue_reply_token(chat, channel=self.channel)
        return events

    def send(self, url: str, events: list[dict[str, Any]], signature: str | None = None,
             timeout: float = 10) -> requests.Response:
        """POST ``events`` to ``url`` as this factory's channel: body ``destination`` is its
        bot user id and ``X-Line-Signature`` is computed with its channel secret."""
        if self.channel_secret is None:
            raise ValueError("no channel secret: pass channel_secret= or an emulator")
        return send_webhook(url, self.channel_secret, self.body(events), signature=signature, timeout=timeout)


def send_webhook(url: str, channel_secret: str, body: bytes, signature: str | None = None,
                 timeout: float = 10) -> requests.Response:
    """POST ``body`` to ``url`` like the LINE Platform (``X-Line-Signature`` computed unless given)."""
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Line-Signature": signature if signature is not None else sign(channel_secret, body),
        "User-Agent": "LineBotWebhook/2.0",
    }
    return requests.post(url, data=body, headers=headers, timeout=timeout)
