"""What of a conversation thread never goes to LINE: bot messages (the bridge's own included) and internal notes."""
from __future__ import annotations

from bridge.model import StaffMessage

NOTE_PREFIXES = ("//", "note:")
RELAYED_SUBTYPES = (None, "thread_broadcast", "file_share")


def is_bot_message(msg: StaffMessage, bot: dict[str, str]) -> bool:
    """Messages by any bot, including the bridge itself, are never sent to LINE."""
    return bool(msg.bot_id or msg.subtype == "bot_message" or (bot.get("user_id") and msg.user == bot.get("user_id"))
                or msg.bot_profile)


def is_internal_note(text: str) -> bool:
    """``//…`` and ``note:…`` thread messages are internal notes (ノート), never sent to LINE."""
    return text.lstrip().lower().startswith(NOTE_PREFIXES)


def relayed_as(msg: StaffMessage, bot: dict[str, str]) -> str:
    """What a thread message is for the relay: "reply" (to LINE), "note" (stays in Slack) or ""
    (not relayed: edits, deletions, joins…, and bot messages)."""
    if msg.subtype not in RELAYED_SUBTYPES or is_bot_message(msg, bot):
        return ""
    return "note" if is_internal_note(msg.text) else "reply"
