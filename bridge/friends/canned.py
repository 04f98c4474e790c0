"""定型文 (canned replies): defined in the config or managed from Slack, used as ``!key`` in a thread reply.

``!key`` alone or inside a reply is replaced by the reply's text before it is sent to LINE;
placeholders in that text are filled in: ``{name}`` (the friend's LINE name), ``{staff}``
(the replying person's Slack name) and ``{<field key>}`` (a 友だち情報 field). Unknown
placeholders stay as written. A reply that is only ``!key`` with an unknown key is refused
(not sent); an unknown ``!word`` inside other text is sent as written. The author sees the
expanded text while the reply waits, and a 定型文 can be picked in the shortcut's modal:
:mod:`bridge.relay.canned_send`.
"""
from __future__ import annotations

import re
from typing import Callable

from bridge.friends.config import CANNED_KEY_RE, CrmConfig
from bridge.model import Conversation, DeliveryFailed
from bridge.store.canned import CannedTexts
from bridge.store.friends import FriendStore
from bridge.text.mrkdwn import escape

# "!key" at the start or after anything but an ASCII word character or "!" (so "wow!nice" stays text)
BANG = re.compile(r"(?<![A-Za-z0-9_!])!([A-Za-z0-9][A-Za-z0-9_\-]{0,39})")
PLACEHOLDER = re.compile(r"\{([^{}\s]{1,40})\}")


class CannedReplies:
    """The 定型文 of each account: the config's (fixed) and the Slack-managed ones (which cannot shadow them)."""

    def __init__(self, stored: CannedTexts, crm: CrmConfig):
        self.stored = stored
        self.crm = crm

    def all(self, account: str) -> dict[str, tuple[str, str]]:
        """key -> (text, origin "config" | "slack"), config first."""
        out = {k: (v, "config") for k, v in self.crm.canned_of(account).items()}
        for k, v in self.stored.of(account).items():
            out.setdefault(k, (v, "slack"))
        return out

    def texts(self, account: str) -> dict[str, str]:
        return {k: v for k, (v, _) in self.all(account).items()}

    def add(self, account: str, key: str, text: str) -> str:
        """"added", "config" (defined in the config: refused) or "bad_key"."""
        if not CANNED_KEY_RE.match(key):
            return "bad_key"
        if key in self.crm.canned_of(account):
            return "config"
        self.stored.put(account, key, text)
        return "added"

    def remove(self, account: str, key: str) -> str:
        """"removed", "config" or "not_found"."""
        if key in self.crm.canned_of(account):
            return "config"
        return "removed" if self.stored.delete(account, key) else "not_found"


def fill(template: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def expand(text: str, replies: dict[str, str], values: Callable[[], dict[str, str]]) -> tuple[str, list[str]]:
    """``text`` (Slack markup) with every known ``!key`` replaced; returns (text, keys used).

    Raises ``DeliveryFailed("canned_unknown")`` when the whole text is one unknown ``!key``.
    """
    stripped = text.strip()
    whole = BANG.fullmatch(stripped)
    if whole and whole.group(1) not in replies:
        raise DeliveryFailed("canned_unknown", whole.group(1))
    used: list[str] = []
    cache: dict[str, str] = {}

    def sub(m: re.Match[str]) -> str:
        key = m.group(1)
        if key not in replies:
            return m.group(0)
        if not cache:
            cache.update(values())
        used.append(key)
        return escape(fill(replies[key], cache))  # 定型文 and 友だち情報 values are plain text

    return BANG.sub(sub, text), used


def unknown_keys(text: str, replies: dict[str, str]) -> list[str]:
    """The ``!word``s of ``text`` that are no 定型文 (sent as written), in order, once each."""
    return list(dict.fromkeys(k for k in BANG.findall(text) if k not in replies))


def expand_reply(replies: CannedReplies, friends: FriendStore, conv: Conversation, text: str,
                 staff_name: Callable[[], str]) -> tuple[str, list[str]]:
    """The reply as it is sent: ``!key`` expanded with the conversation's placeholders."""
    if "!" not in text:
        return text, []

    def values() -> dict[str, str]:
        data = friends.get(conv.conv_id)
        return {**data.fields, "name": conv.name, "staff": staff_name(), "number": str(conv.number)}

    return expand(text, replies.texts(conv.account), values)
