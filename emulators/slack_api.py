"""A local emulator of the Slack Web API.

The unmodified ``slack_sdk.WebClient(token=..., base_url=emulator_url + "/api/")`` (and slack-bolt
apps built on it) can talk to :class:`SlackEmulator`.  Every call is recorded
(:attr:`SlackEmulator.calls`), validated against Slack's documented argument rules and answered
with Slack's real response shapes and error codes.  Failures (rate limits, HTTP 5xx, API errors,
slow answers, "performed but the response was lost") can be injected with
:meth:`SlackEmulator.fail_next`.

Reference: https://docs.slack.dev/reference/methods (one page per method, "Errors" section).

Wire-format notes (as the real Web API behaves):

* Methods are ``POST /api/<method>`` (``GET`` with a query string also works).  Bodies may be
  ``application/x-www-form-urlencoded``, ``multipart/form-data`` or ``application/json``; with a
  form body, structured arguments (``blocks``, ``attachments``, ``metadata``, ``view``, ``files``)
  are JSON strings.  https://docs.slack.dev/apis/web-api/#posting-json
* Application-level errors are HTTP 200 with ``{"ok": false, "error": "<code>"}``; rate limiting
  is HTTP 429 with a ``Retry-After`` header.  https://docs.slack.dev/apis/web-api/rate-limits
* Warnings are returned as a top-level comma separated ``warning`` string *and* as
  ``response_metadata.warnings``.
  https://api.slack.com/changelog/2016-09-28-response-metadata-is-on-the-way

Run stand-alone with ``python -m emulators.slack_api --host 127.0.0.1 --port 9002``.
"""
from __future__ import annotations

import argparse
import base64
import bisect
import copy
import hashlib
import itertools
import json
import mimetypes
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from flask import Flask, Response, request

__all__ = ["RecordedCall", "SlackEmulator", "DEFAULT_SCOPES", "main"]

#: Scopes granted to the bot token unless told otherwise: everything a support bridge bot needs.
DEFAULT_SCOPES: frozenset[str] = frozenset(
    {
        "chat:write",
        "chat:write.customize",
        "chat:write.public",
        "reactions:read",
        "reactions:write",
        "users:read",
        "users:read.email",
        "channels:history",
        "groups:history",
        "im:history",
        "mpim:history",
        "channels:read",
        "groups:read",
        "im:read",
        "mpim:read",
        "files:read",
        "files:write",
        "commands",
    }
)

# Arguments that carry JSON; with a form-encoded body they arrive as JSON strings.
_JSON_ARGS = ("blocks", "attachments", "metadata", "view", "files")
_TS_RE = re.compile(r"^\d{1,12}\.\d{1,6}$")
_REACTION_NAME_RE = re.compile(r"^[a-z0-9_+\-'.]+(::skin-tone-[2-6])?$")
_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)>")
_US = 1_000_000

_BLOCK_TYPES = {
    "actions", "context", "divider", "file", "header", "image", "input", "markdown", "rich_text",
    "section", "video", "table", "context_actions", "call",
}
_ELEMENT_TYPES = {
    "button", "checkboxes", "datepicker", "datetimepicker", "email_text_input", "image",
    "multi_static_select", "multi_external_select", "multi_users_select", "multi_conversations_select",
    "multi_channels_select", "number_input", "overflow", "plain_text_input", "radio_buttons",
    "rich_text_input", "static_select", "external_select", "users_select", "conversations_select",
    "channels_select", "timepicker", "url_text_input", "file_input", "workflow_button",
}


# --------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------
@dataclass
class RecordedCall:
    """One Web API call as the emulator received and answered it.

    ``args`` are decoded from the query string, form or JSON body (JSON-string fields such as
    ``blocks``/``metadata``/``attachments``/``view``/``files`` are decoded; the ``token`` argument is
    removed).  ``errors`` lists what was wrong with the call (the error code plus Slack's
    ``[ERROR]`` messages), injected faults, and, prefixed ``"warning:"``, things real Slack accepts
    but which are probably mistakes (e.g. replying to a non-existent ``thread_ts``); it is empty for
    a fully valid call.  ``time`` is when the request arrived (``time.time()``).
    """

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any]
    time: float
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True if the call was answered with HTTP 200 and ``"ok": true``."""
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass
class _Fault:
    method: str
    status: int
    error: str | None
    times: int
    retry_after: int | None
    delay: float
    after_effect: bool


class _ApiError(Exception):
    """Raised by method handlers; becomes ``{"ok": false, "error": code, ...}``."""

    def __init__(self, code: str, *messages: str, status: int = 200, **extra: Any) -> None:
        super().__init__(code)
        self.code = code
        self.messages = list(messages)
        self.status = status
        self.extra = extra


@dataclass
class _Ctx:
    """Per-call context handed to method handlers."""

    host_url: str
    notes: list[str]


# --------------------------------------------------------------------------------------------
# Argument helpers
# --------------------------------------------------------------------------------------------
def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        return False
    return str(value).strip().lower() in ("1", "true", "yes")


def _req(args: dict[str, Any], name: str) -> Any:
    value = args.get(name)
    if value is None or value == "":
        raise _ApiError("invalid_arguments", f"[ERROR] missing required field: {name}")
    return value


def _req_str(args: dict[str, Any], name: str) -> str:
    value = _req(args, name)
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise _ApiError("invalid_arguments", f"[ERROR] must be a string [json-pointer:/{name}]")
    return str(value)


def _opt_str(args: dict[str, Any], name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, (dict, list, bool)):
        raise _ApiError("invalid_arguments", f"[ERROR] must be a string [json-pointer:/{name}]")
    return str(value)


def _opt_int(args: dict[str, Any], name: str, default: int, lo: int = 0, hi: int | None = None) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise _ApiError("invalid_arguments", f"[ERROR] must be an integer [json-pointer:/{name}]") from None
    if n < lo:
        n = lo
    if hi is not None and n > hi:
        n = hi
    return n


def _ts_key(ts: str) -> int:
    """``"1732500000.000100"`` -> integer microseconds (sortable)."""
    sec, _, frac = ts.partition(".")
    return int(sec) * _US + int((frac + "000000")[:6])


def _key_ts(key: int) -> str:
    return f"{key // _US}.{key % _US:06d}"


def _encode_cursor(prefix: str, value: str) -> str:
    # Slack cursors are opaque base64 strings such as base64("next_ts:1512085861000543").
    return base64.b64encode(f"{prefix}:{value}".encode()).decode()


def _decode_cursor(cursor: str, prefix: str) -> str:
    try:
        raw = base64.b64decode(cursor.encode(), validate=True).decode()
    except Exception:  # noqa: BLE001 - any garbage is an invalid cursor
        raise _ApiError("invalid_cursor") from None
    p, _, value = raw.partition(":")
    if p != prefix or not value:
        raise _ApiError("invalid_cursor")
    return value


def _parse_ts_arg(args: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = _req_str(args, name) if required else _opt_str(args, name)
    if value is None:
        return None
    if not _TS_RE.match(value):
        raise _ApiError(f"invalid_{name}" if name == "thread_ts" else "invalid_arguments",
                        f"[ERROR] {value} is not a valid {name}")
    return value


# --------------------------------------------------------------------------------------------
# Block Kit validation (https://docs.slack.dev/reference/block-kit/blocks)
# --------------------------------------------------------------------------------------------
def _check_text_obj(obj: Any, ptr: str, errs: list[str], *, plain_only: bool = False,
                    max_len: int = 3000) -> None:
    if not isinstance(obj, dict):
        errs.append(f"must be an object [json-pointer:{ptr}]")
        return
    ttype = obj.get("type")
    if ttype not in ("plain_text", "mrkdwn"):
        errs.append(f"must be one of plain_text, mrkdwn [json-pointer:{ptr}/type]")
        return
    if plain_only and ttype != "plain_text":
        errs.append(f"must be plain_text [json-pointer:{ptr}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.append(f"must be a string [json-pointer:{ptr}/text]")
    elif len(text) == 0:
        errs.append(f"must be more than 0 characters [json-pointer:{ptr}/text]")
    elif len(text) > max_len:
        errs.append(f"must be less than {max_len + 1} characters [json-pointer:{ptr}/text]")
    if ttype == "mrkdwn" and "emoji" in obj:
        # Only plain_text objects accept "emoji".
        errs.append(f"invalid additional property: emoji [json-pointer:{ptr}]")


def _check_element(el: Any, ptr: str, errs: list[str], action_ids: set[str]) -> None:
    if not isinstance(el, dict) or not isinstance(el.get("type"), str):
        errs.append(f"must provide an object with a type [json-pointer:{ptr}]")
        return
    etype = el["type"]
    if etype not in _ELEMENT_TYPES:
        errs.append(f"unsupported type: {etype} [json-pointer:{ptr}/type]")
        return
    aid = el.get("action_id")
    if aid is not None:
        if not isinstance(aid, str) or not aid or len(aid) > 255:
            errs.append(f"must be 1-255 characters [json-pointer:{ptr}/action_id]")
        elif aid in action_ids:
            errs.append(f"action_id must be unique [json-pointer:{ptr}/action_id]")
        else:
            action_ids.add(aid)
    if etype == "button":
        _check_text_obj(el.get("text"), f"{ptr}/text", errs, plain_only=True, max_len=75)
        if "value" in el and (not isinstance(el["value"], str) or len(el["value"]) > 2000):
            errs.append(f"must be a string of at most 2000 characters [json-pointer:{ptr}/value]")
        if "style" in el and el["style"] not in ("primary", "danger"):
            errs.append(f"must be one of primary, danger [json-pointer:{ptr}/style]")
    elif etype == "image":
        if not el.get("image_url") and not el.get("slack_file"):
            errs.append(f"must provide image_url or slack_file [json-pointer:{ptr}]")
        if not isinstance(el.get("alt_text"), str):
            errs.append(f"missing required field: alt_text [json-pointer:{ptr}]")
    elif etype in ("static_select", "multi_static_select", "radio_buttons", "checkboxes", "overflow"):
        options = el.get("options")
        groups = el.get("option_groups")
        if not isinstance(options, list) and not isinstance(groups, list):
            errs.append(f"missing required field: options [json-pointer:{ptr}]")
        elif isinstance(options, list):
            if not options or len(options) > 100:
                errs.append(f"must provide 1-100 options [json-pointer:{ptr}/options]")
            for i, opt in enumerate(options):
                if not isinstance(opt, dict) or "value" not in opt:
                    errs.append(f"missing required field: value [json-pointer:{ptr}/options/{i}]")
                else:
                    _check_text_obj(opt.get("text"), f"{ptr}/options/{i}/text", errs, max_len=75)


def _validate_blocks(blocks: Any, *, max_blocks: int = 50, ptr: str = "/blocks") -> list[str]:
    """Return Slack-style error strings for a ``blocks`` array (empty list when valid)."""
    errs: list[str] = []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{ptr}]"]
    if len(blocks) > max_blocks:
        errs.append(f"no more than {max_blocks} items allowed [json-pointer:{ptr}]")
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for i, block in enumerate(blocks):
        bp = f"{ptr}/{i}"
        if not isinstance(block, dict):
            errs.append(f"must be an object [json-pointer:{bp}]")
            continue
        btype = block.get("type")
        if btype not in _BLOCK_TYPES:
            errs.append(f"unsupported type: {btype} [json-pointer:{bp}/type]")
            continue
        bid = block.get("block_id")
        if bid is not None:
            if not isinstance(bid, str) or not bid or len(bid) > 255:
                errs.append(f"must be 1-255 characters [json-pointer:{bp}/block_id]")
            elif bid in block_ids:
                errs.append(f"duplicate block_id [json-pointer:{bp}/block_id]")
            else:
                block_ids.add(bid)
        if btype == "section":
            if "text" not in block and "fields" not in block and "expand" not in block:
                errs.append(f"must provide text or fields [json-pointer:{bp}]")
            if "text" in block:
                _check_text_obj(block["text"], f"{bp}/text", errs, max_len=3000)
            if "fields" in block:
                fields = block["fields"]
                if not isinstance(fields, list) or not fields or len(fields) > 10:
                    errs.append(f"must provide 1-10 fields [json-pointer:{bp}/fields]")
                else:
                    for j, f in enumerate(fields):
                        _check_text_obj(f, f"{bp}/fields/{j}", errs, max_len=2000)
            if "accessory" in block:
                _check_element(block["accessory"], f"{bp}/accessory", errs, action_ids)
        elif btype == "header":
            _check_text_obj(block.get("text"), f"{bp}/text", errs, plain_only=True, max_len=150)
        elif btype == "image":
            if not block.get("image_url") and not block.get("slack_file"):
                errs.append(f"must provide image_url or slack_file [json-pointer:{bp}]")
            if not isinstance(block.get("alt_text"), str):
                errs.append(f"missing required field: alt_text [json-pointer:{bp}]")
        elif btype == "context":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 10:
                errs.append(f"must provide 1-10 elements [json-pointer:{bp}/elements]")
            else:
                for j, el in enumerate(elements):
                    if isinstance(el, dict) and el.get("type") == "image":
                        _check_element(el, f"{bp}/elements/{j}", errs, action_ids)
                    else:
                        _check_text_obj(el, f"{bp}/elements/{j}", errs)
        elif btype == "actions":
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements or len(elements) > 25:
                errs.append(f"must provide 1-25 elements [json-pointer:{bp}/elements]")
            else:
                for j, el in enumerate(elements):
                    _check_element(el, f"{bp}/elements/{j}", errs, action_ids)
        elif btype == "input":
            _check_text_obj(block.get("label"), f"{bp}/label", errs, plain_only=True, max_len=2000)
            if "element" not in block:
                errs.append(f"missing required field: element [json-pointer:{bp}]")
            else:
                _check_element(block["element"], f"{bp}/element", errs, action_ids)
        elif btype == "rich_text":
            if not isinstance(block.get("elements"), list):
                errs.append(f"missing required field: elements [json-pointer:{bp}]")
        elif btype == "markdown":
            text = block.get("text")
            if not isinstance(text, str) or not text or len(text) > 12000:
                errs.append(f"must be 1-12000 characters [json-pointer:{bp}/text]")
    return errs


def _validate_view(view: Any, *, home: bool = False) -> list[str]:
    """Validate a view payload (https://docs.slack.dev/reference/views)."""
    if not isinstance(view, dict):
        return ["must be an object [json-pointer:/view]"]
    errs: list[str] = []
    vtype = view.get("type")
    allowed = ("home",) if home else ("modal",)
    if vtype not in allowed:
        errs.append(f"must be one of {', '.join(allowed)} [json-pointer:/view/type]")
    if vtype == "modal":
        _check_text_obj(view.get("title"), "/view/title", errs, plain_only=True, max_len=24)
        for key in ("submit", "close"):
            if key in view:
                _check_text_obj(view[key], f"/view/{key}", errs, plain_only=True, max_len=24)
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_input and "submit" not in view:
            # "submit" is required when an input block is within the blocks array.
            errs.append("must provide submit when blocks contain input [json-pointer:/view/submit]")
    errs.extend(_validate_blocks(view.get("blocks"), max_blocks=100, ptr="/view/blocks"))
    if len(str(view.get("private_metadata", ""))) > 3000:
        errs.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id", ""))) > 255:
        errs.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    return errs


# --------------------------------------------------------------------------------------------
# The emulator
# --------------------------------------------------------------------------------------------
_Handler = Callable[["SlackEmulator", dict[str, Any], _Ctx], dict[str, Any]]
_METHODS: dict[str, tuple[_Handler, tuple[str, ...]]] = {}


def _method(name: str, *scopes: str) -> Callable[[_Handler], _Handler]:
    """Register a Web API method handler; ``scopes``: any one of them suffices."""

    def deco(fn: _Handler) -> _Handler:
        _METHODS[name] = (fn, scopes)
        return fn

    return deco


class SlackEmulator:
    """In-memory Slack workspace + Web API served by :attr:`app` (a Flask app).

    Serve it with ``emulators.server.serve_in_thread(emulator.app)`` and point
    ``slack_sdk.WebClient(token=emulator.bot_token, base_url=url + "/api/")`` at it.
    All public methods are thread-safe.
    """

    def __init__(
        self,
        bot_token: str = "xoxb-test",
        signing_secret: str = "test-signing-secret",
        team_id: str = "T0TEST",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        scopes: set[str] | None = None,
        *,
        team_name: str = "Test Team",
        team_domain: str = "testteam",
        bot_name: str = "bridge-bot",
        app_id: str = "A0TEST",
    ) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.app_id = app_id
        self.scopes: set[str] = set(DEFAULT_SCOPES if scopes is None else scopes)
        #: Base URL the emulator is reachable at (learned from the first request, or set it).
        self.url: str | None = None
        self._lock = threading.RLock()
        self.app: Flask = self._build_app()
        self.reset()

    # ---------------------------------------------------------------- state management
    def reset(self) -> None:
        """Forget all messages, calls, faults, files, views and responses; keep nothing but the bot user.

        Channels and users added earlier are removed too.
        """
        with self._lock:
            self.calls: list[RecordedCall] = []
            self._calls_by_method: dict[str, list[RecordedCall]] = {}
            self._faults: list[_Fault] = []
            self.channels: dict[str, dict[str, Any]] = {}
            self._channel_names: dict[str, str] = {}
            self._members: dict[str, list[str]] = {}
            self.users: dict[str, dict[str, Any]] = {}
            self._msgs: dict[str, dict[int, dict[str, Any]]] = {}
            self._top: dict[str, list[int]] = {}
            self._threads: dict[tuple[str, int], list[int]] = {}
            self._ephemerals: list[dict[str, Any]] = []
            #: Views opened/updated/published, by view id.
            self.views: dict[str, dict[str, Any]] = {}
            #: Uploaded files by id: file object plus ``"content"`` (bytes).
            self.files: dict[str, dict[str, Any]] = {}
            #: JSON bodies posted to ``response_url``\s (replies to commands/actions), in order.
            self.responses: list[dict[str, Any]] = []
            self._response_ctx: dict[str, dict[str, Any]] = {}
            self._triggers: dict[str, float] = {}
            self._last_ts = 0
            self._ids = itertools.count(1)
            self.add_user(self.bot_user_id, self.bot_name, real_name=self.bot_name, is_bot=True)

    @staticmethod
    def dm_channel(user_id: str) -> str:
        """The id of the bot's direct-message conversation with ``user_id`` (stable, "D…")."""
        return "D" + user_id[1:]

    def add_channel(self, channel_id: str, name: str, members: Iterable[str] = (), is_private: bool = False) -> None:
        """Create (or replace) a conversation. The bot user is always a member."""
        with self._lock:
            member_list = list(dict.fromkeys([*members, self.bot_user_id]))
            is_im = channel_id.startswith("D")
            self.channels[channel_id] = {
                "id": channel_id,
                "name": name,
                "name_normalized": name,
                "is_channel": not is_private and not is_im,
                "is_group": is_private and not is_im,
                "is_im": is_im,
                "is_mpim": False,
                "is_private": is_private or is_im,
                "is_archived": False,
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_org_shared": False,
                "is_member": True,
                "created": int(time.time()),
                "creator": member_list[0],
                "context_team_id": self.team_id,
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
                "num_members": len(member_list),
            }
            self._channel_names[name.lstrip("#")] = channel_id
            self._members[channel_id] = member_list
            self._msgs.setdefault(channel_id, {})
            self._top.setdefault(channel_id, [])

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        display_name: str | None = None,
        is_bot: bool = False,
        image_url: str | None = None,
    ) -> None:
        """Create (or replace) a workspace user, returned by ``users.info`` like Slack's user object."""
        real = real_name if real_name is not None else name
        disp = display_name if display_name is not None else ""
        img = image_url or f"https://avatars.example.invalid/{user_id}.png"
        profile: dict[str, Any] = {
            "real_name": real,
            "real_name_normalized": real,
            "display_name": disp,
            "display_name_normalized": disp,
            "first_name": real.split(" ")[0] if real else "",
            "last_name": " ".join(real.split(" ")[1:]) if real else "",
            "title": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": hashlib.md5(img.encode()).hexdigest()[:12],  # noqa: S324 - not security
            "team": self.team_id,
        }
        for size in (24, 32, 48, 72, 192, 512, 1024):
            profile[f"image_{size}"] = img
        profile["image_original"] = img
        if is_bot:
            profile["bot_id"] = self.bot_id if user_id == self.bot_user_id else f"B{user_id[1:]}"
            profile["api_app_id"] = self.app_id
        user = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real,
            "tz": "Asia/Tokyo",
            "tz_label": "Japan Standard Time",
            "tz_offset": 32400,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        with self._lock:
            self.users[user_id] = user

    def add_file(self, content: bytes, name: str, *, title: str | None = None, mimetype: str | None = None,
                 user: str | None = None, host_url: str | None = None) -> dict[str, Any]:
        """Store a file (e.g. one a human "uploaded") and return its Slack file object.

        ``url_private``/``url_private_download`` point at this emulator (``GET /_emulator/files/<id>``,
        which, like Slack, requires ``Authorization: Bearer <bot token>``).
        """
        with self._lock:
            file_id = self._new_id("F")
            base = (host_url or self.url or "http://slack-emulator.invalid").rstrip("/")
            obj = self._file_object(file_id, name, title or name, len(content), user or self.bot_user_id, base,
                                    mimetype=mimetype)
            self.files[file_id] = {**obj, "content": bytes(content), "uploaded": True}
            return copy.deepcopy(obj)

    def file_content(self, file_id: str) -> bytes | None:
        """The bytes of an uploaded file, or None."""
        with self._lock:
            f = self.files.get(file_id)
            return None if f is None else f.get("content")

    def fail_next(
        self,
        method: str,
        status: int = 200,
        error: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
        delay: float = 0.0,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (``"*"`` = any Web API method) fail.

        * ``status=429`` -> HTTP 429 ``{"ok": false, "error": "ratelimited"}`` + ``Retry-After``
          (``retry_after`` seconds, default 1).
        * ``status>=400`` otherwise -> that HTTP status with ``{"ok": false, "error": error or
          "internal_error"}``.
        * ``status=200`` with ``error`` -> ``{"ok": false, "error": error}``.
        * ``delay`` -> sleep that long before answering (client time-outs). With status 200 and no
          error, the call is then answered normally.
        * ``after_effect=True`` -> the call is performed first (e.g. the message *is* posted) and
          only then the failure is answered: "the request reached Slack but the response was lost".
        """
        if status == 200 and error is None and delay <= 0:
            raise ValueError("fail_next needs an error, a non-200 status or a delay")
        with self._lock:
            self._faults.append(_Fault(method, status, error, times, retry_after, delay, after_effect))

    # ---------------------------------------------------------------- inspection
    def calls_for(self, method: str) -> list[RecordedCall]:
        """Recorded calls of one Web API method, in order."""
        with self._lock:
            return list(self._calls_by_method.get(method, ()))

    def messages(self, channel: str, thread_ts: str | None = None) -> list[dict[str, Any]]:
        """Stored messages, oldest first (copies).

        ``thread_ts=None``: the channel's top-level messages (including thread broadcasts);
        otherwise: the replies of that thread, excluding the parent.
        """
        with self._lock:
            msgs = self._msgs.get(channel, {})
            if thread_ts is None:
                keys: list[int] = self._top.get(channel, [])
            else:
                keys = self._threads.get((channel, _ts_key(thread_ts)), [])
            return [copy.deepcopy(msgs[k]) for k in keys if k in msgs]

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One stored message (top-level or reply) by ``ts``, or None."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts)) if _TS_RE.match(ts) else None
            return copy.deepcopy(msg) if msg is not None else None

    def reactions(self, channel: str, ts: str) -> dict[str, list[str]]:
        """Reactions on a message: emoji name -> user ids (in the order they reacted)."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts)) if _TS_RE.match(ts) else None
            if msg is None:
                return {}
            return {r["name"]: list(r["users"]) for r in msg.get("reactions", [])}

    def ephemerals(self, channel: str | None = None, user: str | None = None) -> list[dict[str, Any]]:
        """Ephemeral messages (``chat.postEphemeral`` and ephemeral ``response_url`` replies)."""
        with self._lock:
            return [
                copy.deepcopy(e)
                for e in self._ephemerals
                if (channel is None or e["channel"] == channel) and (user is None or e["user"] == user)
            ]

    def wait_for(self, predicate: Callable[["SlackEmulator"], Any], timeout: float = 10.0) -> bool:
        """Poll until ``predicate(self)`` is truthy; False on time-out."""
        deadline = time.monotonic() + timeout
        while True:
            if predicate(self):
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)

    # ---------------------------------------------------------------- helpers for the event sender
    def add_user_message(
        self,
        channel: str,
        user: str,
        text: str,
        *,
        thread_ts: str | None = None,
        subtype: str | None = None,
        files: list[dict[str, Any]] | None = None,
        blocks: list[dict[str, Any]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Store a message written by a human (as the Slack client would) and return a copy.

        The shape follows the ``message`` event / ``conversations.history`` item of a user message:
        ``client_msg_id``, ``team``, ``rich_text`` ``blocks`` and, in threads, ``thread_ts`` and
        ``parent_user_id``.
        """
        with self._lock:
            if channel not in self.channels:
                raise KeyError(f"unknown channel {channel}")
            msg: dict[str, Any] = {"type": "message"}
            if subtype:
                msg["subtype"] = subtype
            msg.update({
                "user": user,
                "text": text,
                "ts": "",
                "team": self.team_id,
                "client_msg_id": secrets.token_hex(16),
                "blocks": blocks if blocks is not None else rich_text_blocks(text),
            })
            if subtype is not None and subtype != "file_share":
                # Only plain typed messages (and file shares) carry a client_msg_id.
                msg.pop("client_msg_id", None)
            if files:
                msg["files"] = files
                msg["upload"] = False
                msg["display_as_bot"] = False
            if extra:
                msg.update(extra)
            stored, _notes = self._store_message(channel, msg, thread_ts=thread_ts)
            return copy.deepcopy(stored)

    def add_reaction(self, channel: str, ts: str, name: str, user: str) -> bool:
        """Store a reaction; False if the user had already reacted with it or the message is unknown."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            return msg is not None and self._react(msg, name, user)

    def remove_reaction(self, channel: str, ts: str, name: str, user: str) -> bool:
        """Remove a reaction; False if there was none."""
        with self._lock:
            msg = self._msgs.get(channel, {}).get(_ts_key(ts))
            return msg is not None and self._unreact(msg, name, user)

    def new_ts(self) -> str:
        """A fresh message-style ts (strictly increasing, shared with stored messages)."""
        with self._lock:
            return _key_ts(self._next_ts())

    def register_trigger_id(self, trigger_id: str) -> None:
        """Remember when a ``trigger_id`` was issued (they expire after 3 s, see views.open)."""
        with self._lock:
            self._triggers[trigger_id] = time.monotonic()

    def register_response_url(self, response_id: str, **context: Any) -> None:
        """Attach context (``channel``, ``user``, ``message_ts``) to a response_url id so that
        ``replace_original``/``delete_original``/``in_channel`` replies act on the right message."""
        with self._lock:
            self._response_ctx[response_id] = context

    # ---------------------------------------------------------------- internals: storage
    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):08X}"

    def _next_ts(self) -> int:
        # Realistic "seconds.micro" ts, strictly increasing even within one microsecond.
        now = time.time_ns() // 1000
        self._last_ts = now if now > self._last_ts else self._last_ts + 1
        return self._last_ts

    def _resolve_channel(self, value: Any) -> str:
        if not isinstance(value, str) or not value:
            raise _ApiError("channel_not_found")
        if value in self.channels:
            return value
        if value[:1] in ("U", "W") and value in self.users:
            # chat.postMessage with a user id posts in the app's DM with that user (App Home
            # "Messages" tab); Slack answers with the DM's own "D…" channel id.
            dm = self.dm_channel(value)
            if dm not in self.channels:
                self.add_channel(dm, value, members=[value])
            return dm
        # chat.postMessage also accepts a channel name ("#general" or "general").
        cid = self._channel_names.get(value.lstrip("#"))
        if cid is None:
            raise _ApiError("channel_not_found")
        return cid

    def _store_message(self, channel: str, msg: dict[str, Any], *, thread_ts: str | None = None,
                       broadcast: bool = False) -> tuple[dict[str, Any], list[str]]:
        """Assign a ts, index the message (top-level and/or thread) and update thread parents."""
        notes: list[str] = []
        key = self._next_ts()
        ts = _key_ts(key)
        msg["ts"] = ts
        msgs = self._msgs.setdefault(channel, {})
        top = self._top.setdefault(channel, [])
        if thread_ts is None:
            msgs[key] = msg
            top.append(key)
            return msg, notes
        parent_key = _ts_key(thread_ts)
        parent = msgs.get(parent_key)
        if parent is not None and parent.get("thread_ts") and parent["thread_ts"] != parent["ts"]:
            # thread_ts pointed at a reply: Slack docs say to use the parent's ts instead.
            notes.append(f"warning: thread_ts {thread_ts} is a reply; attached to its parent {parent['thread_ts']}")
            thread_ts = parent["thread_ts"]
            parent_key = _ts_key(thread_ts)
            parent = msgs.get(parent_key)
        msg["thread_ts"] = thread_ts
        if parent is None:
            # Real Slack answers ok for an unknown thread_ts, but the reply is shown nowhere.
            notes.append(f"warning: thread_ts {thread_ts} does not match any message in {channel}; "
                         "Slack accepts this but the reply is invisible")
        else:
            msg["parent_user_id"] = parent.get("user", "")
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            users = parent.setdefault("reply_users", [])
            author = msg.get("user") or msg.get("bot_id", "")
            if author not in users:
                users.append(author)
            parent["reply_users_count"] = len(users)
            parent["latest_reply"] = ts
            parent.setdefault("is_locked", False)
            parent.setdefault("subscribed", False)
        if broadcast:
            msg["subtype"] = "thread_broadcast"
            msg["root"] = copy.deepcopy(parent) if parent is not None else None
            top.append(key)
        msgs[key] = msg
        self._threads.setdefault((channel, parent_key), []).append(key)
        return msg, notes

    def _find_message(self, channel: str, ts: str) -> dict[str, Any]:
        msg = self._msgs.get(channel, {}).get(_ts_key(ts))
        if msg is None:
            raise _ApiError("message_not_found")
        return msg

    def _remove_message(self, channel: str, msg: dict[str, Any]) -> None:
        key = _ts_key(msg["ts"])
        msgs = self._msgs[channel]
        thread_ts = msg.get("thread_ts")
        has_replies = bool(self._threads.get((channel, key)))
        if thread_ts == msg["ts"] and has_replies:
            # A deleted parent with replies stays as a tombstone, like in Slack.
            for k in [k for k in msg if k not in ("ts", "thread_ts", "reply_count", "reply_users",
                                                  "reply_users_count", "latest_reply", "type")]:
                del msg[k]
            msg.update({"subtype": "tombstone", "text": "This message was deleted.", "user": "USLACKBOT",
                        "hidden": True})
            return
        del msgs[key]
        self._discard_key(self._top.get(channel, []), key)
        if thread_ts and thread_ts != msg["ts"]:
            parent_key = _ts_key(thread_ts)
            self._discard_key(self._threads.get((channel, parent_key), []), key)
            parent = msgs.get(parent_key)
            if parent is not None:
                parent["reply_count"] = max(0, parent.get("reply_count", 1) - 1)
                replies = self._threads.get((channel, parent_key), [])
                if replies:
                    parent["latest_reply"] = _key_ts(replies[-1])

    @staticmethod
    def _discard_key(keys: list[int], key: int) -> None:
        i = bisect.bisect_left(keys, key)
        if i < len(keys) and keys[i] == key:
            del keys[i]

    @staticmethod
    def _react(msg: dict[str, Any], name: str, user: str) -> bool:
        reactions = msg.setdefault("reactions", [])
        for r in reactions:
            if r["name"] == name:
                if user in r["users"]:
                    return False
                r["users"].append(user)
                r["count"] += 1
                return True
        reactions.append({"name": name, "users": [user], "count": 1})
        return True

    @staticmethod
    def _unreact(msg: dict[str, Any], name: str, user: str) -> bool:
        reactions = msg.get("reactions", [])
        for i, r in enumerate(reactions):
            if r["name"] == name and user in r["users"]:
                r["users"].remove(user)
                r["count"] -= 1
                if r["count"] == 0:
                    del reactions[i]
                if not reactions:
                    msg.pop("reactions", None)
                return True
        return False

    def _file_object(self, file_id: str, name: str, title: str, size: int, user: str, base: str,
                     mimetype: str | None = None) -> dict[str, Any]:
        mt = mimetype or mimetypes.guess_type(name)[0] or "application/octet-stream"
        ext = name.rsplit(".", 1)[-1].lower() if "." in name else "binary"
        return {
            "id": file_id,
            "created": int(time.time()),
            "timestamp": int(time.time()),
            "name": name,
            "title": title,
            "mimetype": mt,
            "filetype": ext,
            "pretty_type": ext.upper(),
            "user": user,
            "user_team": self.team_id,
            "editable": False,
            "size": size,
            "mode": "hosted",
            "is_external": False,
            "external_type": "",
            "is_public": True,
            "public_url_shared": False,
            "display_as_bot": False,
            "username": "",
            "url_private": f"{base}/_emulator/files/{file_id}/{name}",
            "url_private_download": f"{base}/_emulator/files/{file_id}/download/{name}",
            "permalink": f"https://{self.team_domain}.slack.com/files/{user}/{file_id}/{name}",
            "permalink_public": f"https://slack-files.com/{self.team_id}-{file_id}-{secrets.token_hex(5)}",
            "has_rich_preview": False,
            "file_access": "visible",
        }

    def _bot_message(self, args: dict[str, Any], text: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "text": text,
            "ts": "",
            "team": self.team_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "icons": {"image_48": f"https://avatars.example.invalid/{self.bot_id}_48.png"},
                "deleted": False,
                "team_id": self.team_id,
            },
        }
        return msg

    # ---------------------------------------------------------------- HTTP layer
    def _build_app(self) -> Flask:
        app = Flask(f"slack-emulator-{id(self)}")
        app.before_request(self._learn_url)
        app.add_url_rule("/api/<path:method>", "api", self._http_api, methods=["GET", "POST"])
        app.add_url_rule("/_emulator/upload/<file_id>", "upload", self._http_upload, methods=["POST", "PUT"])
        app.add_url_rule("/_emulator/files", "add_file", self._http_add_file, methods=["POST"])
        app.add_url_rule("/_emulator/files/<file_id>/<path:rest>", "file", self._http_file, methods=["GET"])
        app.add_url_rule("/_emulator/response_url/<rid>", "response_url", self._http_response_url,
                         methods=["POST"])
        app.add_url_rule("/_emulator/calls", "calls", self._http_calls, methods=["GET"])
        app.add_url_rule("/_emulator/messages", "messages", self._http_messages, methods=["GET", "POST"])
        app.add_url_rule("/_emulator/message", "message", self._http_message, methods=["GET"])
        app.add_url_rule("/_emulator/reactions", "reactions", self._http_reactions, methods=["POST"])
        app.add_url_rule("/_emulator/reset", "reset", self._http_reset, methods=["POST"])
        app.add_url_rule("/_emulator/faults", "faults", self._http_faults, methods=["POST"])
        app.add_url_rule("/_emulator/users", "users", self._http_users, methods=["POST"])
        app.add_url_rule("/_emulator/channels", "channels", self._http_channels, methods=["POST"])
        app.add_url_rule("/_emulator/responses", "responses", self._http_responses, methods=["GET"])
        app.add_url_rule("/_emulator/ephemerals", "ephemerals", self._http_ephemerals, methods=["GET"])
        return app

    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(data, ensure_ascii=False), status=status,
                        content_type="application/json; charset=utf-8", headers=headers)

    def _learn_url(self) -> None:
        if self.url is None:
            self.url = request.host_url.rstrip("/")

    def _parse_args(self, notes: list[str], warnings: list[str]) -> dict[str, Any]:
        args: dict[str, Any] = dict(request.args.items())
        ctype = request.headers.get("Content-Type", "")
        mime = ctype.split(";")[0].strip().lower()
        has_charset = "charset=" in ctype.lower()
        if request.method == "POST" and request.content_length:
            if mime == "application/json":
                if not has_charset:
                    warnings.append("missing_charset")
                try:
                    body = json.loads(request.get_data(as_text=True) or "{}")
                except ValueError:
                    raise _ApiError("invalid_json") from None
                if not isinstance(body, dict):
                    raise _ApiError("invalid_json")
                args.update(body)
            elif mime in ("application/x-www-form-urlencoded", "multipart/form-data"):
                if mime == "application/x-www-form-urlencoded" and has_charset:
                    warnings.append("superfluous_charset")
                args.update(request.form.items())
                for key, storage in request.files.items():
                    args[key] = {"filename": storage.filename, "size": len(storage.read())}
            elif not mime:
                raise _ApiError("missing_post_type")
            else:
                raise _ApiError("invalid_post_type")
        for key in _JSON_ARGS:
            value = args.get(key)
            if isinstance(value, str) and value.strip():
                try:
                    args[key] = json.loads(value)
                except ValueError:
                    notes.append(f"{key} is not valid JSON")
                    args[key] = _Invalid(value)
        return args

    def _check_auth(self, args: dict[str, Any]) -> None:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        form_token = args.pop("token", None)
        token = token or form_token
        if not token:
            raise _ApiError("not_authed")
        if token != self.bot_token:
            raise _ApiError("invalid_auth")

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            for i, f in enumerate(self._faults):
                if f.method in (method, "*"):
                    f.times -= 1
                    if f.times <= 0:
                        del self._faults[i]
                    return f
        return None

    def _http_api(self, method: str) -> Response:
        host_url = request.host_url.rstrip("/")
        started = time.time()
        notes: list[str] = []
        warnings: list[str] = []
        headers = dict(request.headers.items())
        args: dict[str, Any] = {}
        try:
            args = self._parse_args(notes, warnings)
        except _ApiError as e:
            return self._finish(method, args, headers, started, self._error_body(e), e.status, notes, {})
        fault = self._take_fault(method)
        if fault is not None and fault.delay > 0:
            time.sleep(fault.delay)
        if fault is not None and not fault.after_effect and (fault.error or fault.status != 200):
            args.pop("token", None)
            body, status, extra_headers = self._fault_answer(fault)
            notes.append(f"injected fault: status={fault.status} error={body.get('error')}")
            return self._finish(method, args, headers, started, body, status, notes, extra_headers)
        try:
            self._check_auth(args)
            entry = _METHODS.get(method)
            if entry is None:
                raise _ApiError("unknown_method")
            handler, scopes = entry
            if scopes and not (set(scopes) & self.scopes):
                raise _ApiError("missing_scope", needed=scopes[0], provided=",".join(sorted(self.scopes)))
            for key in _JSON_ARGS:
                if isinstance(args.get(key), _Invalid):
                    code = {"blocks": "invalid_blocks_format", "attachments": "invalid_attachments",
                            "metadata": "invalid_metadata_format", "view": "invalid_arguments",
                            "files": "invalid_arguments"}[key]
                    raise _ApiError(code, f"[ERROR] {key} must be valid JSON")
            with self._lock:
                body = handler(self, args, _Ctx(host_url=host_url, notes=notes))
            body = {"ok": True, **body}
            status = 200
        except _ApiError as e:
            body, status = self._error_body(e), e.status
            notes.append(e.code + "".join(f"; {m}" for m in e.messages))
        if warnings and body.get("ok"):
            body["warning"] = ",".join(warnings)
            body.setdefault("response_metadata", {}).setdefault("warnings", []).extend(warnings)
        extra_headers = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))}
        if fault is not None and fault.after_effect and (fault.error or fault.status != 200):
            body, status, extra_headers = self._fault_answer(fault)
            notes.append(f"injected fault after performing the call: status={fault.status} error={body.get('error')}")
        return self._finish(method, args, headers, started, body, status, notes, extra_headers)

    @staticmethod
    def _fault_answer(fault: _Fault) -> tuple[dict[str, Any], int, dict[str, str]]:
        if fault.status == 429:
            # https://docs.slack.dev/apis/web-api/rate-limits : HTTP 429 + Retry-After seconds.
            return ({"ok": False, "error": fault.error or "ratelimited"}, 429,
                    {"Retry-After": str(fault.retry_after if fault.retry_after is not None else 1)})
        if fault.status != 200:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            return {"ok": False, "error": fault.error or "internal_error"}, fault.status, extra
        return {"ok": False, "error": fault.error}, 200, {}

    @staticmethod
    def _error_body(e: _ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error": e.code, **e.extra}
        if e.messages:
            body.setdefault("response_metadata", {})["messages"] = e.messages
        return body

    def _finish(self, method: str, args: dict[str, Any], headers: dict[str, str], started: float,
                body: dict[str, Any], status: int, notes: list[str], extra_headers: dict[str, str]) -> Response:
        clean_args = {k: (v.raw if isinstance(v, _Invalid) else v) for k, v in args.items() if k != "token"}
        call = RecordedCall(method=method, args=clean_args, headers=headers, status=status,
                            response=body, time=started, errors=notes)
        with self._lock:
            self.calls.append(call)
            self._calls_by_method.setdefault(method, []).append(call)
        return self._json(body, status, extra_headers)

    # ---------------------------------------------------------------- non-API endpoints
    def _http_upload(self, file_id: str) -> Response:
        # The files.getUploadURLExternal upload URL: raw bytes or a multipart "file" field.
        data = request.get_data()
        if request.files:
            data = next(iter(request.files.values())).read()
        with self._lock:
            f = self.files.get(file_id)
            if f is None:
                return Response("404 Not Found", status=404, content_type="text/plain")
            f["content"] = data
            f["uploaded"] = True
            if f["size"] != len(data):
                f["size_mismatch"] = (f["size"], len(data))
        return Response(f"OK - {len(data)}", status=200, content_type="text/plain; charset=utf-8")

    def _http_file(self, file_id: str, rest: str) -> Response:
        auth = request.headers.get("Authorization", "")
        with self._lock:
            f = self.files.get(file_id)
            if f is None or not f.get("uploaded"):
                return Response("Not Found", status=404)
            if auth != f"Bearer {self.bot_token}":
                # Slack serves an HTML login page (status 200!) to unauthenticated url_private fetches.
                return Response("<html><body>Sign in to Slack</body></html>", status=200,
                                content_type="text/html; charset=utf-8")
            return Response(f["content"], status=200, content_type=f["mimetype"])

    def _http_add_file(self) -> Response:
        # JSON {name, content_b64, title?, mimetype?, user?} -> the Slack file object.
        body = request.get_json(force=True)
        obj = self.add_file(base64.b64decode(body.get("content_b64", "")), body["name"], title=body.get("title"),
                            mimetype=body.get("mimetype"), user=body.get("user"),
                            host_url=request.host_url.rstrip("/"))
        return self._json({"ok": True, "file": obj})

    def _http_response_url(self, rid: str) -> Response:
        payload = request.get_json(force=True, silent=True)
        if not isinstance(payload, dict):
            return Response("invalid_payload", status=400)
        with self._lock:
            self.responses.append(payload)
            ctx = self._response_ctx.get(rid, {})
            self._apply_response(ctx, payload)
        return Response("ok", status=200, content_type="text/html")

    def _apply_response(self, ctx: dict[str, Any], payload: dict[str, Any]) -> None:
        """Act on a response_url payload (https://docs.slack.dev/interactivity/handling-user-interaction)."""
        channel = ctx.get("channel")
        if not channel or channel not in self.channels:
            return
        message_ts = ctx.get("message_ts")
        if _truthy(payload.get("delete_original")) and message_ts:
            msg = self._msgs.get(channel, {}).get(_ts_key(message_ts))
            if msg is not None:
                self._remove_message(channel, msg)
            return
        if _truthy(payload.get("replace_original")) and message_ts:
            msg = self._msgs.get(channel, {}).get(_ts_key(message_ts))
            if msg is not None:
                for key in ("text", "blocks", "attachments"):
                    if key in payload:
                        msg[key] = payload[key]
            return
        if payload.get("response_type") == "in_channel":
            msg = self._bot_message(payload, payload.get("text", ""))
            for key in ("blocks", "attachments"):
                if key in payload:
                    msg[key] = payload[key]
            self._store_message(channel, msg, thread_ts=payload.get("thread_ts"))
        else:
            self._ephemerals.append({"channel": channel, "user": ctx.get("user"), "text": payload.get("text", ""),
                                     "blocks": payload.get("blocks"), "thread_ts": payload.get("thread_ts"),
                                     "source": "response_url"})

    def _http_calls(self) -> Response:
        method = request.args.get("method")
        with self._lock:
            calls = self._calls_by_method.get(method, []) if method else self.calls
            data = [asdict(c) for c in calls]
        return self._json(data)

    def _http_messages(self) -> Response:
        if request.method == "POST":
            body = request.get_json(force=True)
            try:
                msg = self.add_user_message(
                    body["channel"], body["user"], body.get("text", ""), thread_ts=body.get("thread_ts"),
                    subtype=body.get("subtype"), files=body.get("files"), blocks=body.get("blocks"),
                    extra=body.get("extra"))
            except KeyError as e:
                return self._json({"ok": False, "error": str(e)}, 400)
            return self._json({"ok": True, "message": msg})
        channel = request.args.get("channel", "")
        return self._json(self.messages(channel, request.args.get("thread_ts") or None))

    def _http_message(self) -> Response:
        msg = self.message(request.args.get("channel", ""), request.args.get("ts", ""))
        return self._json({"ok": msg is not None, "message": msg}, 200 if msg is not None else 404)

    def _http_reactions(self) -> Response:
        body = request.get_json(force=True)
        fn = self.remove_reaction if body.get("removed") else self.add_reaction
        changed = fn(body["channel"], body["ts"], body["name"], body["user"])
        with self._lock:
            msg = self._msgs.get(body["channel"], {}).get(_ts_key(body["ts"]))
            item_user = msg.get("user") if msg else None
        return self._json({"ok": True, "changed": changed, "item_user": item_user})

    def _http_reset(self) -> Response:
        self.reset()
        return self._json({"ok": True})

    def _http_faults(self) -> Response:
        body = request.get_json(force=True)
        try:
            self.fail_next(**body)
        except (TypeError, ValueError) as e:
            return self._json({"ok": False, "error": str(e)}, 400)
        return self._json({"ok": True})

    def _http_users(self) -> Response:
        body = request.get_json(force=True)
        for user in body if isinstance(body, list) else [body]:
            self.add_user(**user)
        return self._json({"ok": True})

    def _http_channels(self) -> Response:
        body = request.get_json(force=True)
        for channel in body if isinstance(body, list) else [body]:
            self.add_channel(**channel)
        return self._json({"ok": True})

    def _http_responses(self) -> Response:
        with self._lock:
            return self._json(list(self.responses))

    def _http_ephemerals(self) -> Response:
        return self._json(self.ephemerals(request.args.get("channel"), request.args.get("user")))


class _Invalid:
    """Marker for a JSON argument that failed to parse (keeps the raw string for the record)."""

    def __init__(self, raw: str) -> None:
        self.raw = raw


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The ``rich_text`` block the Slack client attaches to a typed message (mentions become ``user``
    elements)."""
    elements: list[dict[str, Any]] = []
    pos = 0
    for m in _MENTION_RE.finditer(text):
        if m.start() > pos:
            elements.append({"type": "text", "text": text[pos:m.start()]})
        elements.append({"type": "user", "user_id": m.group(1)})
        pos = m.end()
    if pos < len(text):
        elements.append({"type": "text", "text": text[pos:]})
    block_id = base64.b32encode(secrets.token_bytes(5)).decode()[:5]
    return [{"type": "rich_text", "block_id": block_id,
             "elements": [{"type": "rich_text_section", "elements": elements}]}]


# --------------------------------------------------------------------------------------------
# Web API methods
# --------------------------------------------------------------------------------------------
def _message_content(args: dict[str, Any], *, require: bool = True) -> tuple[str, dict[str, Any]]:
    """Validate text/blocks/attachments/metadata/mrkdwn; return (text, extra message fields)."""
    fields: dict[str, Any] = {}
    text = args.get("text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    blocks = args.get("blocks")
    attachments = args.get("attachments")
    if blocks is not None and blocks != "":
        errs = _validate_blocks(blocks)
        if errs:
            # https://docs.slack.dev/reference/methods/chat.postMessage#errors : invalid_blocks
            raise _ApiError("invalid_blocks", *[f"[ERROR] {e}" for e in errs], errors=errs)
        fields["blocks"] = blocks
    if attachments is not None and attachments != "":
        if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
            raise _ApiError("invalid_attachments", "[ERROR] attachments must be an array of objects")
        if len(attachments) > 100:
            raise _ApiError("too_many_attachments")
        fields["attachments"] = [{"id": i + 1, **a} for i, a in enumerate(attachments)]
    if require and not text and "blocks" not in fields and "attachments" not in fields:
        raise _ApiError("no_text")
    if text and len(text) > 40000:
        raise _ApiError("msg_too_long")
    metadata = args.get("metadata")
    if metadata is not None and metadata != "":
        # https://docs.slack.dev/messaging/message-metadata : {event_type, event_payload}
        if not isinstance(metadata, dict):
            raise _ApiError("invalid_metadata_format", "[ERROR] metadata must be an object")
        if not isinstance(metadata.get("event_type"), str) or not metadata["event_type"] \
                or not isinstance(metadata.get("event_payload"), dict):
            raise _ApiError("invalid_metadata_schema",
                            "[ERROR] metadata requires a string event_type and an object event_payload")
        fields["metadata"] = {"event_type": metadata["event_type"], "event_payload": metadata["event_payload"]}
    if "mrkdwn" in args and not _truthy(args["mrkdwn"]):
        fields["mrkdwn"] = False
    return text or "", fields


def _customization(emu: SlackEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """username/icon_url/icon_emoji need chat:write.customize (docs: chat.postMessage#authorship)."""
    custom = {k: args[k] for k in ("username", "icon_url", "icon_emoji") if args.get(k)}
    if custom and "chat:write.customize" not in emu.scopes:
        raise _ApiError("missing_scope", needed="chat:write.customize", provided=",".join(sorted(emu.scopes)))
    fields: dict[str, Any] = {}
    if "username" in custom:
        fields["username"] = str(custom["username"])
    icons: dict[str, str] = {}
    if "icon_emoji" in custom:
        icons["emoji"] = str(custom["icon_emoji"])  # icon_emoji overrides icon_url
    elif "icon_url" in custom:
        icons["image_48"] = icons["image_72"] = str(custom["icon_url"])
    if icons:
        fields["icons"] = icons
    # Convenience copies for test inspection (SlackEmulator.messages()); API responses show only
    # Slack's real shape ("icons"), see _INSPECTION_ONLY.
    for key in ("icon_url", "icon_emoji"):
        if key in custom:
            fields[key] = str(custom[key])
    if custom:
        # Messages with a customized identity are stored as bot_message with username/icons.
        fields["subtype"] = "bot_message"
    return fields


def _public_message(msg: dict[str, Any], include_metadata: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(msg)
    if not include_metadata:
        out.pop("metadata", None)
    return out


@_method("auth.test")
def _auth_test(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    return {
        "url": f"https://{emu.team_domain}.slack.com/",
        "team": emu.team_name,
        "user": emu.bot_name,
        "team_id": emu.team_id,
        "user_id": emu.bot_user_id,
        "bot_id": emu.bot_id,
        "is_enterprise_install": False,
    }


@_method("chat.postMessage", "chat:write")
def _chat_post_message(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    thread_ts = _parse_ts_arg(args, "thread_ts")
    text, fields = _message_content(args)
    custom = _customization(emu, args)
    if _truthy(args.get("as_user")):
        raise _ApiError("as_user_not_supported")
    msg = emu._bot_message(args, text)
    if "subtype" in custom:
        msg = {"type": "message", "subtype": custom.pop("subtype"), **{k: v for k, v in msg.items() if k != "type"}}
    msg.update(custom)
    msg.update(fields)
    broadcast = bool(thread_ts) and _truthy(args.get("reply_broadcast"))
    stored, notes = emu._store_message(channel, msg, thread_ts=thread_ts, broadcast=broadcast)
    ctx.notes.extend(notes)
    # unfurl_links/unfurl_media only affect rendering; they stay visible in the RecordedCall args.
    return {"channel": channel, "ts": stored["ts"], "message": _strip_private(stored)}


# Fields kept on stored messages for inspection only; never returned by the Web API.
_INSPECTION_ONLY = ("icon_url", "icon_emoji")


def _strip_private(msg: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(msg)
    for key in _INSPECTION_ONLY:
        out.pop(key, None)
    if isinstance(out.get("root"), dict):
        for key in _INSPECTION_ONLY:
            out["root"].pop(key, None)
    return out


@_method("chat.update", "chat:write")
def _chat_update(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    if msg.get("bot_id") != emu.bot_id:
        # Bot tokens can only edit the app's own messages.
        raise _ApiError("cant_update_message")
    text, fields = _message_content(args, require=False)
    if not text and not fields.get("blocks") and not fields.get("attachments") and "text" not in args:
        raise _ApiError("no_text")
    msg["text"] = text if "text" in args else msg.get("text", "")
    for key in ("blocks", "attachments", "metadata"):
        if key in fields:
            msg[key] = fields[key]
    msg["edited"] = {"user": emu.bot_user_id, "ts": _key_ts(emu._next_ts())}
    public = _strip_private(msg)
    return {"channel": channel, "ts": ts, "text": msg["text"], "message": public}


@_method("chat.delete", "chat:write")
def _chat_delete(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    if msg.get("bot_id") != emu.bot_id:
        raise _ApiError("cant_delete_message")
    emu._remove_message(channel, msg)
    return {"channel": channel, "ts": ts}


@_method("chat.postEphemeral", "chat:write")
def _chat_post_ephemeral(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    user = _req_str(args, "user")
    thread_ts = _parse_ts_arg(args, "thread_ts")
    text, fields = _message_content(args)
    _customization(emu, args)
    if user not in emu.users:
        raise _ApiError("user_not_found")
    if user not in emu._members.get(channel, ()):
        raise _ApiError("user_not_in_channel")
    message_ts = _key_ts(emu._next_ts())
    emu._ephemerals.append({"channel": channel, "user": user, "text": text, "blocks": fields.get("blocks"),
                            "thread_ts": thread_ts, "message_ts": message_ts, "source": "chat.postEphemeral"})
    return {"message_ts": message_ts}


@_method("chat.getPermalink")
def _chat_get_permalink(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "message_ts", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    link = f"https://{emu.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    thread_ts = msg.get("thread_ts")
    if thread_ts and thread_ts != ts:
        link += f"?thread_ts={thread_ts}&cid={channel}"
    return {"channel": channel, "permalink": link}


def _reaction_args(emu: SlackEmulator, args: dict[str, Any]) -> tuple[str, dict[str, Any], str]:
    if not args.get("channel") and not args.get("timestamp") and not args.get("file"):
        raise _ApiError("no_item_specified")
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "timestamp", required=True)
    assert ts is not None
    raw = _req_str(args, "name")
    # Accept ":thumbsup:" as "thumbsup"; the stored/evented name has no colons.
    name = raw[1:-1] if len(raw) > 2 and raw.startswith(":") and raw.endswith(":") else raw
    if not _REACTION_NAME_RE.match(name):
        raise _ApiError("invalid_name")
    msg = emu._find_message(channel, ts)
    return channel, msg, name


@_method("reactions.add", "reactions:write")
def _reactions_add(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _channel, msg, name = _reaction_args(emu, args)
    if not emu._react(msg, name, emu.bot_user_id):
        raise _ApiError("already_reacted")
    return {}


@_method("reactions.remove", "reactions:write")
def _reactions_remove(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _channel, msg, name = _reaction_args(emu, args)
    if not emu._unreact(msg, name, emu.bot_user_id):
        raise _ApiError("no_reaction")
    return {}


@_method("reactions.get", "reactions:read")
def _reactions_get(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    ts = _parse_ts_arg(args, "timestamp", required=True)
    assert ts is not None
    msg = emu._find_message(channel, ts)
    return {"type": "message", "channel": channel, "message": _public_message(_strip_private(msg), False)}


@_method("users.info", "users:read")
def _users_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    user_id = args.get("user")
    if not user_id or user_id not in emu.users:
        raise _ApiError("user_not_found")
    return {"user": copy.deepcopy(emu.users[user_id])}


def _channel_scope_check(emu: SlackEmulator, channel: str, kind: str) -> None:
    info = emu.channels[channel]
    prefix = "im" if info["is_im"] else "groups" if info["is_private"] else "channels"
    needed = f"{prefix}:{kind}"
    if needed not in emu.scopes:
        raise _ApiError("missing_scope", needed=needed, provided=",".join(sorted(emu.scopes)))


@_method("conversations.info")
def _conversations_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "read")
    info = copy.deepcopy(emu.channels[channel])
    if not _truthy(args.get("include_num_members")):
        info.pop("num_members", None)
    return {"channel": info}


@_method("conversations.members")
def _conversations_members(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "read")
    members = emu._members.get(channel, [])
    limit = _opt_int(args, "limit", 100, lo=1, hi=1000)
    start = 0
    cursor = _opt_str(args, "cursor")
    if cursor:
        uid = _decode_cursor(cursor, "user")
        try:
            start = members.index(uid)
        except ValueError:
            raise _ApiError("invalid_cursor") from None
    page = members[start:start + limit]
    nxt = _encode_cursor("user", members[start + limit]) if start + limit < len(members) else ""
    return {"members": page, "response_metadata": {"next_cursor": nxt}}


@_method("conversations.history")
def _conversations_history(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "history")
    keys = emu._top.get(channel, [])
    msgs = emu._msgs[channel]
    limit = _opt_int(args, "limit", 100, lo=1, hi=999)
    inclusive = _truthy(args.get("inclusive"))
    lo, hi = _range(keys, args, inclusive)
    cursor = _opt_str(args, "cursor")
    if cursor:
        hi = min(hi, bisect.bisect_right(keys, int(_cursor_key(cursor))))
    start = max(lo, hi - limit)
    with_meta = _truthy(args.get("include_all_metadata"))
    page = [_public_message(_strip_private(msgs[k]), with_meta) for k in reversed(keys[start:hi])]
    has_more = start > lo
    out: dict[str, Any] = {"messages": page, "has_more": has_more, "pin_count": 0,
                           "channel_actions_ts": None, "channel_actions_count": 0}
    if has_more:
        out["response_metadata"] = {"next_cursor": _encode_cursor("next_ts", str(keys[start - 1]))}
    return out


def _cursor_key(cursor: str) -> str:
    value = _decode_cursor(cursor, "next_ts")
    if not value.isdigit():
        raise _ApiError("invalid_cursor")
    return value


def _range(keys: list[int], args: dict[str, Any], inclusive: bool) -> tuple[int, int]:
    """Index range of ``keys`` between ``oldest`` and ``latest`` (exclusive unless ``inclusive``)."""
    oldest = _parse_ts_arg(args, "oldest")
    latest = _parse_ts_arg(args, "latest")
    lo, hi = 0, len(keys)
    if oldest is not None:
        ok = _ts_key(oldest)
        lo = bisect.bisect_left(keys, ok) if inclusive else bisect.bisect_right(keys, ok)
    if latest is not None:
        lk = _ts_key(latest)
        hi = bisect.bisect_right(keys, lk) if inclusive else bisect.bisect_left(keys, lk)
    return lo, max(lo, hi)


@_method("conversations.replies")
def _conversations_replies(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    channel = emu._resolve_channel(args.get("channel"))
    _channel_scope_check(emu, channel, "history")
    ts = _parse_ts_arg(args, "ts", required=True)
    assert ts is not None
    msgs = emu._msgs[channel]
    parent = msgs.get(_ts_key(ts))
    if parent is None:
        raise _ApiError("thread_not_found")
    with_meta = _truthy(args.get("include_all_metadata"))
    if parent.get("thread_ts") and parent["thread_ts"] != parent["ts"]:
        # Asked with a reply's ts: Slack answers with just that message.
        return {"messages": [_public_message(_strip_private(parent), with_meta)], "has_more": False}
    keys = emu._threads.get((channel, _ts_key(ts)), [])
    limit = _opt_int(args, "limit", 1000, lo=1, hi=1000)
    lo, hi = _range(keys, args, _truthy(args.get("inclusive")))
    cursor = _opt_str(args, "cursor")
    if cursor:
        lo = max(lo, bisect.bisect_left(keys, int(_cursor_key(cursor))))
    # The parent always comes first (it counts towards limit) followed by replies, oldest first.
    end = min(hi, lo + max(1, limit - 1))
    page = [_public_message(_strip_private(parent), with_meta)]
    page += [_public_message(_strip_private(msgs[k]), with_meta) for k in keys[lo:end]]
    has_more = end < hi
    out: dict[str, Any] = {"messages": page, "has_more": has_more}
    if has_more:
        out["response_metadata"] = {"next_cursor": _encode_cursor("next_ts", str(keys[end]))}
    return out


# ------------------------------------------------------------------ views
def _check_trigger(emu: SlackEmulator, args: dict[str, Any]) -> None:
    trigger_id = _opt_str(args, "trigger_id")
    if not trigger_id and not _opt_str(args, "interactivity_pointer"):
        raise _ApiError("invalid_arguments", "[ERROR] missing required field: trigger_id")
    issued = emu._triggers.get(trigger_id or "")
    if issued is not None and time.monotonic() - issued > 3.0:
        # "trigger_id ... expires in 3 seconds" (https://docs.slack.dev/interactivity/handling-user-interaction)
        raise _ApiError("expired_trigger_id")


def _view_body(emu: SlackEmulator, args: dict[str, Any], *, home: bool = False) -> dict[str, Any]:
    view = _req(args, "view")
    errs = _validate_view(view, home=home)
    if errs:
        raise _ApiError("invalid_arguments", *[f"[ERROR] {e}" for e in errs])
    return view


def _store_view(emu: SlackEmulator, view: dict[str, Any], *, view_id: str | None = None,
                root_id: str | None = None, previous_id: str | None = None,
                user: str | None = None) -> dict[str, Any]:
    vid = view_id or emu._new_id("V")
    stored = {
        "id": vid,
        "team_id": emu.team_id,
        "type": view.get("type"),
        "title": view.get("title"),
        "submit": view.get("submit"),
        "close": view.get("close"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": root_id or vid,
        "previous_view_id": previous_id,
        "app_id": emu.app_id,
        "app_installed_team_id": emu.team_id,
        "bot_id": emu.bot_id,
    }
    if user:
        stored["_user"] = user
    emu.views[vid] = stored
    return {k: v for k, v in stored.items() if not k.startswith("_")}


@_method("views.open")
def _views_open(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _check_trigger(emu, args)
    view = _view_body(emu, args)
    return {"view": _store_view(emu, view)}


@_method("views.push")
def _views_push(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    _check_trigger(emu, args)
    view = _view_body(emu, args)
    return {"view": _store_view(emu, view)}


@_method("views.update")
def _views_update(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    view_id = _opt_str(args, "view_id")
    external_id = _opt_str(args, "external_id")
    if not view_id and not external_id:
        raise _ApiError("invalid_arguments", "[ERROR] view_id or external_id is required")
    if view_id is None:
        view_id = next((v["id"] for v in emu.views.values() if v.get("external_id") == external_id), None)
    current = emu.views.get(view_id or "")
    if current is None:
        raise _ApiError("not_found")
    h = _opt_str(args, "hash")
    if h is not None and h != current["hash"]:
        raise _ApiError("hash_conflict")
    view = _view_body(emu, args, home=current["type"] == "home")
    return {"view": _store_view(emu, view, view_id=current["id"], root_id=current["root_view_id"],
                                previous_id=current.get("previous_view_id"), user=current.get("_user"))}


@_method("views.publish")
def _views_publish(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    user_id = _req_str(args, "user_id")
    if user_id not in emu.users:
        raise _ApiError("user_not_found")
    view = _view_body(emu, args, home=True)
    existing = next((v["id"] for v in emu.views.values() if v["type"] == "home" and v.get("_user") == user_id), None)
    return {"view": _store_view(emu, view, view_id=existing, user=user_id)}


# ------------------------------------------------------------------ files (files_upload_v2 flow)
@_method("files.getUploadURLExternal", "files:write")
def _files_get_upload_url(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    filename = _req_str(args, "filename")
    length = _opt_int(args, "length", -1)
    if length <= 0:
        raise _ApiError("invalid_arguments", "[ERROR] length must be a positive integer")
    if length > 1024 * 1024 * 1024:
        raise _ApiError("file_too_large")
    file_id = emu._new_id("F")
    obj = emu._file_object(file_id, filename, filename, length, emu.bot_user_id, ctx.host_url)
    if args.get("alt_txt"):
        obj["alt_txt"] = args["alt_txt"]
    emu.files[file_id] = {**obj, "content": b"", "uploaded": False}
    # Real upload URLs look like https://files.slack.com/upload/v1/<opaque>; ours is local.
    return {"upload_url": f"{ctx.host_url}/_emulator/upload/{file_id}", "file_id": file_id}


@_method("files.completeUploadExternal", "files:write")
def _files_complete_upload(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    files = _req(args, "files")
    if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
        raise _ApiError("invalid_arguments", "[ERROR] files must be a non-empty array of {id, title}")
    channel_id = _opt_str(args, "channel_id")
    channels_arg = _opt_str(args, "channels")
    thread_ts = _parse_ts_arg(args, "thread_ts")
    targets = [emu._resolve_channel(channel_id)] if channel_id else []
    if channels_arg:
        targets += [emu._resolve_channel(c.strip()) for c in channels_arg.split(",") if c.strip()]
    if thread_ts and not targets:
        raise _ApiError("invalid_arguments", "[ERROR] thread_ts requires channel_id")
    stored_files = []
    for f in files:
        rec = emu.files.get(str(f["id"]))
        if rec is None or not rec.get("uploaded"):
            raise _ApiError("file_not_found", f"[ERROR] file {f['id']} was not uploaded")
        if "size_mismatch" in rec:
            ctx.notes.append(f"warning: file {f['id']} declared length {rec['size_mismatch'][0]} "
                             f"but {rec['size_mismatch'][1]} bytes were uploaded")
            rec["size"] = rec["size_mismatch"][1]
        if f.get("title"):
            rec["title"] = str(f["title"])
        stored_files.append(rec)
    public_files = [{k: v for k, v in rec.items() if k not in ("content", "uploaded", "size_mismatch")}
                    for rec in stored_files]
    comment = _opt_str(args, "initial_comment") or ""
    for channel in targets:
        msg = emu._bot_message(args, comment)
        msg.update({"files": copy.deepcopy(public_files), "upload": True, "display_as_bot": False})
        if comment:
            msg["blocks"] = rich_text_blocks(comment)
        stored, notes = emu._store_message(channel, msg, thread_ts=thread_ts)
        ctx.notes.extend(notes)
        share = {"ts": stored["ts"], "channel_name": emu.channels[channel]["name"], "team_id": emu.team_id,
                 "share_user_id": emu.bot_user_id, "source": "UNKNOWN", "is_silent_share": False}
        if thread_ts:
            share["thread_ts"] = thread_ts
        kind = "private" if emu.channels[channel]["is_private"] else "public"
        for rec in stored_files:
            rec.setdefault("shares", {}).setdefault(kind, {}).setdefault(channel, []).append(share)
            rec.setdefault("channels" if kind == "public" else "groups", []).append(channel)
    return {"files": [{"id": rec["id"], "title": rec["title"]} for rec in stored_files]}


@_method("files.info", "files:read")
def _files_info(emu: SlackEmulator, args: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
    rec = emu.files.get(_req_str(args, "file"))
    if rec is None or not rec.get("uploaded"):
        raise _ApiError("file_not_found")
    return {"file": {k: copy.deepcopy(v) for k, v in rec.items() if k not in ("content", "uploaded", "size_mismatch")}}


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> None:
    """``python -m emulators.slack_api --host 127.0.0.1 --port 9002`` (serves until interrupted)."""
    parser = argparse.ArgumentParser(description="Local Slack Web API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9002)
    parser.add_argument("--bot-token", default="xoxb-test")
    parser.add_argument("--signing-secret", default="test-signing-secret")
    parser.add_argument("--team-id", default="T0TEST")
    parser.add_argument("--bot-user-id", default="UBOT")
    parser.add_argument("--bot-id", default="BBOT")
    parser.add_argument("--channel", action="append", default=[], metavar="ID:NAME",
                        help="pre-create a channel (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    opts = parser.parse_args(argv)
    emu = SlackEmulator(bot_token=opts.bot_token, signing_secret=opts.signing_secret, team_id=opts.team_id,
                        bot_user_id=opts.bot_user_id, bot_id=opts.bot_id)
    emu.url = f"http://{opts.host}:{opts.port}"
    for spec in opts.channel:
        cid, _, name = spec.partition(":")
        emu.add_channel(cid, name or cid.lower())
    import logging

    from werkzeug.serving import make_server

    if opts.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server(opts.host, opts.port, emu.app, threaded=True)
    print(f"Slack emulator on {emu.url}/api/ (token {opts.bot_token})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
