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

import functools
import json
import logging
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import flask

from emulators.line.bot import BotMixin
from emulators.line.channels import ChannelsMixin
from emulators.line.chats import ChatsMixin
from emulators.line.content import ContentMixin
from emulators.line.control import ControlMixin
from emulators.line.messaging import MessagingMixin
from emulators.line.routes import routes_document
from emulators.line.sdk_models import SdkModelValidator
from emulators.line.spec import Operation, SpecIndex, default_spec_dir
from emulators.line.wire import (
    MSG_AUTH_FAILED,
    MSG_AUTH_REQUIRED,
    MSG_INVALID_JSON,
    MSG_NOT_FOUND,
    MSG_RATE_LIMIT,
    MSG_RETRY_KEY_INVALID,
    MSG_RETRY_KEY_NOT_SUPPORTED,
    RETRY_KEY_OPERATIONS,
    Channel,
    Delivery,
    RecordedRequest,
    _error,
    _extra_rules,
    _Chat,
    _Fault,
    _Reply,
    _User,
    _UUID_RE,
)

log = logging.getLogger(__name__)

#: operationId -> handler method name of every emulated operation.
HANDLER_NAMES = {
    "replyMessage": "_h_reply",
    "pushMessage": "_h_push",
    "multicast": "_h_multicast",
    "validateReply": "_h_validate",
    "validatePush": "_h_validate",
    "validateMulticast": "_h_validate",
    "validateBroadcast": "_h_validate",
    "validateNarrowcast": "_h_validate",
    "getProfile": "_h_profile",
    "getGroupSummary": "_h_group_summary",
    "getGroupMemberProfile": "_h_member_profile",
    "getRoomMemberProfile": "_h_member_profile",
    "getGroupMemberCount": "_h_member_count",
    "getRoomMemberCount": "_h_member_count",
    "getGroupMembersIds": "_h_member_ids",
    "getRoomMembersIds": "_h_member_ids",
    "markMessagesAsRead": "_h_mark_read",
    "markMessagesAsReadByToken": "_h_mark_read_token",
    "showLoadingAnimation": "_h_loading",
    "getBotInfo": "_h_bot_info",
    "getWebhookEndpoint": "_h_get_webhook_endpoint",
    "setWebhookEndpoint": "_h_set_webhook_endpoint",
    "testWebhookEndpoint": "_h_test_webhook_endpoint",
    "getMessageQuota": "_h_quota",
    "getMessageQuotaConsumption": "_h_quota_consumption",
    "getMessageContent": "_h_content",
    "getMessageContentPreview": "_h_content_preview",
    "getMessageContentTranscodingByMessageId": "_h_transcoding",
}


class LineEmulator(ChannelsMixin, MessagingMixin, ChatsMixin, ContentMixin, BotMixin, ControlMixin):
    """In-process LINE Messaging API emulator; serve :attr:`app` with ``serve_in_thread``.

    :param channel_access_token: bearer token of the default channel (more channels, i.e.
        LINE Official Accounts, with :meth:`add_channel`; each request is attributed to the
        channel whose token it carries, an unknown token is 401).
    :param channel_secret: the default channel's secret, used by the webhook side (signatures).
    :param reply_token_ttl: seconds a reply token stays usable ("Reply tokens must be used
        within one minute after receiving the webhook",
        https://developers.line.biz/en/reference/messaging-api/#send-reply-message).
    :param spec_dir: directory of ``messaging-api.yml`` (default :func:`default_spec_dir`).
    """

    def __init__(self, channel_access_token: str = "test-line-token", channel_secret: str = "test-line-secret",
                 reply_token_ttl: float = 60.0, spec_dir: str | Path | None = None) -> None:
        self._lock = threading.RLock()
        #: the channel made of the constructor's token and secret (bot user id U b0b0...)
        self.default_channel = Channel("U" + "b0" * 16, channel_secret, channel_access_token,
                                       display_name="Emulated Bot", basic_id="@000emul")
        self._channels: dict[str, Channel] = {self.default_channel.bot_user_id: self.default_channel}
        self.reply_token_ttl = reply_token_ttl
        self.spec_dir = Path(spec_dir) if spec_dir is not None else default_spec_dir()
        spec_file = self.spec_dir / "messaging-api.yml"
        #: How request bodies are checked: ``"openapi"`` (JSON Schema of messaging-api.yml),
        #: ``"sdk-models"`` (the installed line-bot-sdk's generated models, when the
        #: document is absent, e.g. on a fresh clone) or ``"none"`` (neither available).
        self.validation_mode: str
        self._body_validator: Any
        if spec_file.exists():
            self.spec = SpecIndex.load(str(spec_file.resolve()))
            self._body_validator = self.spec
            self.validation_mode = "openapi"
        else:
            # Routes from the built-in table (generated from the same document).
            self.spec = SpecIndex(routes_document())
            try:
                self._body_validator = SdkModelValidator("linebot.v3.messaging")
                self.validation_mode = "sdk-models"
                log.info("LINE OpenAPI spec not found at %s: validating bodies with the line-bot-sdk models",
                         spec_file)
            except ImportError:
                self._body_validator = None
                self.validation_mode = "none"
                log.warning("LINE OpenAPI spec not found at %s and line-bot-sdk not importable: request "
                            "bodies are NOT schema-validated (set LINE_SPECS_DIR)", spec_file)
        #: True when request bodies are schema-checked (either mode).
        self.validating = self.validation_mode != "none"
        #: If True, a push to a friend who blocked the account answers 400 "Failed to send
        #: messages". Default False, as the real API does: "If you send a message to a user
        #: who has blocked the LINE Official Account ... status code 200 will be returned"
        #: and nothing is delivered nor counted (LINE FAQ, #Message).
        self.reject_push_to_blocked = False
        #: seconds ``POST /v2/bot/channel/webhook/test`` waits for the endpoint
        self.webhook_test_timeout = 10.0
        self.requests: list[RecordedRequest] = []
        self.deliveries: list[Delivery] = []
        self.reset()
        self.app = self._build_app()

    # ---------------------------------------------------------------- state / setup
    def reset(self) -> None:
        """Forget requests, deliveries, faults, users, chats, tokens, contents and quotas.

        Channels (:meth:`add_channel`) are configuration, like the constructor's token: kept.
        """
        with self._lock:
            self.requests = []
            self.deliveries = []
            self._faults: list[_Fault] = []
            self._users: dict[str, _User] = {}
            self._chats: dict[str, _Chat] = {}
            # token -> (source id, issued at, channel bot user id)
            self._reply_tokens: dict[str, tuple[str, float, str]] = {}
            self._used_reply_tokens: set[str] = set()
            self._mark_as_read_tokens: dict[str, str] = {}  # token -> user/chat id
            # (channel, key) -> (request id, sentMessages)
            self._retry_keys: dict[tuple[str, str], tuple[str, list[dict]]] = {}
            self._contents: dict[str, tuple[bytes, str, bytes | None]] = {}
            self._quota: dict[str, int] = {}  # channel -> monthly limit (absent: unlimited)
            self._usage: dict[str, int] = {}  # channel -> messages counted this "month"
            self._message_seq = 500000000000000000
            #: user ids passed to markMessagesAsRead / resolved from markAsReadToken
            self.marked_as_read: list[str] = []
            #: (chatId, loadingSeconds) of accepted showLoadingAnimation calls
            self.loading_animations: list[tuple[str, int]] = []
            #: {"endpoint", "channel", "statusCode"} of each testWebhookEndpoint call
            self.webhook_tests: list[dict[str, Any]] = []

    def fail_next(self, operation: str, status: int, times: int = 1, retry_after: int | None = None,
                  delay: float = 0.0, body: dict | None = None, channel: str | None = None) -> None:
        """Inject a fault for the next ``times`` calls of ``operation`` (operationId or ``"*"``).

        ``status`` 0 with ``delay`` emulates a timeout: the request is held for ``delay``
        seconds, then processed normally (so a client that gave up may still have its
        message delivered - exactly the case retry keys exist for). Otherwise the answer
        is ``status`` with ``body`` (default: a LINE-style ``{"message": ...}``) after
        ``delay`` seconds, and nothing is processed; a 429 carries ``Retry-After`` when
        ``retry_after`` is given. Faults are consumed in the order they were added.
        ``channel`` (a bot user id) limits the fault to that channel's requests.
        """
        with self._lock:
            self._faults.append(_Fault(operation, status, times, retry_after, delay, body, channel))

    # ---------------------------------------------------------------- queries
    def requests_for(self, operation: str) -> list[RecordedRequest]:
        """Recorded requests of one operationId, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.operation == operation]

    def wait_for(self, predicate: Callable[["LineEmulator"], Any], timeout: float = 10.0) -> bool:
        """Poll until ``predicate(self)`` is truthy; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

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
        app.add_url_rule("/_emulator/channels", "ctl_channels", self._ctl_channels, methods=["GET", "POST"])
        all_methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
        app.add_url_rule("/", "api_root", self._dispatch, defaults={"path": ""}, methods=all_methods)
        app.add_url_rule("/<path:path>", "api", self._dispatch, methods=all_methods)
        return app

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
        channel = self._channel_for_token(auth[len("Bearer "):].strip())
        if channel is None:
            raise _error(401, MSG_AUTH_FAILED)
        record.channel = channel.bot_user_id
        # 2. injected faults
        fault = self._take_fault(op.operation_id, channel.bot_user_id)
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
            details = self._body_validator.validate(op.request_schema, body) if self.validating else []
            details += [d for d in _extra_rules(op.operation_id, body)
                        if d["property"] not in {x["property"] for x in details}]
            if details:
                raise _error(400, f"The request body has {len(details)} error(s)", details)
        return handler(self, params, body, retry_key, record)

    def _take_fault(self, operation: str, channel: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and fault.operation in (operation, "*") \
                        and fault.channel in (None, channel):
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
        return {op: getattr(LineEmulator, name) for op, name in HANDLER_NAMES.items()}
