"""Neutral types shared by the domain, the store and the gateways.

Nothing here knows about an SDK: the gateways translate SDK objects and wire
payloads into these, and the domain only ever sees these.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# The mark of a conversation nobody has triaged yet; bridge.marks makes marks configurable
# and the relay always uses MarkSet.default_open when it creates a conversation.
MARK_OPEN = "needs_reply"


def conv_key(account: str, line_id: str) -> str:
    """The deployment-wide id of a conversation: its account and its LINE chat id.

    Account keys contain no ``-`` (see :mod:`bridge.accounts`), LINE ids are alphanumeric,
    so the id is safe in Redis keys, rq job ids and Slack action values.
    """
    return f"{account}-{line_id}"


@dataclass
class Conversation:
    """One LINE chat (1:1 user, group or room) ↔ one Slack thread: the bridge's *portal*."""

    conv_id: str                 # conv_key(account, line_id): unique in the deployment
    source_type: str             # "user" | "group" | "room"
    number: int                  # short human handle, shown as #12 (unique in the deployment)
    account: str = "default"     # the LINE Official Account (bridge.accounts)
    line_id: str = ""            # the LINE source id: userId, groupId or roomId
    name: str = ""
    picture_url: str = ""
    channel: str = ""
    thread_ts: str = ""
    mark: str = MARK_OPEN
    assignee: str = ""
    created_at: float = 0.0
    last_message_at: float = 0.0      # last message from the friend (or group member)
    last_message_preview: str = ""
    waiting_since: float = 0.0        # first unanswered friend message; 0 = nobody waiting
    last_staff_reply_at: float = 0.0
    blocked: bool = False             # the friend blocked the account (unfollow)
    left: bool = False                # the bot left / was removed from the group or room
    reply_token: str = ""             # the newest unused reply token (single use)
    reply_token_at: float = 0.0       # when LINE issued it (event timestamp)
    mark_as_read_token: str = ""      # newest markAsReadToken, kept until a person takes the chat
    previous_thread_ts: str = ""      # the thread before this one, gone from Slack's view (BRIDGE_THREAD_MAX_AGE_DAYS)

    def to_hash(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in asdict(self).items():
            if isinstance(value, bool):
                out[key] = "1" if value else "0"
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_hash(cls, data: dict[str, str]) -> "Conversation":
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            raw = data[f.name]
            if f.type in ("int",):
                kwargs[f.name] = int(raw or 0)
            elif f.type in ("float",):
                kwargs[f.name] = float(raw or 0)
            elif f.type in ("bool",):
                kwargs[f.name] = raw == "1"
            else:
                kwargs[f.name] = raw
        return cls(**kwargs)

    @property
    def is_one_to_one(self) -> bool:
        return self.source_type == "user"


@dataclass(frozen=True)
class BotInfo:
    """``GET /v2/bot/info``: the bot user id is the ``destination`` of the account's webhooks."""

    user_id: str
    display_name: str = ""
    basic_id: str = ""


@dataclass(frozen=True)
class Profile:
    """A LINE user's public profile as the bridge needs it."""

    display_name: str
    picture_url: str = ""


@dataclass
class InboundMessage:
    """A message (or notable event) from LINE, in the bridge's own terms."""

    account: str
    conv_id: str                # conv_key(account, line_id)
    line_id: str                # the LINE chat id (user, group or room)
    source_type: str
    sender_id: str              # userId of the writer ("" when LINE does not tell, e.g. some group events)
    kind: str                   # "text", "image", "video", "audio", "file", "location", "sticker", or a notice kind
    text: str = ""              # the text, or the rendered placeholder/notice
    message_id: str = ""
    webhook_event_id: str = ""
    timestamp_ms: int = 0
    reply_token: str = ""
    quote_token: str = ""
    mark_as_read_token: str = ""
    standby: bool = False
    is_notice: bool = False     # follow/unfollow/join... : shown in the thread but not a friend message
    extra: dict[str, Any] = field(default_factory=dict)


class RetryLater(Exception):
    """A transient failure (429, 5xx, timeout): try the same work again after ``delay`` seconds.

    ``throttled`` marks a rate limit (429): the platform is fine and asks us to slow down,
    so it does not count toward giving up on the item — a friend's message is never
    dead-lettered because Slack was busy.

    ``paced`` marks a turn reserved by our own rate limiter (:mod:`bridge.slack.ratelimit`):
    the delay is exact, so it is honoured without jitter.
    """

    def __init__(self, reason: str, delay: float = 5.0, throttled: bool = False, paced: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.delay = max(0.0, float(delay))
        self.throttled = throttled
        self.paced = paced


class DeliveryFailed(Exception):
    """A permanent failure: retrying cannot help. ``reason`` is a stable code for i18n."""

    def __init__(self, reason: str, detail: str = "", status: int = 0):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail
        self.status = status


# -- the payloads of the work items on a message's path (bridge.engine.work kinds) -----------------------
def _s(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


@dataclass(frozen=True)
class StaffMessage:
    """A message in a conversation thread (a ``slack_message`` item, from the Slack event), or the
    bridge's post of a 定型文 picked in the modal, on its way to LINE."""

    channel: str
    ts: str
    thread_ts: str = ""
    user: str = ""
    text: str = ""
    subtype: str | None = None
    bot_id: str = ""
    bot_profile: bool = False
    files: tuple[dict[str, Any], ...] = ()
    send_at: float = 0.0        # the end of its undo window (stamped when Slack told us)
    picked: str = ""            # a picked 定型文: its key (its text is expanded already)
    due: bool = False           # its undo window is over: the scheduled send (bridge.relay.undo)

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "StaffMessage":
        files = p.get("files") or []
        if not isinstance(files, list):
            raise TypeError("files is not a list")
        return cls(channel=_s(p.get("channel")), ts=_s(p.get("ts")), thread_ts=_s(p.get("thread_ts")),
                   user=_s(p.get("user")), text=_s(p.get("text")),
                   subtype=None if p.get("subtype") is None else _s(p.get("subtype")), bot_id=_s(p.get("bot_id")),
                   bot_profile=bool(p.get("bot_profile")), files=tuple(f for f in files if isinstance(f, dict)),
                   send_at=float(p.get("send_at") or 0), picked=_s(p.get("picked")), due=bool(p.get("due")))

    def to_payload(self) -> dict[str, Any]:
        out = {k: v for k, v in asdict(self).items() if v not in (None, "", False, (), 0.0)}
        if self.files:
            out["files"] = [dict(f) for f in self.files]
        return out


@dataclass(frozen=True)
class StaffEdit:
    """A ``slack_edit`` item: a thread message edited or deleted, or a correction asked for."""

    op: str                     # "edit" | "delete" | "correct"
    channel: str
    ts: str
    thread_ts: str = ""
    text: str = ""
    previous_text: str = ""
    user: str = ""
    source: str = ""            # "button": 取り消し of a picked 定型文

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "StaffEdit":
        return cls(**{k: _s(p.get(k)) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class CannedPick:
    """A ``canned_pick`` item: a 定型文 picked in the shortcut's modal for a conversation."""

    op_id: str
    conv_id: str
    user: str
    key: str
    extra: str = ""
    send_at: float = 0.0
    due: bool = False           # its undo window is over: the scheduled send

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "CannedPick":
        return cls(op_id=_s(p.get("op_id")), conv_id=_s(p.get("conv_id")), user=_s(p.get("user")), key=_s(p.get("key")),
                   extra=_s(p.get("extra")), send_at=float(p.get("send_at") or 0), due=bool(p.get("due")))


@dataclass(frozen=True)
class LineEventItem:
    """A ``line_event`` item: one LINE webhook event of an account."""

    account: str
    event: dict[str, Any]

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "LineEventItem | None":
        """None when malformed (no event object)."""
        event = p.get("event")
        return cls(_s(p.get("account")), event) if isinstance(event, dict) else None


@dataclass(frozen=True)
class Decoration:
    """A ``decorate`` item: the mark on a staff reply (and ⏳ taken away if it ``waited``)."""

    channel: str
    ts: str
    thread_ts: str = ""
    reaction: str = ""
    waited: bool = False

    @classmethod
    def from_payload(cls, p: dict[str, Any]) -> "Decoration":
        return cls(_s(p.get("channel")), _s(p.get("ts")), _s(p.get("thread_ts")), _s(p.get("reaction")),
                   bool(p.get("waited")))
