"""Wire-level pieces shared by the LINE emulator modules: error texts, limits, records,
the LINE error shape, and the rules the OpenAPI schema does not express.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

#: Host used by the SDK's ``MessagingApiBlob`` (hard-coded in the generated client).
LINE_DATA_HOST = "https://api-data.line.me"

# --------------------------------------------------------------------------------------
# Error texts. Where the LINE docs give the wording it is used verbatim; the others are
# marked "approximation" (the docs do not publish them).
# https://developers.line.biz/en/reference/messaging-api/#error-responses
# --------------------------------------------------------------------------------------
MSG_AUTH_REQUIRED = (
    "Authorization header required. Must follow the scheme, 'Authorization: Bearer <ACCESS TOKEN>'"
)
MSG_AUTH_FAILED = (
    "Authentication failed due to the following reason: invalid token. "
    "Confirm that the access token in the authorization header is valid."
)
MSG_INVALID_REPLY_TOKEN = "Invalid reply token"
# FAQ "Do I get an error when I send a message with a user ID that doesn't exist?"
MSG_FAILED_TO_SEND = "Failed to send messages"
MSG_MONTHLY_LIMIT = "You have reached your monthly limit."
MSG_RATE_LIMIT = "The API rate limit has been exceeded. Try again later."
# https://developers.line.biz/en/docs/messaging-api/retrying-api-request/
MSG_RETRY_KEY_ACCEPTED = "The retry key is already accepted"
MSG_RETRY_KEY_INVALID = "The retry key must be a UUID in hexadecimal format"  # approximation
MSG_RETRY_KEY_NOT_SUPPORTED = "X-Line-Retry-Key is not supported by this API"  # approximation
MSG_NOT_FOUND = "Not found"
MSG_INVALID_JSON = "The request body could not be parsed as JSON (line: -, column: -)"

#: Operations that accept ``X-Line-Retry-Key``; any other API answers 400 when it is sent
#: (https://developers.line.biz/en/docs/messaging-api/retrying-api-request/).
RETRY_KEY_OPERATIONS = frozenset({"pushMessage", "multicast", "narrowcast", "broadcast"})

MAX_TEXT_UTF16 = 5000
MAX_MESSAGES = 5
MAX_MULTICAST_TO = 500

_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


# ======================================================================================
# Records
# ======================================================================================


@dataclass
class RecordedRequest:
    """One request received by the emulator (control endpoints excluded)."""

    operation: str
    method: str
    path: str
    headers: dict[str, str]
    query: dict
    json: Any
    status: int = 0
    time: float = 0.0
    errors: list[str] = field(default_factory=list)
    request_id: str = ""
    #: bot user id of the channel whose access token authenticated the request ("" if none did)
    channel: str = ""


@dataclass
class Delivery:
    """Messages that actually reached a chat (successful reply / push / multicast)."""

    via: str  # "reply" | "push" | "multicast"
    to: list[str]
    messages: list[dict]
    retry_key: str | None
    request_id: str
    time: float
    #: bot user id of the sending channel (LINE Official Account)
    channel: str = ""


@dataclass
class Channel:
    """A Messaging API channel (one LINE Official Account) known to the emulator.

    ``bot_user_id`` is what ``GET /v2/bot/info`` answers as ``userId`` and what the LINE
    Platform puts in ``destination`` of the channel's webhooks.
    """

    bot_user_id: str
    channel_secret: str
    access_token: str
    display_name: str = ""
    basic_id: str = ""
    webhook_endpoint: str | None = None
    webhook_active: bool = True


@dataclass
class _Fault:
    operation: str
    status: int
    remaining: int
    retry_after: int | None
    delay: float
    body: dict | None
    channel: str | None = None  # bot user id, or None for any channel


@dataclass
class _User:
    user_id: str
    display_name: str
    picture_url: str | None
    status_message: str | None
    language: str
    blocked: bool = False
    #: bot user ids of the channels the user is a friend of; None = every channel
    channels: set[str] | None = None

    def friend_of(self, channel: str) -> bool:
        return self.channels is None or channel in self.channels


@dataclass
class _Chat:
    chat_id: str
    kind: str  # "group" | "room"
    name: str | None
    picture_url: str | None
    members: dict[str, str]


class _Reply(Exception):
    """Short-circuit a handler with a LINE-style response."""

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                 errors: list[str] | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}
        self.errors = errors or []


def _error(status: int, message: str, details: list[dict[str, str]] | None = None) -> _Reply:
    body: dict[str, Any] = {"message": message}
    if details:  # "If the array is empty, this property will not be included"
        body["details"] = details
    errors = [f"{d.get('property', '')}: {d.get('message', '')}" for d in details or []] or [message]
    return _Reply(status, body, errors=errors)


def _utf16_len(text: str) -> int:
    # LINE counts text length in UTF-16 code units: a surrogate-pair emoji counts 2
    # (FAQ "How are characters counted in a text message?").
    return len(text.encode("utf-16-le")) // 2


def redirect_data_api(api_client: Any, base_url: str) -> Any:
    """Make an SDK ``ApiClient`` send ``api-data.line.me`` calls to ``base_url``.

    ``linebot.v3.messaging.MessagingApiBlob`` ignores ``Configuration.host`` and always
    uses ``https://api-data.line.me``; this wraps the *instance's* ``request`` method
    (the SDK itself is untouched) to swap that prefix. Returns ``api_client``.
    """
    original = api_client.request
    base = base_url.rstrip("/")

    def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(LINE_DATA_HOST):
            url = base + url[len(LINE_DATA_HOST):]
        return original(method, url, *args, **kwargs)

    api_client.request = request
    return api_client


def _extra_rules(operation: str, body: Any) -> list[dict[str, str]]:
    """Constraints of the reference that ``messaging-api.yml`` does not express."""
    if not isinstance(body, dict):
        return []
    details: list[dict[str, str]] = []
    messages = body.get("messages")
    if isinstance(messages, list):
        if len(messages) > MAX_MESSAGES:
            details.append({"message": f"Size must be between 1 and {MAX_MESSAGES}", "property": "messages"})
        for i, m in enumerate(messages):
            if not isinstance(m, dict):
                continue
            text = m.get("text")
            if m.get("type") in ("text", "textV2") and isinstance(text, str) and _utf16_len(text) > MAX_TEXT_UTF16:
                # https://developers.line.biz/en/reference/messaging-api/#text-message : max 5000 characters
                details.append({"message": f"Length must be between 0 and {MAX_TEXT_UTF16}",
                                "property": f"messages[{i}].text"})
    if operation == "multicast" and isinstance(body.get("to"), list) and len(body["to"]) > MAX_MULTICAST_TO:
        details.append({"message": f"Size must be between 1 and {MAX_MULTICAST_TO}", "property": "to"})
    if operation == "showLoadingAnimation" and isinstance(body.get("loadingSeconds"), int) \
            and body["loadingSeconds"] % 5:
        details.append({"message": "must be a multiple of 5", "property": "loadingSeconds"})
    return details
