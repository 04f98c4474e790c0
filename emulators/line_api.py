"""Local emulator of the LINE Messaging API (``api.line.me`` and ``api-data.line.me``).

One Flask app serves both hosts on one port: their paths do not overlap, so routing
is done by path + method against the operations of the official OpenAPI document
(``messaging-api.yml`` from line/line-openapi). The unmodified SDK
``linebot.v3.messaging`` can be pointed at it with ``Configuration(host=emulator.url)``.
``MessagingApiBlob`` hard-codes ``https://api-data.line.me`` in the generated code,
so use :func:`redirect_data_api` on its ``ApiClient`` to send it to the emulator too.

What it does:

* records every request (:attr:`LineEmulator.requests`) and every message actually
  delivered to a friend (:attr:`LineEmulator.deliveries`);
* checks ``Authorization: Bearer <channel access token>``;
* validates every JSON body against the request schema of its operation (with the
  ``discriminator`` on ``type`` resolved, see :class:`SpecIndex`), plus the rules
  the schema does not express (UTF-16 text length, reply-token lifecycle, known
  recipients, retry-key semantics, monthly quota);
* injects faults (:meth:`LineEmulator.fail_next`);
* answers with the real wire format: JSON error bodies
  ``{"message": ..., "details": [{"message": ..., "property": ...}]}`` and an
  ``x-line-request-id`` header on every response.

Reference: https://developers.line.biz/en/reference/messaging-api/
"""
from __future__ import annotations

import argparse
import copy
import functools
import json
import logging
import os
import re
import secrets
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import flask
import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

log = logging.getLogger(__name__)

__all__ = [
    "Delivery",
    "LineEmulator",
    "RecordedRequest",
    "SpecIndex",
    "default_spec_dir",
    "redirect_data_api",
]

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
_REF_PREFIX = "#/components/schemas/"


def default_spec_dir() -> Path:
    """Directory holding ``messaging-api.yml`` / ``webhook.yml``.

    ``$LINE_SPECS_DIR`` if set, else ``<repo parent>/shared/specs/line`` (the layout of
    both the dev machine and CI).
    """
    env = os.environ.get("LINE_SPECS_DIR")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "shared" / "specs" / "line"


# ======================================================================================
# OpenAPI handling
# ======================================================================================


def _load_yaml(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with open(path, "rb") as fh:
        return yaml.load(fh, Loader=loader)


def build_json_schema_defs(schemas: dict[str, Any]) -> dict[str, Any]:
    """Convert OpenAPI 3.0 ``components.schemas`` into JSON Schema 2020-12 ``$defs``.

    * ``$ref: #/components/schemas/X`` becomes ``#/$defs/X``;
    * ``nullable: true`` becomes a ``"null"`` alternative of ``type``;
    * every schema ``S`` with a ``discriminator`` gets a companion ``S__dispatch``:
      it validates ``S`` itself and then, for each ``mapping`` value of the
      discriminator property, the mapped sub-schema (``if``/``then``); an unknown
      value is rejected. References to ``S`` are pointed at ``S__dispatch``, except
      the ``allOf: [$ref S]`` by which a mapped sub-schema inherits from ``S`` (that
      one must stay on the plain base, or validation would recurse forever).
    """
    discriminated: dict[str, dict[str, str]] = {}
    for name, schema in schemas.items():
        disc = schema.get("discriminator") if isinstance(schema, dict) else None
        if disc and disc.get("mapping"):
            discriminated[name] = {
                value: ref[len(_REF_PREFIX):] for value, ref in disc["mapping"].items()
            }
    # sub-schema name -> bases it inherits from through allOf
    parents: dict[str, set[str]] = {}
    for base, mapping in discriminated.items():
        for target in mapping.values():
            parents.setdefault(target, set()).add(base)

    def convert(node: Any, owner: str, top_all_of: bool) -> Any:
        if isinstance(node, list):
            return [convert(item, owner, top_all_of) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF_PREFIX):
                target = value[len(_REF_PREFIX):]
                if target in discriminated and not (top_all_of and target in parents.get(owner, ())):
                    out[key] = f"#/$defs/{target}__dispatch"
                else:
                    out[key] = f"#/$defs/{target}"
            elif key == "discriminator":
                continue
            elif key == "allOf" and top_all_of is None:
                # only the owner's own top-level allOf carries inheritance
                out[key] = [convert(item, owner, True) for item in value]
            else:
                out[key] = convert(value, owner, False)
        if node.get("nullable") is True and "type" in out:
            out["type"] = [out["type"], "null"]
            out.pop("nullable", None)
        return out

    defs: dict[str, Any] = {}
    for name, schema in schemas.items():
        defs[name] = convert(schema, name, None)  # type: ignore[arg-type]
    for name, mapping in discriminated.items():
        prop = schemas[name]["discriminator"]["propertyName"]
        branches: list[dict[str, Any]] = [{"$ref": f"#/$defs/{name}"}]
        for value, target in mapping.items():
            branches.append({
                "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                "then": {"$ref": f"#/$defs/{target}"},
            })
        branches.append({"properties": {prop: {"enum": sorted(mapping)}}})
        defs[f"{name}__dispatch"] = {"allOf": branches}
    return defs


@dataclass(frozen=True)
class Operation:
    """One operation of the OpenAPI document."""

    operation_id: str
    method: str
    path_template: str
    regex: re.Pattern[str]
    request_schema: str | None  # name in components.schemas, if the body is a JSON $ref


# operationId -> (method, path) of every emulated operation, as in messaging-api.yml;
# used only when that file is unavailable.
_EMULATED_ROUTES = {
    "replyMessage": ("post", "/v2/bot/message/reply"),
    "pushMessage": ("post", "/v2/bot/message/push"),
    "multicast": ("post", "/v2/bot/message/multicast"),
    "validateReply": ("post", "/v2/bot/message/validate/reply"),
    "validatePush": ("post", "/v2/bot/message/validate/push"),
    "validateMulticast": ("post", "/v2/bot/message/validate/multicast"),
    "validateBroadcast": ("post", "/v2/bot/message/validate/broadcast"),
    "validateNarrowcast": ("post", "/v2/bot/message/validate/narrowcast"),
    "getProfile": ("get", "/v2/bot/profile/{userId}"),
    "getGroupSummary": ("get", "/v2/bot/group/{groupId}/summary"),
    "getGroupMemberProfile": ("get", "/v2/bot/group/{groupId}/member/{userId}"),
    "getRoomMemberProfile": ("get", "/v2/bot/room/{roomId}/member/{userId}"),
    "getGroupMemberCount": ("get", "/v2/bot/group/{groupId}/members/count"),
    "getRoomMemberCount": ("get", "/v2/bot/room/{roomId}/members/count"),
    "getGroupMembersIds": ("get", "/v2/bot/group/{groupId}/members/ids"),
    "getRoomMembersIds": ("get", "/v2/bot/room/{roomId}/members/ids"),
    "markMessagesAsRead": ("post", "/v2/bot/message/markAsRead"),
    "markMessagesAsReadByToken": ("post", "/v2/bot/chat/markAsRead"),
    "showLoadingAnimation": ("post", "/v2/bot/chat/loading/start"),
    "getBotInfo": ("get", "/v2/bot/info"),
    "getMessageQuota": ("get", "/v2/bot/message/quota"),
    "getMessageQuotaConsumption": ("get", "/v2/bot/message/quota/consumption"),
    "getMessageContent": ("get", "/v2/bot/message/{messageId}/content"),
    "getMessageContentPreview": ("get", "/v2/bot/message/{messageId}/content/preview"),
    "getMessageContentTranscodingByMessageId": ("get", "/v2/bot/message/{messageId}/content/transcoding"),
    "getWebhookEndpoint": ("get", "/v2/bot/channel/webhook/endpoint"),
    "setWebhookEndpoint": ("put", "/v2/bot/channel/webhook/endpoint"),
    "testWebhookEndpoint": ("post", "/v2/bot/channel/webhook/test"),
}
_ROUTES_WITHOUT_SPEC: dict[str, dict[str, Any]] = {}
for _op, (_method, _path) in _EMULATED_ROUTES.items():
    _ROUTES_WITHOUT_SPEC.setdefault(_path, {})[_method] = {"operationId": _op}


class SpecIndex:
    """Operations and cached body validators of an OpenAPI document.

    Load once per file with :meth:`load` (cached); validators are compiled lazily,
    once per schema name, and reused for every request.
    """

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.defs = build_json_schema_defs(document.get("components", {}).get("schemas", {}))
        self._validators: dict[str, Draft202012Validator] = {}
        self._lock = threading.Lock()
        self.operations: dict[str, Operation] = {}
        literal: dict[tuple[str, str], Operation] = {}
        templated: list[Operation] = []
        for path, item in document.get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "operationId" not in op:
                    continue
                schema_name = None
                content = (op.get("requestBody") or {}).get("content") or {}
                ref = ((content.get("application/json") or {}).get("schema") or {}).get("$ref")
                if isinstance(ref, str) and ref.startswith(_REF_PREFIX):
                    schema_name = ref[len(_REF_PREFIX):]
                pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path)) + "$"
                operation = Operation(op["operationId"], method.upper(), path, re.compile(pattern), schema_name)
                self.operations[operation.operation_id] = operation
                if "{" in path:
                    templated.append(operation)
                else:
                    literal[(operation.method, path)] = operation
        self._literal = literal
        # fewer parameters first, so "/richmenu/list" style literals win over templates
        self._templated = sorted(templated, key=lambda o: o.path_template.count("{"))

    @classmethod
    @functools.lru_cache(maxsize=8)
    def load(cls, path: str) -> "SpecIndex":
        """Parse and index the YAML document at ``path`` (cached per path)."""
        return cls(_load_yaml(Path(path)))

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        """Find the operation for ``method path``; returns ``(None, {})`` if none."""
        op = self._literal.get((method, path))
        if op is not None:
            return op, {}
        for op in self._templated:
            if op.method != method:
                continue
            m = op.regex.match(path)
            if m:
                return op, m.groupdict()
        return None, {}

    def validator(self, schema_name: str) -> Draft202012Validator:
        """The (cached) validator of ``components.schemas[schema_name]``."""
        v = self._validators.get(schema_name)
        if v is None:
            with self._lock:
                v = self._validators.get(schema_name)
                if v is None:
                    name = f"{schema_name}__dispatch" if f"{schema_name}__dispatch" in self.defs else schema_name
                    v = Draft202012Validator({"$ref": f"#/$defs/{name}", "$defs": self.defs})
                    self._validators[schema_name] = v
        return v

    def validate(self, schema_name: str, instance: Any) -> list[dict[str, str]]:
        """LINE-style error details (``{"message", "property"}``) of ``instance``."""
        errors = sorted(self.validator(schema_name).iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
        details: list[dict[str, str]] = []
        for error in errors:
            detail = _error_detail(error)
            if detail not in details:  # a base schema is checked both directly and via allOf
                details.append(detail)
        return details


def _property_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _error_detail(error: ValidationError) -> dict[str, str]:
    """Render a jsonschema error the way the LINE API words its ``details``."""
    path = list(error.absolute_path)
    kind = error.validator
    if kind == "required":
        missing = re.match(r"'([^']+)'", error.message)
        path.append(missing.group(1) if missing else "?")
        message = "must be specified"
    elif kind in ("maxItems", "minItems"):
        sch = error.schema if isinstance(error.schema, dict) else {}
        message = f"Size must be between {sch.get('minItems', 0)} and {sch.get('maxItems', 'unbounded')}"
    elif kind in ("maxLength", "minLength"):
        sch = error.schema if isinstance(error.schema, dict) else {}
        message = f"Length must be between {sch.get('minLength', 0)} and {sch.get('maxLength', 'unbounded')}"
    elif kind == "type":
        message = f"must be of type {error.validator_value}"
    elif kind in ("enum", "const"):
        message = f"Invalid value: {error.instance!r}"
    elif kind in ("minimum", "maximum"):
        message = f"must be {'greater' if kind == 'minimum' else 'less'} than or equal to {error.validator_value}"
    else:
        message = error.message
    return {"message": message, "property": _property_path(path)}


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


@dataclass
class Delivery:
    """Messages that actually reached a chat (successful reply / push / multicast)."""

    via: str  # "reply" | "push" | "multicast"
    to: list[str]
    messages: list[dict]
    retry_key: str | None
    request_id: str
    time: float


@dataclass
class _Fault:
    operation: str
    status: int
    remaining: int
    retry_after: int | None
    delay: float
    body: dict | None


@dataclass
class _User:
    user_id: str
    display_name: str
    picture_url: str | None
    status_message: str | None
    language: str
    blocked: bool = False


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


# ======================================================================================
# The emulator
# ======================================================================================


class LineEmulator:
    """In-process LINE Messaging API emulator; serve :attr:`app` with ``serve_in_thread``.

    :param channel_access_token: the only bearer token accepted.
    :param channel_secret: used by the webhook side (signatures), kept here for convenience.
    :param reply_token_ttl: seconds a reply token stays usable (the real limit is not
        published as a fixed value; "reply tokens expire after a certain period").
    :param spec_dir: directory of ``messaging-api.yml`` (default :func:`default_spec_dir`).
    """

    def __init__(self, channel_access_token: str = "test-line-token", channel_secret: str = "test-line-secret",
                 reply_token_ttl: float = 60.0, spec_dir: str | Path | None = None) -> None:
        self.channel_access_token = channel_access_token
        self.channel_secret = channel_secret
        self.reply_token_ttl = reply_token_ttl
        self.spec_dir = Path(spec_dir) if spec_dir is not None else default_spec_dir()
        spec_file = self.spec_dir / "messaging-api.yml"
        if spec_file.exists():
            self.spec = SpecIndex.load(str(spec_file.resolve()))
            self.validating = True
        else:
            # Outside the development tree (e.g. the sandbox on a fresh clone) the OpenAPI file
            # may be absent: route the emulated operations, keep the rules coded here (limits,
            # tokens, retry keys, quota), and say loudly that bodies are not schema-checked.
            log.warning("LINE OpenAPI spec not found at %s: request bodies are NOT schema-validated "
                        "(set LINE_SPECS_DIR)", spec_file)
            self.spec = SpecIndex({"paths": _ROUTES_WITHOUT_SPEC})
            self.validating = False
        #: If True, a push to a friend who blocked the account answers 400 "Failed to send
        #: messages". Default False, as the real API does: "If you send a message to a user
        #: who has blocked the LINE Official Account ... status code 200 will be returned"
        #: and nothing is delivered nor counted (LINE FAQ, #Message).
        self.reject_push_to_blocked = False
        self.bot_user_id = "U" + "b0" * 16
        self.bot_display_name = "Emulated Bot"
        self._lock = threading.RLock()
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[Delivery] = []
        self.reset()
        self.app = self._build_app()

    # ---------------------------------------------------------------- state / setup
    def reset(self) -> None:
        """Forget requests, deliveries, faults, users, chats, tokens, contents and quota."""
        with self._lock:
            self.requests = []
            self.deliveries = []
            self._faults: list[_Fault] = []
            self._users: dict[str, _User] = {}
            self._chats: dict[str, _Chat] = {}
            self._reply_tokens: dict[str, tuple[str, float]] = {}  # token -> (source id, issued at)
            self._used_reply_tokens: set[str] = set()
            self._mark_as_read_tokens: dict[str, str] = {}  # token -> user/chat id
            self._retry_keys: dict[str, tuple[str, list[dict]]] = {}  # key -> (request id, sentMessages)
            self._contents: dict[str, tuple[bytes, str, bytes | None]] = {}
            self._quota: int | None = None
            self._usage = 0
            self.webhook_endpoint: str = ""  # the console's "Webhook URL" (set_webhook_endpoint or the API)
            self.webhook_active: bool = False  # the console's "Use webhook" switch
            self._message_seq = 500000000000000000
            #: user ids passed to markMessagesAsRead / resolved from markAsReadToken
            self.marked_as_read: list[str] = []
            #: (chatId, loadingSeconds) of accepted showLoadingAnimation calls
            self.loading_animations: list[tuple[str, int]] = []

    def add_user(self, user_id: str, display_name: str, picture_url: str | None = None,
                 status_message: str | None = None, language: str = "ja") -> None:
        """Register a friend of the account (pushable, profile available)."""
        with self._lock:
            self._users[user_id] = _User(user_id, display_name, picture_url, status_message, language)

    def add_group(self, group_id: str, name: str, picture_url: str | None = None,
                  members: dict[str, str] | None = None) -> None:
        """Register a group chat the bot is in; ``members`` maps user id -> display name."""
        with self._lock:
            self._chats[group_id] = _Chat(group_id, "group", name, picture_url, dict(members or {}))

    def add_room(self, room_id: str, members: dict[str, str]) -> None:
        """Register a multi-person chat (room) the bot is in."""
        with self._lock:
            self._chats[room_id] = _Chat(room_id, "room", None, None, dict(members))

    def block(self, user_id: str) -> None:
        """The friend blocked the account.

        Pushes/multicasts to them answer 200 but deliver nothing and are not counted
        (LINE FAQ); set :attr:`reject_push_to_blocked` to get a 400 instead. Their
        profile answers 404 like the real API.
        """
        with self._lock:
            user = self._users.get(user_id)
            if user is None:
                user = self._users[user_id] = _User(user_id, user_id, None, None, "ja")
            user.blocked = True

    def unblock(self, user_id: str) -> None:
        """Undo :meth:`block`."""
        with self._lock:
            if user_id in self._users:
                self._users[user_id].blocked = False

    def add_content(self, message_id: str, data: bytes, content_type: str = "image/jpeg",
                    preview: bytes | None = None) -> None:
        """Make ``message_id``'s content downloadable from the api-data endpoints."""
        with self._lock:
            self._contents[str(message_id)] = (data, content_type, preview)

    def issue_reply_token(self, source_id: str) -> str:
        """Register a fresh single-use reply token for a chat (user, group or room id)."""
        token = secrets.token_hex(16)
        with self._lock:
            self._reply_tokens[token] = (source_id, time.monotonic())
        return token

    def expire_reply_tokens(self) -> None:
        """Make every reply token issued so far stale."""
        with self._lock:
            for token, (source, _issued) in list(self._reply_tokens.items()):
                self._reply_tokens[token] = (source, float("-inf"))

    def issue_mark_as_read_token(self, chat_id: str) -> str:
        """Register a ``markAsReadToken`` (as carried by message webhook events)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._mark_as_read_tokens[token] = chat_id
        return token

    def set_webhook_endpoint(self, url: str, active: bool = True) -> None:
        """What the LINE console shows as the webhook URL and its "Use webhook" switch."""
        with self._lock:
            self.webhook_endpoint, self.webhook_active = url, active

    def set_monthly_quota(self, n: int | None) -> None:
        """Limit push/multicast messages for the "month" (``None`` = unlimited).

        Counted like LINE does: one per recipient that actually receives it; replies
        are free (https://developers.line.biz/en/docs/messaging-api/pricing/).
        """
        with self._lock:
            self._quota = n

    def fail_next(self, operation: str, status: int, times: int = 1, retry_after: int | None = None,
                  delay: float = 0.0, body: dict | None = None) -> None:
        """Inject a fault for the next ``times`` calls of ``operation`` (operationId or ``"*"``).

        ``status`` 0 with ``delay`` emulates a timeout: the request is held for ``delay``
        seconds, then processed normally (so a client that gave up may still have its
        message delivered - exactly the case retry keys exist for). Otherwise the answer
        is ``status`` with ``body`` (default: a LINE-style ``{"message": ...}``) after
        ``delay`` seconds, and nothing is processed; a 429 carries ``Retry-After`` when
        ``retry_after`` is given. Faults are consumed in the order they were added.
        """
        with self._lock:
            self._faults.append(_Fault(operation, status, times, retry_after, delay, body))

    # ---------------------------------------------------------------- queries
    def requests_for(self, operation: str) -> list[RecordedRequest]:
        """Recorded requests of one operationId, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.operation == operation]

    def delivered_texts(self, to: str | None = None) -> list[str]:
        """Texts of delivered ``text``/``textV2`` messages (optionally to one chat), in order."""
        with self._lock:
            deliveries = list(self.deliveries)
        return [m["text"] for d in deliveries if to is None or to in d.to
                for m in d.messages if m.get("type") in ("text", "textV2") and "text" in m]

    def wait_for(self, predicate: Callable[["LineEmulator"], Any], timeout: float = 10.0) -> bool:
        """Poll until ``predicate(self)`` is truthy; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    @property
    def monthly_usage(self) -> int:
        """Push/multicast messages counted against the quota so far."""
        return self._usage

    # ---------------------------------------------------------------- HTTP
    def _build_app(self) -> flask.Flask:
        app = flask.Flask(f"line-emulator-{id(self)}")
        app.add_url_rule("/_emulator/requests", "ctl_requests", self._ctl_requests, methods=["GET"])
        app.add_url_rule("/_emulator/deliveries", "ctl_deliveries", self._ctl_deliveries, methods=["GET"])
        app.add_url_rule("/_emulator/reset", "ctl_reset", self._ctl_reset, methods=["POST"])
        app.add_url_rule("/_emulator/faults", "ctl_faults", self._ctl_faults, methods=["POST"])
        app.add_url_rule("/_emulator/users", "ctl_users", self._ctl_users, methods=["POST"])
        app.add_url_rule("/_emulator/groups", "ctl_groups", self._ctl_groups, methods=["POST"])
        app.add_url_rule("/_emulator/quota", "ctl_quota", self._ctl_quota, methods=["POST"])
        app.add_url_rule("/_emulator/reply-tokens", "ctl_reply_tokens", self._ctl_reply_tokens, methods=["POST"])
        all_methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        app.add_url_rule("/", "api_root", self._dispatch, defaults={"path": ""}, methods=all_methods)
        app.add_url_rule("/<path:path>", "api", self._dispatch, methods=all_methods)
        return app

    # control endpoints (no auth, not recorded) ----------------------------------------
    def _ctl_requests(self) -> flask.Response:
        with self._lock:
            return flask.jsonify([asdict(r) for r in self.requests])

    def _ctl_deliveries(self) -> flask.Response:
        with self._lock:
            return flask.jsonify([asdict(d) for d in self.deliveries])

    def _ctl_reset(self) -> flask.Response:
        self.reset()
        return flask.jsonify({})

    def _ctl_faults(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.fail_next(j["operation"], int(j["status"]), int(j.get("times", 1)), j.get("retry_after"),
                       float(j.get("delay", 0.0)), j.get("body"))
        return flask.jsonify({})

    def _ctl_users(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.add_user(j["user_id"], j["display_name"], j.get("picture_url"), j.get("status_message"),
                      j.get("language", "ja"))
        return flask.jsonify({})

    def _ctl_groups(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        self.add_group(j["group_id"], j["name"], j.get("picture_url"), j.get("members"))
        return flask.jsonify({})

    def _ctl_quota(self) -> flask.Response:
        self.set_monthly_quota(flask.request.get_json(force=True).get("quota"))
        return flask.jsonify({})

    def _ctl_reply_tokens(self) -> flask.Response:
        j = flask.request.get_json(force=True)
        return flask.jsonify({"replyToken": self.issue_reply_token(j["source_id"])})

    # API ------------------------------------------------------------------------------
    def _dispatch(self, path: str) -> flask.Response:
        req = flask.request
        request_id = str(uuid.uuid4())
        full_path = "/" + path
        raw = req.get_data(cache=True)
        body: Any = None
        body_error = False
        if raw and (req.mimetype or "").endswith("json"):
            try:
                body = json.loads(raw)
            except ValueError:
                body_error = True
        op, params = self.spec.match(req.method, full_path)
        record = RecordedRequest(
            operation=op.operation_id if op else "unknown",
            method=req.method,
            path=full_path,
            headers={k: v for k, v in req.headers.items()},
            query=req.args.to_dict(flat=True),
            json=body,
            time=time.time(),
            request_id=request_id,
        )
        with self._lock:
            self.requests.append(record)
        try:
            result = self._handle(op, params, body, body_error, record)
        except _Reply as r:
            result = r
        record.status = result.status
        record.errors = list(result.errors)
        if isinstance(result.body, (bytes, bytearray)):
            resp = flask.Response(bytes(result.body), status=result.status)
        else:
            resp = flask.Response(json.dumps(result.body if result.body is not None else {}, ensure_ascii=False),
                                  status=result.status, mimetype="application/json")
        for k, v in result.headers.items():
            resp.headers[k] = v
        resp.headers["x-line-request-id"] = request_id
        return resp

    def _handle(self, op: Operation | None, params: dict[str, str], body: Any, body_error: bool,
                record: RecordedRequest) -> _Reply:
        req = flask.request
        if op is None:
            raise _error(404, MSG_NOT_FOUND)
        # 1. authentication (https://developers.line.biz/en/reference/messaging-api/#status-codes)
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            raise _error(401, MSG_AUTH_REQUIRED)
        if auth[len("Bearer "):].strip() != self.channel_access_token:
            raise _error(401, MSG_AUTH_FAILED)
        # 2. injected faults
        fault = self._take_fault(op.operation_id)
        if fault is not None:
            if fault.delay > 0:
                time.sleep(fault.delay)
            if fault.status:
                return self._fault_reply(fault)
        handler = self._handlers().get(op.operation_id)
        if handler is None:
            raise _error(404, f"{MSG_NOT_FOUND} (operation {op.operation_id} is not emulated)")
        # 3. retry key (header check before the body, like the real API's 409 precedence)
        retry_key = req.headers.get("X-Line-Retry-Key")
        if retry_key is not None:
            if op.operation_id not in RETRY_KEY_OPERATIONS:
                raise _error(400, MSG_RETRY_KEY_NOT_SUPPORTED)
            if not _UUID_RE.match(retry_key):
                raise _error(400, MSG_RETRY_KEY_INVALID)
        # 4. body
        if op.request_schema is not None:
            if body_error or body is None:
                raise _error(400, MSG_INVALID_JSON)
            details = self.spec.validate(op.request_schema, body)
            details += [d for d in _extra_rules(op.operation_id, body)
                        if d["property"] not in {x["property"] for x in details}]
            if details:
                raise _error(400, f"The request body has {len(details)} error(s)", details)
        return handler(self, params, body, retry_key, record)

    def _take_fault(self, operation: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.operation in (operation, "*"):
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    @staticmethod
    def _fault_reply(fault: _Fault) -> _Reply:
        if fault.body is not None:
            body = fault.body
        elif fault.status == 429:
            body = {"message": MSG_RATE_LIMIT}
        elif fault.status >= 500:
            body = {"message": "An error occurred in the server"}  # approximation
        else:
            body = {"message": f"Injected error {fault.status}"}
        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        return _Reply(fault.status, body, headers, errors=[f"injected {fault.status}"])

    # ---------------------------------------------------------------- handlers
    @staticmethod
    @functools.cache
    def _handlers() -> dict[str, Callable[..., _Reply]]:
        E = LineEmulator
        return {
            "replyMessage": E._h_reply,
            "pushMessage": E._h_push,
            "multicast": E._h_multicast,
            "validateReply": E._h_validate,
            "validatePush": E._h_validate,
            "validateMulticast": E._h_validate,
            "validateBroadcast": E._h_validate,
            "validateNarrowcast": E._h_validate,
            "getProfile": E._h_profile,
            "getGroupSummary": E._h_group_summary,
            "getGroupMemberProfile": E._h_member_profile,
            "getRoomMemberProfile": E._h_member_profile,
            "getGroupMemberCount": E._h_member_count,
            "getRoomMemberCount": E._h_member_count,
            "getGroupMembersIds": E._h_member_ids,
            "getRoomMembersIds": E._h_member_ids,
            "markMessagesAsRead": E._h_mark_read,
            "markMessagesAsReadByToken": E._h_mark_read_token,
            "showLoadingAnimation": E._h_loading,
            "getBotInfo": E._h_bot_info,
            "getMessageQuota": E._h_quota,
            "getMessageQuotaConsumption": E._h_quota_consumption,
            "getMessageContent": E._h_content,
            "getMessageContentPreview": E._h_content_preview,
            "getMessageContentTranscodingByMessageId": E._h_transcoding,
            "getWebhookEndpoint": E._h_webhook_endpoint,
            "setWebhookEndpoint": E._h_set_webhook_endpoint,
            "testWebhookEndpoint": E._h_test_webhook,
        }

    def _sent_messages(self, messages: list[dict]) -> list[dict]:
        out = []
        for m in messages:
            self._message_seq += 1
            sent = {"id": str(self._message_seq)}
            # quoteToken: "Only included when a message object that can be specified as a
            # quote target was sent" (text, sticker, image, video, ... not template/flex).
            if m.get("type") in ("text", "textV2", "sticker", "image", "video", "audio", "location"):
                sent["quoteToken"] = secrets.token_urlsafe(48)
            out.append(sent)
        return out

    def _deliver(self, via: str, to: list[str], messages: list[dict], retry_key: str | None,
                 record: RecordedRequest) -> list[dict]:
        sent = self._sent_messages(messages)
        if to:
            self.deliveries.append(Delivery(via, list(to), copy.deepcopy(messages), retry_key,
                                            record.request_id, time.time()))
        if retry_key is not None:
            self._retry_keys[retry_key] = (record.request_id, sent)
        return sent

    def _check_retry_key(self, retry_key: str | None) -> None:
        if retry_key is not None and retry_key in self._retry_keys:
            accepted_id, sent = self._retry_keys[retry_key]
            # https://developers.line.biz/en/reference/messaging-api/#retry-api-request
            raise _Reply(409, {"message": MSG_RETRY_KEY_ACCEPTED, "sentMessages": sent},
                         {"x-line-accepted-request-id": accepted_id}, errors=[MSG_RETRY_KEY_ACCEPTED])

    def _check_quota(self, count: int) -> None:
        if self._quota is not None and self._usage + count > self._quota:
            raise _error(429, MSG_MONTHLY_LIMIT)

    def _h_reply(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        token = body["replyToken"]
        with self._lock:
            entry = self._reply_tokens.get(token)
            if (entry is None or token in self._used_reply_tokens
                    or time.monotonic() - entry[1] > self.reply_token_ttl):
                raise _error(400, MSG_INVALID_REPLY_TOKEN)
            self._used_reply_tokens.add(token)
            source = entry[0]
            to = [] if source in self._users and self._users[source].blocked else [source]
            sent = self._deliver("reply", to, body["messages"], None, record)
        return _Reply(200, {"sentMessages": sent})

    def _push_recipients(self, to: str) -> tuple[list[str], int]:
        """(chats that receive it, messages counted) for a push to ``to``."""
        user = self._users.get(to)
        if user is not None:
            if user.blocked:
                if self.reject_push_to_blocked:
                    raise _error(400, MSG_FAILED_TO_SEND)
                return [], 0
            return [to], 1
        chat = self._chats.get(to)
        if chat is not None:
            # counted per member who receives it (FAQ "How are messages counted?")
            return [to], max(1, len(chat.members))
        # FAQ: "If a message is sent to a user ID that doesn't exist, this error will be
        # returned with status code 400: Failed to send messages"
        raise _error(400, MSG_FAILED_TO_SEND)

    def _h_push(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self._check_retry_key(retry_key)
            recipients, count = self._push_recipients(body["to"])
            self._check_quota(count)
            self._usage += count
            sent = self._deliver("push", recipients, body["messages"], retry_key, record)
        return _Reply(200, {"sentMessages": sent})

    def _h_multicast(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self._check_retry_key(retry_key)
            # unknown / blocked ids are silently skipped and not counted (FAQ)
            recipients = [u for u in dict.fromkeys(body["to"])
                          if u in self._users and not self._users[u].blocked]
            self._check_quota(len(recipients))
            self._usage += len(recipients)
            self._deliver("multicast", recipients, body["messages"], retry_key, record)
        return _Reply(200, {})

    def _h_validate(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {})

    def _h_profile(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            user = self._users.get(params["userId"])
        if user is None or user.blocked:
            raise _error(404, MSG_NOT_FOUND)
        out: dict[str, Any] = {"userId": user.user_id, "displayName": user.display_name, "language": user.language}
        if user.picture_url:
            out["pictureUrl"] = user.picture_url
        if user.status_message:
            out["statusMessage"] = user.status_message
        return _Reply(200, out)

    def _chat(self, params: dict) -> _Chat:
        chat_id = params.get("groupId") or params.get("roomId") or ""
        with self._lock:
            chat = self._chats.get(chat_id)
        if chat is None:
            raise _error(404, MSG_NOT_FOUND)
        return chat

    def _h_group_summary(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat = self._chat(params)
        out = {"groupId": chat.chat_id, "groupName": chat.name or ""}
        if chat.picture_url:
            out["pictureUrl"] = chat.picture_url
        return _Reply(200, out)

    def _h_member_profile(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat = self._chat(params)
        user_id = params["userId"]
        if user_id not in chat.members:
            raise _error(404, MSG_NOT_FOUND)
        out = {"userId": user_id, "displayName": chat.members[user_id]}
        user = self._users.get(user_id)
        if user is not None and user.picture_url:
            out["pictureUrl"] = user.picture_url
        return _Reply(200, out)

    def _h_member_count(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"count": len(self._chat(params).members)})

    def _h_member_ids(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"memberIds": list(self._chat(params).members)[:100]})

    def _h_mark_read(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            self.marked_as_read.append(body["chat"]["userId"])
        return _Reply(200, {})

    def _h_mark_read_token(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        with self._lock:
            chat_id = self._mark_as_read_tokens.get(body["markAsReadToken"])
            if chat_id is None:
                # spec: "400: An invalid markAsReadToken is specified"
                raise _error(400, "Invalid markAsReadToken")  # approximation of the wording
            self.marked_as_read.append(chat_id)
        return _Reply(200, {})

    def _h_loading(self, params: dict, body: dict, retry_key: str | None, record: RecordedRequest) -> _Reply:
        chat_id = body["chatId"]
        seconds = body.get("loadingSeconds", 20)  # default 20 per the reference
        # "You can only specify the user ID of a one-on-one chat" - group/room ids are 400
        with self._lock:
            user = self._users.get(chat_id)
            if user is None or user.blocked:
                raise _error(400, "The request body has 1 error(s)",
                             [{"message": "Invalid chatId", "property": "chatId"}])  # approximation
            self.loading_animations.append((chat_id, seconds))
        return _Reply(202, {})

    def _h_bot_info(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"userId": self.bot_user_id, "basicId": "@000emul", "displayName": self.bot_display_name,
                            "chatMode": "bot", "markAsReadMode": "manual"})

    def _h_webhook_endpoint(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        return _Reply(200, {"endpoint": self.webhook_endpoint, "active": self.webhook_active})

    def _h_set_webhook_endpoint(self, params: dict, body: Any, retry_key: str | None,
                                record: RecordedRequest) -> _Reply:
        endpoint = (body or {}).get("endpoint") or ""
        if not endpoint.startswith("https://") and not endpoint.startswith("http://127.0.0.1"):
            raise _error(400, "Invalid webhook endpoint URL")
        self.set_webhook_endpoint(endpoint, self.webhook_active)
        return _Reply(200, {})

    def _h_test_webhook(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        """Like LINE's "Verify" button: a signed webhook with no events, sent to the endpoint."""
        import requests
        from emulators.line_webhooks import sign

        url = (body or {}).get("endpoint") or self.webhook_endpoint
        payload = json.dumps({"destination": self.bot_user_id, "events": []}).encode()
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        try:
            resp = requests.post(url, data=payload, timeout=10, headers={
                "Content-Type": "application/json; charset=utf-8", "User-Agent": "LineBotWebhook/2.0",
                "X-Line-Signature": sign(self.channel_secret, payload)})
        except requests.RequestException as exc:
            return _Reply(200, {"success": False, "timestamp": now, "statusCode": 0, "reason": "COULD_NOT_CONNECT",
                                "detail": type(exc).__name__})
        ok = 200 <= resp.status_code < 300
        return _Reply(200, {"success": ok, "timestamp": now, "statusCode": resp.status_code,
                            "reason": "OK" if ok else "ERROR_STATUS_CODE", "detail": resp.text[:200]})

    def _h_quota(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        if self._quota is None:
            return _Reply(200, {"type": "none"})
        return _Reply(200, {"type": "limited", "value": self._quota})

    def _h_quota_consumption(self, params: dict, body: Any, retry_key: str | None,
                             record: RecordedRequest) -> _Reply:
        return _Reply(200, {"totalUsage": self._usage})

    def _content(self, params: dict) -> tuple[bytes, str, bytes | None]:
        with self._lock:
            content = self._contents.get(params["messageId"])
        if content is None:
            raise _error(404, MSG_NOT_FOUND)
        return content

    def _h_content(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        data, ctype, _ = self._content(params)
        return _Reply(200, data, {"Content-Type": ctype})

    def _h_content_preview(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        data, ctype, preview = self._content(params)
        return _Reply(200, preview if preview is not None else data,
                      {"Content-Type": "image/jpeg" if preview is not None else ctype})

    def _h_transcoding(self, params: dict, body: Any, retry_key: str | None, record: RecordedRequest) -> _Reply:
        self._content(params)
        return _Reply(200, {"status": "succeeded"})


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


# ======================================================================================
# CLI
# ======================================================================================


def main(argv: list[str] | None = None) -> None:
    """``python -m emulators.line_api --host 127.0.0.1 --port 9001 [--token T] [--user ID:Name]``."""
    from werkzeug.serving import run_simple

    parser = argparse.ArgumentParser(description="LINE Messaging API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--token", default="test-line-token", help="channel access token to accept")
    parser.add_argument("--secret", default="test-line-secret", help="channel secret")
    parser.add_argument("--reply-token-ttl", type=float, default=60.0)
    parser.add_argument("--spec-dir", default=None)
    parser.add_argument("--user", action="append", default=[], metavar="USER_ID:NAME",
                        help="pre-register a friend (repeatable)")
    args = parser.parse_args(argv)
    emulator = LineEmulator(args.token, args.secret, args.reply_token_ttl, args.spec_dir)
    for spec in args.user:
        user_id, _, name = spec.partition(":")
        emulator.add_user(user_id, name or user_id)
    run_simple(args.host, args.port, emulator.app, threaded=True)


if __name__ == "__main__":
    main()
