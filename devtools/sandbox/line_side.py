"""The LINE side of the sandbox: friends and groups of one LINE Official Account, what they
send (signed webhooks to the bridge) and what they see (read from the LINE emulator's records).

One :class:`LineAccount` per LINE channel; the page picks one with its account selector.
Today the sandbox has the one ``default`` account; a second one is a second ``LineAccount``
(its own emulator or channel, secret and webhook URL).
"""
from __future__ import annotations

import base64
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable

from emulators.line_webhooks import WebhookFactory, send_webhook

#: Stickers the page offers: (packageId, stickerId, what the page shows, keywords sent in the webhook).
STICKERS = [
    ("446", "1988", "👍", ["OK", "Good"]),
    ("446", "1989", "😊", ["Happy", "Smile"]),
    ("446", "1990", "🙏", ["Thanks", "Please"]),
    ("446", "1991", "😢", ["Sad", "Cry"]),
    ("446", "1992", "🎉", ["Congratulations", "Party"]),
    ("446", "1993", "😡", ["Angry"]),
    ("446", "1994", "❓", ["Question", "What"]),
    ("446", "1995", "🙇", ["Sorry", "Bow"]),
]
_STICKER_ICON = {(p, s): icon for p, s, icon, _ in STICKERS}


@dataclass
class Person:
    user_id: str
    name: str
    icon: str  # picture URL


@dataclass
class Chat:
    chat_id: str
    kind: str  # "user" (1:1 with the account) | "group"
    name: str
    icon: str
    members: list[str] = field(default_factory=list)  # user ids (a 1:1 chat: the friend)
    sent: list[dict] = field(default_factory=list)    # what the friend(s) sent, oldest first
    blocked: bool = False                              # the friend blocked the account


class LineAccount:
    """One LINE Official Account as its friends see it."""

    def __init__(self, account_id: str, emulator: Any, webhook_url: str, channel_secret: str,
                 avatar: Callable[[str, str], str], bot_user_id: str | None = None,
                 media: Callable[[str], str] = lambda url: url, now: Callable[[], float] = time.time) -> None:
        self.id = account_id
        self.line = emulator
        self.bot = bot_user_id or emulator.default_channel.bot_user_id   # the account's LINE channel
        self.webhook_url = webhook_url
        self.channel_secret = channel_secret
        self.avatar = avatar  # (emoji, color) -> picture URL
        self.media = media    # a media URL the bridge sent -> the URL the page loads it from
        self.now = now        # the sandbox's clock: when LINE says an event happened (webhook timestamp)
        self.hooks = WebhookFactory(emulator, channel=self.bot)
        self.people: dict[str, Person] = {}
        self.chats: dict[str, Chat] = {}
        self.images: dict[str, tuple[bytes, str]] = {}  # message id -> (bytes, content type) sent by friends
        self._read_tokens: dict[str, tuple[str, float]] = {}  # markAsReadToken -> (chat id, message time)
        self._lock = threading.RLock()

    @property
    def name(self) -> str:
        return self.line.channel(self.bot).display_name

    def _requests(self, operation: str) -> list:
        return [r for r in self.line.requests_for(operation) if r.channel == self.bot]

    # ------------------------------------------------------------------ friends and groups
    def add_friend(self, name: str, emoji: str = "🙂", color: str = "#06c755", follow: bool = True) -> dict:
        """A new friend of the account (and, unless ``follow`` is False, the follow webhook)."""
        name = (name or "").strip()[:20] or "LINE user"
        user_id = "U" + uuid.uuid4().hex
        icon = self.avatar(emoji, color)
        self.line.add_user(user_id, name, picture_url=icon)
        with self._lock:
            self.people[user_id] = Person(user_id, name, icon)
            self.chats[user_id] = Chat(user_id, "user", name, icon, [user_id])
        result = {"chat": user_id}
        if follow:
            result["status"] = self._post([self.hooks.follow(user_id)])
        return result

    def add_group(self, name: str, member_ids: list[str], emoji: str = "👥", color: str = "#5b6b7f") -> dict:
        """A group chat with some friends in it; the account joins it (join webhook)."""
        name = (name or "").strip()[:50] or "LINE group"
        with self._lock:
            members = [m for m in dict.fromkeys(member_ids) if m in self.people]
        if not members:
            raise ValueError("a group needs at least one friend")
        group_id = "C" + uuid.uuid4().hex
        icon = self.avatar(emoji, color)
        self.line.add_group(group_id, name, picture_url=icon, members={m: self.people[m].name for m in members})
        with self._lock:
            self.chats[group_id] = Chat(group_id, "group", name, icon, members)
        return {"chat": group_id, "status": self._post([self.hooks.join(group_id)])}

    def set_blocked(self, chat_id: str, blocked: bool) -> dict:
        """The friend blocks the account (unfollow webhook) or unblocks it (follow, isUnblocked)."""
        with self._lock:
            chat = self.chats.get(chat_id)
            if chat is None or chat.kind != "user":
                raise KeyError(chat_id)
            chat.blocked = blocked
        if blocked:
            self.line.block(chat_id)
            return {"status": self._post([self.hooks.unfollow(chat_id)])}
        self.line.unblock(chat_id)
        return {"status": self._post([self.hooks.follow(chat_id, is_unblocked=True)])}

    # ------------------------------------------------------------------ sending
    def send(self, chat_id: str, sender_id: str | None, kind: str, text: str = "", sticker: int = 0,
             image: str = "") -> dict:
        """The friend (or, in a group, ``sender_id``) sends a message: a signed webhook to the bridge."""
        with self._lock:
            chat = self.chats.get(chat_id)
        if chat is None:
            raise KeyError(chat_id)
        if chat.blocked:
            raise ValueError("unblock the account first: a friend who blocked it cannot write to it")
        sender = chat.chat_id if chat.kind == "user" else (sender_id if sender_id in chat.members else chat.members[0])
        where: dict[str, Any] = {} if chat.kind == "user" else {"source_type": chat.kind, "user_id": sender}
        entry: dict[str, Any] = {"from": sender, "type": kind}
        if kind == "text":
            if not text.strip():
                raise ValueError("empty text")
            event = self.hooks.text(chat.chat_id, text[:5000], **where)
            entry["text"] = text[:5000]
        elif kind == "sticker":
            package, sticker_id, icon, keywords = STICKERS[sticker % len(STICKERS)]
            event = self.hooks.sticker(chat.chat_id, package, sticker_id, keywords=keywords, **where)
            entry["sticker"] = icon
        elif kind == "image":
            # The bridge downloads the bytes from the emulator's content API and uploads them to Slack.
            content_type, data = decode_data_url(image)
            event = self.hooks.image(chat.chat_id, data=data, content_type=content_type, **where)
            self.images[event["message"]["id"]] = (data, content_type)
            entry["image"] = event["message"]["id"]
        else:
            raise ValueError(f"unknown message kind {kind!r}")
        entry.update(id=event["message"]["id"], time=time.time())
        with self._lock:
            chat.sent.append(entry)
            self._read_tokens[event["message"]["markAsReadToken"]] = (chat.chat_id, entry["time"])
        entry["status"] = self._post([event])
        return {"status": entry["status"]}

    def _post(self, events: list[dict]) -> int:
        for event in events:
            event["timestamp"] = int(self.now() * 1000)
        try:
            return send_webhook(self.webhook_url, self.channel_secret, self.hooks.body(events)).status_code
        except OSError:
            return 0  # the bridge is not reachable: shown on the message

    # ------------------------------------------------------------------ what the friends see
    def _read_upto(self) -> dict[str, float]:
        """Per chat: messages sent at or before this time show 既読 (the account read them)."""
        upto: dict[str, float] = {}
        for req in self._requests("markMessagesAsReadByToken"):
            found = self._read_tokens.get((req.json or {}).get("markAsReadToken", "")) if req.status == 200 else None
            if found:
                upto[found[0]] = max(upto.get(found[0], 0.0), found[1])
        for req in self._requests("markMessagesAsRead"):
            user = ((req.json or {}).get("chat") or {}).get("userId")
            if req.status == 200 and user:
                upto[user] = max(upto.get(user, 0.0), req.time)
        return upto

    def _loading(self) -> dict[str, tuple[float, float]]:
        """Per 1:1 chat: (start, end) of the latest loading animation LINE accepted."""
        latest: dict[str, tuple[float, float]] = {}
        for req in self._requests("showLoadingAnimation"):
            body = req.json or {}
            if req.status == 202 and body.get("chatId"):
                latest[body["chatId"]] = (req.time, req.time + int(body.get("loadingSeconds", 20)))
        return latest

    def state(self) -> dict:
        now = time.time()
        with self._lock:
            chats = list(self.chats.values())
            people = {p.user_id: {"name": p.name, "icon": p.icon} for p in self.people.values()}
        read_upto, loading = self._read_upto(), self._loading()
        deliveries = [d for d in self.line.deliveries if d.channel == self.bot]
        out = []
        for chat in chats:
            timeline = [{**{k: v for k, v in m.items() if k != "id"}, "mine": True,
                         "read": m["time"] <= read_upto.get(chat.chat_id, 0.0)} for m in chat.sent]
            for d in deliveries:
                if chat.chat_id in d.to:
                    timeline += [{"mine": False, "time": d.time, "via": d.via, **_bot_message(m, self.media)}
                                 for m in d.messages]
            timeline.sort(key=lambda m: m["time"])
            start, end = loading.get(chat.chat_id, (0.0, 0.0))
            # LINE ends the animation when the account's next message arrives.
            animating = start <= now < end and not any(m["time"] >= start for m in timeline if not m["mine"])
            out.append({"id": chat.chat_id, "kind": chat.kind, "name": chat.name, "icon": chat.icon,
                        "members": chat.members, "timeline": timeline, "loading": animating,
                        "blocked": chat.blocked})
        return {"id": self.id, "name": self.name, "people": people, "chats": out,
                "stickers": [icon for _, _, icon, _ in STICKERS]}


def _bot_message(m: dict, media: Callable[[str], str]) -> dict:
    """One message object pushed/replied by the account, as the page shows it."""
    kind = m.get("type", "")
    if kind in ("text", "textV2"):
        return {"type": "text", "text": m.get("text", "")}
    if kind == "sticker":
        return {"type": "sticker", "sticker": _STICKER_ICON.get((str(m.get("packageId")), str(m.get("stickerId"))), "🧸")}
    if kind == "image":
        full = m.get("originalContentUrl", "")
        return {"type": "image", "url": media(m.get("previewImageUrl") or full), "full": media(full)}
    return {"type": "other", "text": m.get("altText") or f"[{kind}]"}


def decode_data_url(value: str) -> tuple[str, bytes]:
    """``data:image/png;base64,...`` (what the page's FileReader gives) -> (content type, bytes)."""
    head, _, payload = (value or "").partition(",")
    if not head.startswith("data:") or not payload:
        raise ValueError("a file must be sent as a data: URL")
    return head[5:].split(";")[0] or "application/octet-stream", base64.b64decode(payload)
