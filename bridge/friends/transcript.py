"""The chat history kept for export (チャット履歴のバックアップ): every message both ways.

One sorted set per conversation (``transcript(conv_id)``), score = the message time, member =
a JSON entry. Entries are deterministic for a given message, so a retried job adds nothing
(ZADD of the same member). Recorded from the moment this feature is deployed; older history
lives in the Slack threads only.

Entry: ``{"t": epoch, "dir": "in"|"out", "author": id, "name": display name, "kind": "text"|"image"|…,
"text": …, "line_message_id": …, "slack_ts": …, "files": [Slack file permalinks]}``, plus
``"unsent": true`` or ``"edited": true`` for friend messages the friend changed afterwards.

LINE asks services not to keep showing unsent content: when a friend unsends a message, its
entry keeps when it was sent, by whom and that it was unsent, but no text; an edit replaces the
text by the latest one (the history shows what the friend now says, marked as edited).
"""
from __future__ import annotations

import logging
from typing import Any

from bridge.model import Conversation, InboundMessage
from bridge.services import Services
from bridge.store.messages import transcript_add, transcript_rewrite

log = logging.getLogger(__name__)
MEDIA_KINDS = ("image", "video", "audio", "file")


def _add(services: Services, conv_id: str, at: float, entry: dict[str, Any]) -> None:
    try:
        transcript_add(services.store, conv_id, at, entry)
    except Exception:  # history is best effort: never block the relay
        log.exception("could not record the transcript of %s", conv_id)


def record_inbound(services: Services, conv: Conversation, msg: InboundMessage, sender_name: str, slack_ts: str) -> None:
    at = inbound_time(msg, slack_ts)
    _add(services, conv.conv_id, at, {"t": at, "dir": "in", "author": msg.sender_id, "name": sender_name, "kind": msg.kind,
                                      "text": msg.text, "line_message_id": msg.message_id, "slack_ts": slack_ts})


def record_outbound(services: Services, conv: Conversation, event: dict[str, Any], texts: list[str]) -> None:
    user = event.get("user", "")
    files = [f.get("permalink") or f.get("url_private") or "" for f in event.get("files") or []]
    entry = {"t": float(event["ts"]), "dir": "out", "author": user, "name": services.slack.user_name(user) or user,
             "kind": "text", "text": "\n".join(texts), "line_message_id": "", "slack_ts": event["ts"]}
    if files:
        entry["files"] = files
    _add(services, conv.conv_id, float(event["ts"]), entry)


def inbound_time(msg: InboundMessage, slack_ts: str) -> float:
    """The time a friend message's entry is filed under (kept in the message map to find it again)."""
    return msg.timestamp_ms / 1000 if msg.timestamp_ms else float(slack_ts or 0)


def _rewrite(services: Services, conv_id: str, line_message_id: str, at: float | None, change) -> None:
    try:
        transcript_rewrite(services.store, conv_id, line_message_id, at, change)
    except Exception:  # history is best effort: never block the relay
        log.exception("could not update the transcript of %s", conv_id)


def record_unsent(services: Services, conv_id: str, line_message_id: str, at: float | None) -> None:
    """The friend unsent a message: its entry keeps that it existed and was unsent, not what it said."""
    def unsent(entry: dict[str, Any]) -> dict[str, Any]:
        entry = {k: v for k, v in entry.items() if k not in ("text", "files", "edited")}
        return {**entry, "text": "", "unsent": True}

    _rewrite(services, conv_id, line_message_id, at, unsent)


def record_edit(services: Services, conv_id: str, line_message_id: str, at: float | None, text: str) -> None:
    """The friend edited a message: its entry shows the latest text, marked as edited."""
    _rewrite(services, conv_id, line_message_id, at, lambda entry: {**entry, "text": text, "edited": True})
