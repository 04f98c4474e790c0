"""Shared pieces of the Slack emulator: errors, argument parsing, ids/ts helpers, the method registry."""
from __future__ import annotations

import base64
import copy
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from emulators.slack.core import SlackEmulator

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
        "im:write",
        "files:read",
        "files:write",
        "commands",
        "usergroups:read",
    }
)

# Arguments that carry JSON; with a form-encoded body they arrive as JSON strings.
_JSON_ARGS = ("blocks", "attachments", "metadata", "view", "files")
_TS_RE = re.compile(r"^\d{1,12}\.\d{1,6}$")
_REACTION_NAME_RE = re.compile(r"^[a-z0-9_+\-'.]+(::skin-tone-[2-6])?$")
_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)>")
_US = 1_000_000


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
# Method registry (filled by the method-family modules)
# --------------------------------------------------------------------------------------------
_Handler = Callable[["SlackEmulator", dict[str, Any], "_Ctx"], dict[str, Any]]
_METHODS: dict[str, tuple[_Handler, tuple[str, ...]]] = {}


def _method(name: str, *scopes: str) -> Callable[[_Handler], _Handler]:
    """Register a Web API method handler; ``scopes``: any one of them suffices."""

    def deco(fn: _Handler) -> _Handler:
        _METHODS[name] = (fn, scopes)
        return fn

    return deco


def _public_message(msg: dict[str, Any], include_metadata: bool = True) -> dict[str, Any]:
    out = copy.deepcopy(msg)
    if not include_metadata:
        out.pop("metadata", None)
    return out


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

